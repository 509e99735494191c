"""An erase folder is complete or refused. Each test here is one defect of the reliability probe (issue 14): it failed
before the fix, and it keeps the fix in place. Kills use real signals in subprocesses; a full disk is a patched
writer."""

import json, os, signal, subprocess, sys, time
import pytest, torch

from realera.align import AlignConfig
from realera.base import folder_lock
from realera.core import make_generator
from realera.text import encode_prompts
from realera.erase import EraseConfig, erase
from realera.artifacts import COMPLETE, LORA_FILE
from realera.artifacts import load_erased
from realera.images import generate_images
from realera.testing import tiny_pipeline
from conftest import run_cli

SMALL = AlignConfig(steps=6, lr=3e-3, anchor_images=2, anchor_steps=4, save_every=50)
CFG = EraseConfig(align_config=SMALL)
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}

def eps(pipe, prompt="airplane"):
    g = make_generator(0)
    u = pipe.unet
    z = torch.randn(2, 4, u.config.sample_size, u.config.sample_size, generator=g)
    with torch.no_grad():
        return u(z, torch.tensor([700, 200]),
                 encoder_hidden_states=encode_prompts(pipe, [prompt]).expand(2, -1, -1)).sample

def python(code: str, timeout=300):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=timeout)

def realera(*args):
    "The command line in this process (conftest.run_cli: the console script's `main`, its exit code and output)."
    return run_cli(*args)

@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    "An uninterrupted erase: the reference every resumed run must match."
    out = tmp_path_factory.mktemp("straight") / "e"
    return out, eps(erase(tiny_pipeline(), "airplane", config=CFG, out=out, progress=False))

# 1. an unfinished erase never loads as finished, and the same command resumes it, whatever killed it
KILL = """
import os, signal, torch
torch.set_num_threads(1)
import realera.erase as E
from realera.align import AlignConfig
from realera.testing import tiny_pipeline
die = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
where = {where!r}
if where == "final save": E.save_lora = die
if where == "closed form": E.closed_form_fitter = die
cb = (lambda step, loss: die() if step == 2 else None) if where == "alignment" else None
cfg = E.EraseConfig(align_config=AlignConfig(steps=6, lr=3e-3, anchor_images=2, anchor_steps=4, save_every=50))
E.erase(tiny_pipeline(), "airplane", config=cfg, out={out!r}, progress=False, callback=cb)
"""

@pytest.mark.parametrize("where", ["closed form", "alignment", "final save"])
def test_a_killed_erase_is_refused_then_resumed_by_the_same_call(where, tmp_path, straight):
    out = tmp_path / "e"
    r = python(KILL.format(where=where, out=str(out)))
    assert r.returncode == -signal.SIGKILL, r.stderr[-1500:]
    assert (out / "config.json").exists() and not (out / COMPLETE).exists()
    with pytest.raises(ValueError, match="unfinished erase"): load_erased(tiny_pipeline(), out)
    steps = []
    resumed = erase(tiny_pipeline(), "airplane", config=CFG, out=out, progress=False,
                    callback=lambda s, l: steps.append(s))
    assert torch.equal(eps(resumed), straight[1])                 # bit for bit the uninterrupted result
    if where == "final save": assert steps == []                   # the training was kept: only the save was redone
    assert torch.equal(eps(load_erased(tiny_pipeline(), out)), straight[1]) and not (out / "checkpoint").exists()

def test_an_exception_in_training_and_a_full_disk_lose_nothing(tmp_path, straight, monkeypatch):
    out = tmp_path / "e"
    def boom(step, loss):
        if step == 3: raise RuntimeError("a bug in the caller's callback")
    with pytest.raises(RuntimeError):
        erase(tiny_pipeline(), "airplane", config=CFG, out=out, progress=False, callback=boom)
    with pytest.raises(ValueError, match="unfinished erase"): load_erased(tiny_pipeline(), out)
    import realera.erase as E
    def full(*a, **k): raise OSError(28, "No space left on device")
    monkeypatch.setattr(E, "save_lora", full)
    with pytest.raises(OSError, match="No space left"):
        erase(tiny_pipeline(), "airplane", config=CFG, out=out, progress=False)
    assert (out / "checkpoint" / "latest.json").exists() and not (out / COMPLETE).exists()
    monkeypatch.undo()
    steps = []
    done = erase(tiny_pipeline(), "airplane", config=CFG, out=out, progress=False,
                 callback=lambda s, l: steps.append(s))
    assert steps == [] and torch.equal(eps(done), straight[1])     # no step was trained twice

