"""FLUX.1 and SD3 through the command line (issue 33, so far): a tiny pipeline saved as a folder, erased by the closed
form (`--variant 1`) and by the full method (closed form + flow-matching alignment), generated from with the erase,
reloaded with identical output, evaluated, attacked (prompts, RECE) and exported as one LoRA file plain diffusers
loads; the commands and stages that do not run on MM-DiT models yet refused before the model loads."""
import json

import pytest
import torch

from conftest import run_cli

KINDS = {"flux": "FluxPipeline", "sd3": "StableDiffusion3Pipeline"}


@pytest.fixture(scope="module", params=list(KINDS))
def model(request, tmp_path_factory):
    from realera.core import quiet_loading
    from realera.testing import tiny_flux_pipeline, tiny_sd3_pipeline
    folder = tmp_path_factory.mktemp(request.param) / "model"
    with quiet_loading():
        (tiny_flux_pipeline if request.param == "flux" else tiny_sd3_pipeline)(seed=0).save_pretrained(folder)
    return request.param, folder


def test_erase_then_generate_and_reload(model, tmp_path):
    from realera.artifacts import load_erased
    from realera.core import denoiser
    from realera.core import load_pipeline
    kind, folder = model
    r = run_cli("erase", "--model", str(folder), "--concept", "cat", "--variant", "1", "--out", str(tmp_path/"e"),
                "--quiet")
    assert r.returncode == 0, r.stderr
    files = json.loads((tmp_path/"e"/"complete.json").read_text())["files"]
    assert {"closed_form.safetensors", "pooled.safetensors"} <= set(files)
    args = ["generate", "--model", str(folder), "--erased", str(tmp_path/"e"), "--prompt", "a photo of a cat",
            "--n", "1", "--steps", "2"]
    r = run_cli(*args, "--out", str(tmp_path/"g"))
    assert r.returncode == 0, r.stderr
    record = json.loads((tmp_path/"g"/"generate.json").read_text())
    assert [i["model"] for i in record["images"]] == ["original", "erased"]
    first = {i["model"]: (tmp_path/"g"/i["file"]).read_bytes() for i in record["images"]}
    assert first["original"] != first["erased"]
    r = run_cli(*args, "--out", str(tmp_path/"g2"))   # a fresh load of the erase draws the same bytes
    again = {i["model"]: (tmp_path/"g2"/i["file"]).read_bytes()
             for i in json.loads((tmp_path/"g2"/"generate.json").read_text())["images"]}
    assert again == first
    original, erased = load_pipeline(folder), load_erased(load_pipeline(folder), tmp_path/"e")
    before = denoiser(original).state_dict()
    moved = [n for n, w in denoiser(erased).state_dict().items() if not torch.equal(w, before[n])]
    assert sorted(moved) == ["context_embedder.weight", "time_text_embed.text_embedder.linear_1.weight"]
    # evaluated as on SD: the original and the erase, judged by the world's CLIP (no download)
    r = run_cli("evaluate", "--model", str(folder), "--erased", str(tmp_path/"e"), "--protocol", "cifar10",
                "--classifier", "world-clip", "--n", "1", "--steps", "1", "--quiet", "--out", str(tmp_path/"ev"))
    assert r.returncode == 0, r.stderr[-2000:]
    s = json.loads((tmp_path/"ev"/"summary.json").read_text())
    assert {"acc_e", "acc_s", "acc_g", "h_o"} <= set(s) and set(s["models"]) == {"original", "erased"}
    ident = {m: json.loads((tmp_path/"ev"/m/"records.json").read_text())[0]["model"] for m in ("original", "erased")}
    assert ident["erased"]["erase_hash"] and ident["original"]["transformer_text_in"] != ident["erased"][
        "transformer_text_in"]
    # attacked: RECE's closed-form question of the edited context_embedder and pooled embedder, and the prompts attack
    for method in ("rece", "prompts"):
        r = run_cli("attack", "--method", method, "--model", str(folder), "--erased", str(tmp_path/"e"), "--protocol",
                    "cifar10", "--classifier", "world-clip", "--n", "1", "--steps", "1", "--quiet",
                    "--out", str(tmp_path/method))
        assert r.returncode == 0, r.stderr[-2000:]
        rec = json.loads((tmp_path/method/"attack.json").read_text())
        assert rec["method"] == method and rec["asr"]["images"] >= 1 and "transformer_text_in" in rec["models"][
            "attacked"]


