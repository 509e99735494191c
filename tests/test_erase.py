"Dense checks of the noise alignment (Eq. 8-9), the whole erase, its artifacts and its command line."
import hashlib, json
import pytest, torch

from realera.align import (ADAPTER, AlignConfig, add_lora, align_noise, alignment_loss, kv_weights, make_task,
                           original_unet)
from realera.trajectory import anchor_trajectory
from realera.concept_edit import closed_form_edit
from realera.core import make_generator
from realera.text import encode_prompts
from realera.erase import EraseConfig, erase
from realera.artifacts import COMPLETE, load_erased, load_trajectories, save_trajectories
from realera.testing import tiny_pipeline
from conftest import run_cli

SMALL = AlignConfig(steps=6, lr=3e-3, anchor_images=2, anchor_steps=4, save_every=2)

def eps(pipe, prompt="airplane", seed=0):
    g = make_generator(seed)
    u = pipe.unet
    z = torch.randn(2, 4, u.config.sample_size, u.config.sample_size, generator=g)
    e = encode_prompts(pipe, [prompt]).expand(2, -1, -1)
    with torch.no_grad(): return u(z, torch.tensor([700, 200]), encoder_hidden_states=e).sample

@pytest.fixture(scope="module")
def traj():
    return anchor_trajectory(tiny_pipeline(), "", 2, 4, generator=make_generator(0), progress=False)

def test_only_the_adapter_trains(traj):
    p = tiny_pipeline()
    original = kv_weights(p.unet)
    closed_form_edit(p, ["airplane"], generator=make_generator(0)).apply(p)
    add_lora(p.unet, seed=0)
    before = {n: w.detach().clone() for n, w in p.unet.named_parameters()}
    align_noise(p.unet, original, [make_task(p, "airplane", "", traj)], SMALL, progress=False)
    changed = {n for n, w in p.unet.named_parameters() if not torch.equal(w, before[n])}
    assert changed and all(".lora_B." in n or ".lora_A." in n for n in changed)
    assert any(".lora_B." in n for n in changed)

def test_teacher_is_the_untouched_model_under_any_edit(traj):
    fresh, p = tiny_pipeline(), tiny_pipeline()
    original = kv_weights(p.unet)
    closed_form_edit(p, ["cat", "dog"], generator=make_generator(0)).apply(p)
    add_lora(p.unet, seed=0)
    align_noise(p.unet, original, [make_task(p, "cat", "", traj)], SMALL, progress=False)
    student = eps(p, "a cat")
    with original_unet(p.unet, original):
        assert torch.equal(eps(p, "a cat"), eps(fresh, "a cat"))
    assert torch.equal(eps(p, "a cat"), student)
    with pytest.raises(ValueError, match="does not name"): 
        with original_unet(p.unet, {}): pass

def test_loss_falls_and_prediction_moves_to_anchor(traj):
    p, base = tiny_pipeline(), tiny_pipeline()
    original = kv_weights(p.unet)
    add_lora(p.unet, seed=0)
    task = make_task(p, "airplane", "", traj)
    loss = lambda: alignment_loss(p.unet, original, task, 0, 8, mine=False, beyond=False,
                                  generator=make_generator(3))[0].item()
    l0 = loss()
    log = align_noise(p.unet, original, [task], AlignConfig(steps=60, lr=3e-3, batch_size=4, log_every=5),
                      progress=False)
    assert loss() < 0.6 * l0 and log[-1]["step"] == 60
    gap = lambda q: ((eps(q, "airplane") - eps(base, "")).norm() / eps(base, "").norm()).item()
    assert gap(p) < 0.7 * gap(base)   # closer to the anchor, also at latents it was not trained on

def test_trajectory_round_trip(tmp_path, traj):
    save_trajectories(tmp_path / "t.safetensors", [traj, traj])
    back = load_trajectories(tmp_path / "t.safetensors")
    assert len(back) == 2 and torch.equal(back[1].latents, traj.latents) and torch.equal(back[0].timesteps,
                                                                                         traj.timesteps)