def test_a_deleted_or_emptied_lora_is_refused(tmp_path, straight):
    out = straight[0]
    data = (out / LORA_FILE).read_bytes()
    try:
        (out / LORA_FILE).write_bytes(b"")
        with pytest.raises(ValueError, match="changed or missing"): load_erased(tiny_pipeline(), out)
        (out / LORA_FILE).unlink()
        with pytest.raises(ValueError, match="changed or missing"): load_erased(tiny_pipeline(), out)
    finally: (out / LORA_FILE).write_bytes(data)

# 2. non-finite is an error
def test_a_diverging_training_stops_and_names_the_learning_rate(tmp_path):
    cfg = EraseConfig(align_config=AlignConfig(steps=6, lr=1e6, anchor_images=2, anchor_steps=4))
    with pytest.raises(FloatingPointError, match=r"lower the learning rate \(align_config.lr = 1e\+06\)"):
        erase(tiny_pipeline(), "airplane", config=cfg, out=tmp_path / "e", progress=False)
    assert not (tmp_path / "e" / LORA_FILE).exists() and not (tmp_path / "e" / COMPLETE).exists()
    (tmp_path / "c.json").write_text(json.dumps({"align_config": {"lr": 1e6, "steps": 4}}))
    r = realera("erase", "--concept", "star", "--config", str(tmp_path / "c.json"), "--out", str(tmp_path / "cli"),
                "--quiet")
    assert r.returncode == 2 and "lower the learning rate" in r.stderr and "Traceback" not in r.stderr, r.stderr[
        -1500:]

def test_a_nan_lora_is_never_loaded(tmp_path):
    from safetensors.torch import load_file, save_file
    import realera.artifacts as A
    out = tmp_path / "e"
    erase(tiny_pipeline(), "airplane", config=CFG, out=out, progress=False)
    t = load_file(str(out / LORA_FILE))
    k = sorted(t)[0]
    t[k] = torch.full_like(t[k], float("nan"))
    save_file(t, str(out / LORA_FILE))
    rec = json.loads((out / COMPLETE).read_text())
    rec["files"][LORA_FILE] = A._sha256(out / LORA_FILE)
    (out / COMPLETE).write_text(json.dumps(rec))                    # a tamperer who also fixed the record
    with pytest.raises(ValueError, match="holds NaN or Inf"): load_erased(tiny_pipeline(), out)

# 3. the resume key is the whole run, the model included
def test_an_interrupted_erase_does_not_resume_on_another_model(tmp_path):
    out = tmp_path / "e"
    def stop(step, loss):
        if step == 2: raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        erase(tiny_pipeline(seed=0), "airplane", config=CFG, out=out, progress=False, callback=stop)
    assert json.loads((out / "config.json").read_text())["model"]["unet_attn2"]
    with pytest.raises(FileExistsError, match="of another model"):
        erase(tiny_pipeline(seed=1), "airplane", config=CFG, out=out, progress=False)

# 4. evaluate never reuses the images of another erase
def test_evaluate_refuses_a_folder_evaluated_on_an_earlier_erase(tmp_path):
    e, ev = str(tmp_path / "e"), str(tmp_path / "ev")
    assert realera("erase", "--concept", "star", "--out", e, "--variant", "1", "--quiet").returncode == 0
    args = ["evaluate", "--erased", e, "--n", "1", "--steps", "2", "--out", ev, "--quiet"]
    assert realera(*args).returncode == 0
    assert realera("erase", "--concept", "star", "--out", e, "--variant", "1", "--seed", "3", "--overwrite",
                   "--quiet").returncode == 0
    r = realera(*args)
    assert r.returncode == 2 and "evaluated with other settings" in r.stderr, r.stderr[-1000:]

