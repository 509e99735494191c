"""A model carries its own erase settings (`realera.json`): the plain Python call on the embedded world keeps the
other classes, explicit arguments win, an unknown concept is refused at once, and a folder without the file behaves
as before."""

import json, os, time
import numpy as np, pytest, torch

from realera.core import load_pipeline
from realera.erase import EraseConfig, erase, resolve_erase
from realera.artifacts import load_erased
from realera.settings import SETTINGS_FILE, ModelSettings, model_settings
from realera.testing import tiny_pipeline
from realera.world import CLASSES, generation_accuracy, load_classifier, world_settings
from conftest import run_cli


def test_plain_erase_on_the_world_keeps_the_other_classes():
    """erase(load_pipeline(), [c]) with no other argument: the world's anchor, preserve list and settings come from its
    folder."""
    clf, prompts = load_classifier(), {c: f"a photo of a {c}" for c in CLASSES}
    before = generation_accuracy(load_pipeline(), clf, prompts, n=6, seed=500)
    after = generation_accuracy(erase(load_pipeline(), ["star"], progress=False), clf, prompts, n=6, seed=500)
    others = [c for c in CLASSES if c != "star"]
    assert before["star"] >= 50 and after["star"] <= 17, (before, after)
    acc_s = lambda acc: np.mean([acc[c] for c in others])
    # measured on this world: 98 -> 89 (the benchmark: Acc_s 94.2 -> 88.0 on the test classes)
    assert acc_s(after) >= acc_s(before) - 12, (before, after)

def test_the_world_ships_its_settings():
    s = model_settings(None)
    assert (
        s == ModelSettings.from_dict(world_settings()) and s.concepts == CLASSES and s.anchor == "a blank background"
    )


def test_unknown_concept_is_refused_at_once_and_writes_nothing(tmp_path):
    t = time.time()
    with pytest.raises(ValueError, match=r"concepts \['cat'\] are not among the concepts this model knows"): 
        erase(load_pipeline(), ["cat"], out=tmp_path / "py")
    r = run_cli("erase", "--concept", "cat", "--out", str(tmp_path / "cli"))
    assert r.returncode == 2 and "'circle'" in r.stderr and "--force" in r.stderr, r.stderr[-1000:]
    assert time.time() - t < 60 and not any(tmp_path.iterdir())   # the CLI's few seconds are the interpreter's start
    assert resolve_erase(None, ["cat"], force=True).concepts == ["cat"]

def test_explicit_arguments_win_over_the_model_file():
    req = resolve_erase(None, ["ring"], anchors=["a plain red background"], preserve=["a circle"],
                        config=EraseConfig.variant(1, lam1=0.5))
    assert (req.anchors, req.preserve, req.config.lam1, req.config.align) == (["a plain red background"], ["a circle"],
                                                                              0.5, False)
    default = resolve_erase(None, ["ring"])
    assert (
        default.anchors == ["a blank background"]
        and default.config.align_config.steps == 50
        and "a ring" not in default.preserve
    )


def _saved_tiny(tmp_path, settings=None):
    d = tmp_path / "tiny"
    tiny_pipeline().save_pretrained(d)
    if settings is not None: (d / SETTINGS_FILE).write_text(json.dumps(settings))
    return d

def test_a_folder_without_the_file_behaves_as_before(tmp_path):
    d = _saved_tiny(tmp_path)
    req = resolve_erase(load_pipeline(d), ["airplane"])
    assert (req.anchors, req.preserve, req.config) == ([""], None, EraseConfig())
    cfg = EraseConfig.variant(1)
    a, b = erase(load_pipeline(d), ["airplane"], config=cfg, progress=False), erase(tiny_pipeline(), ["airplane"],
                                                                                    config=cfg, progress=False)
    for (n, p), q in zip(a.unet.named_parameters(), b.unet.parameters()): assert torch.equal(p, q), n

def test_a_users_model_file_is_read_by_python_and_the_cli(tmp_path):
    d = _saved_tiny(tmp_path, dict(concepts=["airplane", "ship"], anchor="a photo", preserve_template="a {}",
                                   erase=dict(lam1=0.5, closed_form=True, align=False), generate=dict(steps=3, n=1)))
    req = resolve_erase(load_pipeline(d), ["airplane"])
    assert (req.anchors, req.preserve, req.config.lam1, req.config.align) == (["a photo"], ["a ship"], 0.5, False)
    r = run_cli("erase", "--model", str(d), "--concept", "airplane", "--out", str(tmp_path / "e"),
                "--quiet")
    assert r.returncode == 0, r.stderr[-2000:]
    run = json.loads((tmp_path / "e" / "config.json").read_text())
    assert run["anchors"] == ["a photo"] and run["preserve"] == ["a ship"] and run["config"]["lam1"] == 0.5
    erased = load_erased(load_pipeline(d), tmp_path / "e")
    assert not torch.equal(erased.unet.state_dict()[next(k for k in erased.unet.state_dict()
                                                         if k.endswith("attn2.to_k.weight"))],
                           load_pipeline(d).unet.state_dict()[next(k for k in erased.unet.state_dict()
                                                                   if k.endswith("attn2.to_k.weight"))])
    r = run_cli("generate", "--model", str(d), "--prompt", "airplane", "--out", str(tmp_path / "g"))
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((tmp_path / "g" / "generate.json").read_text())["steps"] == 3   # the model's generate default
    r = run_cli("erase", "--model", str(d), "--concept", "truck", "--out", str(tmp_path / "t"))
    assert r.returncode == 2 and "not among the concepts" in r.stderr and not (tmp_path / "t").exists()

def test_a_broken_model_file_names_itself(tmp_path):
    d = _saved_tiny(tmp_path, {"anchor": 3})
    with pytest.raises(ValueError, match="realera.json.*anchor must be a string"):
        resolve_erase(load_pipeline(d), ["airplane"])

def test_a_hub_model_without_the_file_gets_the_defaults_and_one_with_it_is_read(tmp_path, monkeypatch):
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    # offline, nothing cached: the paper's defaults
    assert model_settings("CompVis/stable-diffusion-v1-4") == ModelSettings()
    f = tmp_path / SETTINGS_FILE
    f.write_text(json.dumps(dict(anchor="a photo")))
    import huggingface_hub
    monkeypatch.setattr(huggingface_hub, "hf_hub_download",
                        lambda repo, name: str(f) if name == SETTINGS_FILE else None)
    assert model_settings("someone/fine-tuned-model").anchor == "a photo"