def test_multi_concept_and_plain_diffusers_lora(tmp_path):
    cfg = EraseConfig(align_config=SMALL)
    p = erase(tiny_pipeline(), ["cat", "dog"], ["an animal"], config=cfg, out=tmp_path / "e", progress=False)
    saved = json.loads((tmp_path / "e" / "config.json").read_text())
    assert saved["concepts"] == ["cat", "dog"] and saved["anchors"] == ["an animal", "an animal"]
    plain = tiny_pipeline()
    plain.load_lora_weights(str(tmp_path / "e"))
    ours = {n.replace(f".{ADAPTER}.", "."): w for n, w in p.unet.named_parameters() if ".lora_" in n}
    theirs = {n.replace(".default_0.", "."): w for n, w in plain.unet.named_parameters() if ".lora_" in n}
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert torch.equal(eps(load_erased(tiny_pipeline(), tmp_path / "e"), "a dog"), eps(p, "a dog"))

def test_fused_pipeline_and_pipe_left_exact(tmp_path):
    from diffusers import StableDiffusionPipeline
    p = erase(tiny_pipeline(), "airplane", config=EraseConfig(align_config=SMALL), out=tmp_path / "e",
              save_pipeline=True, progress=False)
    # fusing for the save changed nothing
    assert torch.equal(eps(p), eps(load_erased(tiny_pipeline(), tmp_path / "e")))
    fused = StableDiffusionPipeline.from_pretrained(str(tmp_path / "e" / "pipeline"))
    assert not any(".lora_" in n for n, _ in fused.unet.named_parameters())
    torch.testing.assert_close(eps(fused), eps(p), atol=1e-5, rtol=1e-4)

def test_config_files_and_errors(tmp_path):
    (tmp_path / "c.yaml").write_text("mine: false\nalign_config:\n  steps: 7\n  lr: 0.001\nsampling:\n  m: 4\n")
    c = EraseConfig.from_file(tmp_path / "c.yaml")
    assert (c.mine, c.align_config.steps, c.align_config.lr, c.sampling.m) == (False, 7, 1e-3, 4)
    (tmp_path / "c.json").write_text(json.dumps(c.to_dict()))
    assert EraseConfig.from_file(tmp_path / "c.json") == c
    (tmp_path / "bad.yaml").write_text("ridg: 3\n")
    with pytest.raises(ValueError, match=r"unknown config keys \['ridg'\]"):
        EraseConfig.from_file(tmp_path / "bad.yaml")
    with pytest.raises(FileNotFoundError): EraseConfig.from_file(tmp_path / "none.yaml")
    with pytest.raises(ValueError, match="variant must be one of"): EraseConfig.variant(4)
    with pytest.raises(ValueError, match="s2"): EraseConfig.from_dict({"sampling": {"s1": 0.5, "s2": 0.9}})

def test_resume_guard_and_overwrite_clears_stale(tmp_path):
    out = tmp_path / "e"
    def stop(step, loss):
        if step == 3: raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        erase(tiny_pipeline(), "airplane", config=EraseConfig(align_config=SMALL), out=out, progress=False,
              callback=stop)
    assert (out / "checkpoint" / "latest.json").exists()
    other = EraseConfig(align_config=SMALL, seed=1)
    with pytest.raises(FileExistsError, match="an unfinished erase with other settings"):
        erase(tiny_pipeline(), "airplane", config=other, out=out, progress=False)
    erase(tiny_pipeline(), "airplane", config=EraseConfig(closed_form=False, align_config=SMALL), out=out,
          overwrite=True, progress=False)
    assert not (out / "closed_form.safetensors").exists() and not (out / "checkpoint").exists()
    assert json.loads((out / "config.json").read_text())["config"]["closed_form"] is False

def test_a_folder_saved_before_a_config_field_existed_resumes(tmp_path):
    "A run's config.json written before `sums` and `sampling.sampler` existed is the same run at their defaults."
    out, cfg = tmp_path / "e", EraseConfig(align=False)
    erase(tiny_pipeline(), "airplane", config=cfg, out=out, progress=False)
    saved = json.loads((out / "config.json").read_text())
    del saved["config"]["sums"], saved["config"]["sampling"]["sampler"]
    (out / "config.json").write_text(json.dumps(saved))
    done = json.loads((out / COMPLETE).read_text())   # as the older version recorded it
    done["files"]["config.json"] = hashlib.sha256((out / "config.json").read_bytes()).hexdigest()
    (out / COMPLETE).write_text(json.dumps(done))
    before = (out / "closed_form.safetensors").stat().st_mtime_ns
    erase(tiny_pipeline(), "airplane", config=cfg, out=out, progress=False)   # finished: loaded, not redone
    assert (out / "closed_form.safetensors").stat().st_mtime_ns == before
    with pytest.raises(FileExistsError, match="other settings"):   # a field at another value is another run
        erase(tiny_pipeline(), "airplane", config=EraseConfig(align=False, sums="float32"), out=out, progress=False)