# 5. one writer per folder
def test_a_second_run_into_a_locked_folder_is_refused_at_once(tmp_path):
    out = tmp_path / "e"
    holder = subprocess.Popen([sys.executable, "-c", f"import time; from realera.base import folder_lock\n"
                               f"with folder_lock({str(out)!r}):\n    print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        assert holder.stdout.readline().strip() == "held"
        t = time.time()
        with pytest.raises(FileExistsError, match=r"in use by another erase process \(pid"):
            erase(tiny_pipeline(), "airplane", config=CFG, out=out, overwrite=True, progress=False)
        assert time.time() - t < 30 and sorted(p.name for p in out.iterdir()) == [".realera.lock"]
    finally:
        holder.kill()
        holder.wait()
    erase(tiny_pipeline(), "airplane", config=CFG, out=out, progress=False)   # the killed holder's lock died with it
    assert (out / COMPLETE).exists()
    with folder_lock(out): pass                                                # and the erase released its own

# 6. --overwrite never deletes what realera did not write
def test_overwrite_refuses_a_folder_with_foreign_entries(tmp_path):
    model = tmp_path / "model"
    tiny_pipeline().save_pretrained(model)
    before = sorted(str(p.relative_to(model)) for p in model.rglob("*"))
    r = realera("erase", "--concept", "star", "--out", str(model), "--overwrite", "--quiet")
    assert r.returncode == 2 and "entries realera did not write" in r.stderr and "model_index.json" in r.stderr
    assert sorted(str(p.relative_to(model)) for p in model.rglob("*")) == before

# 7. every check before any work: nothing written, the same command runs afterwards
@pytest.mark.parametrize("cfg,msg",
                         [(dict(lam1=-1), "lam1 must be a finite number >= 0"), (dict(lam1="0.1"), "lam1 must be"),
                          (dict(ridge=float("nan")), "ridge must be a finite number > 0"),
                          (dict(seed=2**63), "seed must be an int"), (dict(seed=True), "seed must be an int"),
                          (dict(closed_form="no"), "closed_form must be true or false"),
                          (dict(sampling=dict(d1=0.001, s1=0.5, s2=0.3)), "unreachable")])
def test_bad_settings_fail_before_any_work(cfg, msg, tmp_path):
    with pytest.raises(ValueError, match=msg):
        erase(tiny_pipeline(), "airplane", config=EraseConfig(**cfg), out=tmp_path / "e", progress=False)
    assert not (tmp_path / "e").exists()

@pytest.mark.parametrize("kw,msg", [(dict(anchors="word " * 80), "tokens"), (dict(preserve=["word " * 80]), "tokens"),
                                    (dict(preserve="a circle"), "must be a list of prompts")])
def test_bad_prompts_fail_before_any_work(kw, msg, tmp_path):
    with pytest.raises(ValueError, match=msg):
        erase(tiny_pipeline(), "airplane", config=CFG, out=tmp_path / "e", progress=False, **kw)
    assert not (tmp_path / "e").exists()

def test_ctrl_c_before_the_alignment_resumes(tmp_path, straight, monkeypatch):
    import realera.erase as E
    def interrupted(*a, **k): raise KeyboardInterrupt
    monkeypatch.setattr(E, "add_lora", interrupted)
    with pytest.raises(KeyboardInterrupt):
        erase(tiny_pipeline(), "airplane", config=CFG, out=tmp_path / "e", progress=False)
    monkeypatch.undo()
    assert torch.equal(eps(erase(tiny_pipeline(), "airplane", config=CFG, out=tmp_path / "e", progress=False)),
                       straight[1])

# 8. the Python API
def test_a_pipeline_carries_one_erase(straight):
    p = erase(tiny_pipeline(), "airplane", config=EraseConfig.variant(1), progress=False)
    w = {n: v.clone() for n, v in p.unet.state_dict().items()}
    with pytest.raises(ValueError, match="already carries an erase"):
        erase(p, "cat", config=EraseConfig.variant(1), progress=False)
    with pytest.raises(ValueError, match="already carries an erase"): load_erased(p, straight[0])
    assert all(torch.equal(v, w[n]) for n, v in p.unet.state_dict().items())   # refused before editing anything
    q = load_erased(tiny_pipeline(), straight[0])
    with pytest.raises(ValueError, match="already carries an erase"): load_erased(q, straight[0])

def test_generate_images_refuses_bad_steps():
    for steps in (-3, 0):
        with pytest.raises(ValueError, match="steps must be an int >= 1"):
            generate_images(tiny_pipeline(), ["a cat"], steps=steps)

# 9. one-line errors for what a user can cause
@pytest.mark.parametrize(
    "args,msg", [(["--device", "bogus"], "is not a torch device"), (["--device", "cuda"], "CUDA is not available")])
def test_cli_device_errors_are_one_line(args, msg, tmp_path):
    if "cuda" in args and torch.cuda.is_available(): pytest.skip("this machine has CUDA")
    r = realera("erase", "--concept", "star", "--out", str(tmp_path / "e"), *args)
    assert r.returncode == 2 and msg in r.stderr and "Traceback" not in r.stderr and not (tmp_path / "e").exists(), (
        r.stderr[-1000:]
    )


def test_a_tampered_closed_form_is_one_line(tmp_path):
    import realera.artifacts as A
    out = tmp_path / "e"
    erase(tiny_pipeline(), "airplane", config=EraseConfig.variant(1), out=out, progress=False)
    (out / "closed_form.safetensors").write_bytes(b"not a safetensors file")
    rec = json.loads((out / COMPLETE).read_text())
    rec["files"]["closed_form.safetensors"] = A._sha256(out / "closed_form.safetensors")
    (out / COMPLETE).write_text(json.dumps(rec))
    with pytest.raises(ValueError, match="is not a closed form written by realera"): load_erased(tiny_pipeline(), out)

def test_a_yaml_tag_is_one_line(tmp_path):
    (tmp_path / "c.yaml").write_text("lam1: !!python/object/apply:os.system ['echo hi']\n")
    r = realera("erase", "--concept", "star", "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "e"))
    assert r.returncode == 2 and "is not plain YAML" in r.stderr and "Traceback" not in r.stderr, r.stderr[-1000:]

def test_ctrl_c_in_the_cli_says_how_to_resume(tmp_path):
    out = tmp_path / "e"
    # SIGINT back to its default in the child: a shell runs background jobs with SIGINT ignored, and Python keeps that
    p = subprocess.Popen(["realera", "erase", "--concept", "star", "--out", str(out), "--variant", "full", "--steps",
                          "5000", "--quiet"], stderr=subprocess.PIPE, text=True, env=ENV,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    t = time.time()
    while not (out / "closed_form.json").exists() and time.time() - t < 240: time.sleep(0.5)
    time.sleep(2)
    p.send_signal(signal.SIGINT)
    err = p.communicate(timeout=120)[1]
    assert p.returncode == 130 and "run the same command again to resume" in err and "Traceback" not in err, err[
        -1500:]
    assert (out / "checkpoint" / "latest.json").exists()   # the steps it finished are kept

def test_cli_options_are_spelt_with_dashes(tmp_path):
    from realera.cli import parser
    a = parser("generate").parse_args(["--prompt", "x", "--out", "o", "--only-erased"])
    b = parser("evaluate").parse_args(["--out", "o", "--batch-size", "3"])
    assert a.only_erased and b.batch_size == 3
    assert "--batch-size" in parser("evaluate").format_help()

# 10. lesser
def test_artifacts_are_byte_reproducible_and_readable(tmp_path):
    code = ("import torch; torch.set_num_threads(1); from realera.erase import erase, EraseConfig; from realera.align "
            "import AlignConfig;"
            "from realera.testing import tiny_pipeline; erase(tiny_pipeline(), 'airplane', "
            "config=EraseConfig(align_config="
            "AlignConfig(steps=4, lr=3e-3, anchor_images=2, anchor_steps=4)), out={out!r}, progress=False)")
    for i, seed in enumerate(("1", "2")):
        r = subprocess.run([sys.executable, "-c", code.format(out=str(tmp_path / str(i)))], capture_output=True,
                           text=True, env={**ENV, "PYTHONHASHSEED": seed}, timeout=300)
        assert r.returncode == 0, r.stderr[-1500:]
    for name in (LORA_FILE, "closed_form.safetensors", "anchor_latents.safetensors", "log.json"):
        assert (tmp_path / "0" / name).read_bytes() == (tmp_path / "1" / name).read_bytes(), name
    umask = os.umask(0)
    os.umask(umask)
    assert {oct((p.stat().st_mode & 0o777)) for p in (tmp_path / "0").iterdir() if p.is_file()} == {
        oct(0o666 & ~umask)}

def test_generate_checks_the_erase_first_and_leaves_no_stale_images(tmp_path):
    bad = tmp_path / "unfinished"
    bad.mkdir()
    (bad / "config.json").write_text("{}")
    r = realera("generate", "--prompt", "a star", "--erased", str(bad), "--out", str(tmp_path / "g"))
    assert r.returncode == 2 and "unfinished erase" in r.stderr and not (tmp_path / "g").exists()
    assert realera("generate", "--prompt", "a star", "--prompt", "a ring", "--n", "2", "--steps", "2", "--out",
                   str(tmp_path / "g")).returncode == 0
    assert realera("generate", "--prompt", "a star", "--n", "1", "--steps", "2", "--out", str(tmp_path / "g"),
                   "--overwrite").returncode == 0
    assert sorted(p.name for p in (tmp_path / "g" / "images").iterdir()) == ["original_00_00.png"]
    r = realera("generate", "--prompt", "a star", "--guidance", "nan", "--out", str(tmp_path / "g2"))
    assert r.returncode == 2 and "guidance must be a finite number" in r.stderr

def test_a_checkpoint_pointer_outside_its_folder_is_refused(tmp_path):
    out = tmp_path / "e"
    def stop(step, loss):
        if step == 2: raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        erase(tiny_pipeline(), "airplane", config=CFG, out=out, progress=False, callback=stop)
    (out / "checkpoint" / "latest.json").write_text(json.dumps(dict(step=2, folder="../../elsewhere")))
    with pytest.raises(ValueError, match="not a checkpoint folder"):
        erase(tiny_pipeline(), "airplane", config=CFG, out=out, progress=False)