def test_full_erase_through_the_cli_aligns_and_reloads(model, tmp_path):
    """The paper's full RealEra on FLUX/SD3 from the command line: closed form, then the flow-matching alignment; the
    folder's LoRA file is the pipeline's own format (plain `load_lora_weights` reads it), a reload draws the same
    bytes, and `realera export` writes the whole erase as one LoRA file plain diffusers loads."""
    from diffusers import DiffusionPipeline
    kind, folder = model
    cfg = tmp_path/"small.json"
    cfg.write_text(json.dumps(dict(align_config=dict(anchor_images=1, anchor_steps=2, log_every=2))))
    r = run_cli("erase", "--model", str(folder), "--concept", "cat", "--variant", "full", "--config", str(cfg),
                "--steps", "2", "--out", str(tmp_path/"e"), "--quiet")
    assert r.returncode == 0, r.stderr
    files = set(json.loads((tmp_path/"e"/"complete.json").read_text())["files"])
    assert {"closed_form.safetensors", "pooled.safetensors", "anchor_latents.safetensors",
            "pytorch_lora_weights.safetensors"} <= files
    pipe = DiffusionPipeline.from_pretrained(folder)
    pipe.load_lora_weights(str(tmp_path/"e"))
    assert any("lora_" in n for n in pipe.transformer.state_dict())
    args = ["generate", "--model", str(folder), "--erased", str(tmp_path/"e"), "--prompt", "a cat", "--n", "1",
            "--steps", "2"]
    images = []
    for d in ("g1", "g2"):
        r = run_cli(*args, "--out", str(tmp_path/d))
        assert r.returncode == 0, r.stderr
        images.append({i["model"]: (tmp_path/d/i["file"]).read_bytes()
                       for i in json.loads((tmp_path/d/"generate.json").read_text())["images"]})
    assert images[0] == images[1] and images[0]["original"] != images[0]["erased"]
    # the whole erase as one LoRA file that plain diffusers loads; kohya's naming refused before the model loads
    export = ["export", "--model", str(folder), "--erased", str(tmp_path/"e")]
    r = run_cli(*export, "--out", str(tmp_path/"x.safetensors"))
    assert r.returncode == 0, r.stderr
    pipe = DiffusionPipeline.from_pretrained(folder)
    pipe.load_lora_weights(str(tmp_path/"x.safetensors"))
    assert "context_embedder.lora_A.default_0.weight" in pipe.transformer.state_dict()
    r = run_cli(*export, "--out", str(tmp_path/"k.safetensors"), "--format", "kohya")
    assert r.returncode == 2 and f"for {kind.upper()} export format 'diffusers'" in r.stderr, r.stderr


def test_discover_ranks_candidates_by_the_transformer(model, tmp_path):
    """`realera discover` on FLUX/SD3: the candidates ranked by the original transformer's velocity on the concept's
    trajectory, reproducibly from the seed."""
    kind, folder = model
    cands = tmp_path/"candidates.csv"
    cands.write_text("prompt\nfeline\nkitty\nship\n")
    ranked = []
    for d in ("d1", "d2"):
        r = run_cli("discover", "--model", str(folder), "--concept", "cat", "--candidates", str(cands), "--draws", "2",
                    "--out", str(tmp_path/d))
        assert r.returncode == 0, r.stderr[-2000:]
        rec = json.loads((tmp_path/d/"discovered.json").read_text())
        ranked.append([(x["text"], x["score"]) for x in rec["ranked"] + rec["discoveries"][0]["protected"]])
    assert sorted(t for t, _ in ranked[0]) == ["feline", "kitty", "ship"] and ranked[0] == ranked[1]


@pytest.mark.parametrize("args, message", [
    (["attack", "--method", "soft", "--concept", "cat"], "the soft attack does not run on"),
    (["neighborhood", "--concept", "cat"], "realera neighborhood does not run on a"),
])
def test_what_does_not_run_there_yet_is_refused_before_loading(model, tmp_path, monkeypatch, args, message):
    import realera.core, realera.runs
    for module in (realera.core, realera.runs):
        monkeypatch.setattr(module, "load_pipeline", lambda *a, **k: pytest.fail("the model loaded before the check"))
    kind, folder = model
    out = tmp_path/("o.png" if args[0] == "neighborhood" else "o")
    r = run_cli(*args, "--model", str(folder), "--out", str(out))
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert kind.upper() in r.stderr or KINDS[kind] in r.stderr