def test_bfloat16_on_cpu_trains(tmp_path):
    p = erase(tiny_pipeline(dtype=torch.bfloat16), "airplane",
              config=EraseConfig(align_config=AlignConfig(steps=2, anchor_images=1, anchor_steps=2)), progress=False)
    assert p.unet.dtype == torch.bfloat16
    assert {w.dtype for n, w in p.unet.named_parameters() if ".lora_" in n} == {torch.float32}


def realera(*args):
    "The command line in this process (conftest.run_cli: the console script's `main`, its exit code and output)."
    return run_cli(*args)

# the alignment trains: fp16 is refused on the CPU
@pytest.mark.parametrize("args,message",
                         [
    (["--model", "./no/such/model"], "neither an existing local folder"), (["--concept", ""], "non-empty strings"),
    (["--anchor", "a", "--anchor", "b", "--anchor", "c"], "3 anchors for 2 concepts"),
    (["--variant", "full", "--dtype", "float16"], "not supported on the CPU"),
    (["--dtype", "int8"], "dtype must be one of"), (["--steps", "0"], "steps must be an int >= 1"),
    (["--config", "missing.yaml"], "does not exist"), (["--variant", "7"], "variant must be one of"),])
def test_cli_erase_bad_input_fails_fast(tmp_path, args, message):
    r = realera("erase", "--concept", "cat", "--concept", "dog", "--force", "--out", str(tmp_path / "out"), *args)
    assert r.returncode == 2 and message in r.stderr, r.stderr[-1500:]
    assert not (tmp_path / "out").exists()

def test_cli_erase_then_generate(tmp_path):
    out = tmp_path / "erased"
    r = realera("erase", "--concept", "star", "--out", str(out), "--steps", "3", "--quiet")
    assert r.returncode == 0, r.stderr[-2000:]
    run = json.loads((out / "config.json").read_text())
    assert (
        run["config"]["align_config"]["steps"] == 3
        and run["anchors"] == ["a blank background"]
        and "a circle" in run["preserve"]
    )
    (out / "keep.txt").write_text("mine")
    r = realera("erase", "--concept", "star", "--out", str(out), "--steps", "3")
    assert r.returncode == 2 and "--overwrite" in r.stderr and (out / "keep.txt").read_text() == "mine"
    r = realera("generate", "--prompt", "a photo of a star", "--erased", str(out), "--n", "2", "--steps", "2", "--out",
                str(tmp_path / "g"))
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "g" / "grid.png").read_bytes()[:4] == b"\x89PNG"
    recs = json.loads((tmp_path / "g" / "generate.json").read_text())["images"]
    assert sorted({r["model"] for r in recs}) == ["erased", "original"] and len(recs) == 4
    r = realera("generate", "--prompt", "x", "--erased", str(tmp_path), "--out", str(tmp_path / "g2"))
    assert r.returncode == 2 and "is not a realera erase folder" in r.stderr

def test_resume_on_a_unet_changed_outside_kv_is_refused(tmp_path):
    """The alignment reads every UNet weight: an interrupted erase resumed on a UNet changed elsewhere (conv_in) is
    refused."""
    out = tmp_path / "e"
    def stop(step, loss):
        if step == 2: raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        erase(tiny_pipeline(), "airplane", config=EraseConfig(align_config=SMALL), out=out, progress=False,
              callback=stop)
    changed = tiny_pipeline()
    with torch.no_grad(): changed.unet.conv_in.weight.add_(1e-2)
    with pytest.raises(FileExistsError, match="of another model"):
        erase(changed, "airplane", config=EraseConfig(align_config=SMALL), out=out, progress=False)
    assert json.loads((out / "config.json").read_text())["model"]["unet"]   # recorded
    # the same UNet resumes
    erase(tiny_pipeline(), "airplane", config=EraseConfig(align_config=SMALL), out=out, progress=False)
    assert (out / "complete.json").is_file()
