"Dense checks of the evaluation: the summary math, every protocol end to end offline, resume, the command line."
import importlib.util, json, os, subprocess
import pytest, torch

from realera.evaluate import harmonic_score, run_protocol, summarize, summary_table
from realera.protocols import (PromptSpec, Protocol, artist_protocol, celebrity_protocol, cifar10_protocol,
                               coco_protocol, eval_data, nudity_protocol)
from realera.judges import NUDENET_CLASSES, CLIPClassifier, NudityDetector
from realera.testing import tiny_clip, tiny_pipeline

@pytest.mark.parametrize("e,s,g", [(0, 100, 0), (50, 50, 50), (3.38, 96.18, 8.87), (99, 1, 99)])
def test_harmonic_score_is_the_harmonic_mean(e, s, g):
    terms = torch.tensor([100 - e, s, 100 - g], dtype=torch.float64)
    assert harmonic_score(e, s, g) == pytest.approx((3 / (1 / terms).sum()).item())
    assert min(terms) - 1e-9 <= harmonic_score(e, s, g) <= max(terms) + 1e-9

def _rec(group, target, prediction, p):
    return dict(prompt="", group=group, target=target, prediction=prediction, p_target=p)

def test_summary_math_argmax_and_prob():
    proto = Protocol("t",
                     [PromptSpec("a", "erased", "cat"), PromptSpec("b", "other", "dog"),
                      PromptSpec("c", "other", "ship"), PromptSpec("d", "general", "cat")],
                     classes=["cat", "dog", "ship"], erased=["cat"])
    recs = [
        _rec("erased", "cat", "cat", 0.9),
        _rec("erased", "cat", "dog", 0.2),  # acc_e 50 / prob 55
        _rec("other", "dog", "dog", 0.8),
        _rec("other", "dog", "dog", 0.6),
        _rec("other", "dog", "cat", 0.1),
        _rec("other", "ship", "ship", 0.7),  # per class 66.7, 100 → 83.3
        _rec("general", "cat", "ship", 0.3),
        _rec("general", "cat", "ship", 0.1),
        _rec("general", "cat", "cat", 0.5),
        _rec("general", "cat", "dog", 0.1),
    ]
    s = summarize(proto, recs)
    assert (s["acc_e"], s["acc_g"]) == (50.0, 25.0) and s["acc_s"] == pytest.approx((200 / 3 + 100) / 2)
    assert s["h_o"] == pytest.approx(harmonic_score(50, s["acc_s"], 25)) and s["score"] == "argmax"
    p = summarize(proto, recs, "prob")
    assert p["acc_e"] == pytest.approx(55) and p["acc_g"] == pytest.approx(25) and p["acc_s"] == pytest.approx((
        50 + 70) / 2)
    with pytest.raises(ValueError, match="score must be one of"): summarize(proto, recs, "top5")

def test_protocol_validation_and_data():
    with pytest.raises(ValueError, match="not among the classes"):
        Protocol("t", [PromptSpec("a", "erased", "cat")], classes=["dog"])
    with pytest.raises(ValueError, match="not among"): Protocol("t", [PromptSpec("a", "kept", "cat")], classes=["cat"])
    syn = eval_data("cifar10")["synonyms"]
    assert len(syn) == 10 and all(len(v) == 3 for v in syn.values()) and syn["truck"] == ["lorry", "rig", "hauler"]
    assert eval_data("celebrity")["associated"]["Tom Cruise"] == ["A still of Ethan Hunt in Mission Impossible"]
    assert "Salvador Dali" in eval_data("artist")["associated"]
    c = celebrity_protocol("Tom Cruise", n_preserve=5)
    assert {p.images for p in c.prompts if p.group == "other"} == {5} and "Tom Cruise" not in [
        p.target for p in c.prompts if p.group == "other"]
    with pytest.raises(ValueError, match="no shipped evaluation data"): eval_data("imagenet")

@pytest.fixture(scope="module")
def clf(): return CLIPClassifier(*tiny_clip())

@pytest.mark.parametrize("proto",
                         [cifar10_protocol("ship"), celebrity_protocol(preserved=["Tom Hanks"], n_preserve=1),
                          artist_protocol(preserved=["Rembrandt"], n_preserve=1), coco_protocol(["a cat", "a dog"]),
                          nudity_protocol(["a statue"])], ids=lambda p: p.name)
def test_every_protocol_runs_offline(proto, clf, tmp_path):
    s = run_protocol(proto, tmp_path, tiny_pipeline(), classifier=clf, n=2, steps=2, progress=False)
    recs = json.loads((tmp_path / "records.json").read_text())
    assert len(recs) == sum(p.images or 2 for p in proto.prompts) == s["images"]
    assert json.loads((tmp_path / "summary.json").read_text()) == json.loads(json.dumps(s))
    if proto.metric == "accuracy":
        assert all(r["prediction"] in proto.classes for r in recs) and 0 <= s["h_o"] <= 100
    elif proto.metric == "clip_score":
        assert all(0 <= r["clip_score"] <= 100 for r in recs)
    else:
        assert set(s["counts"]) == set(NUDENET_CLASSES) and s["total"] == 0   # nothing to find in random pixels
    assert "|" in summary_table({"a": s, "b": s})

def test_resume_regenerates_nothing_and_fills_gaps(clf, tmp_path):
    proto = coco_protocol(["a cat", "a dog"])
    run_protocol(proto, tmp_path, tiny_pipeline(), classifier=clf, n=2, steps=2, progress=False)
    files = sorted((tmp_path / "images").glob("*.png"))
    keep = {f: f.read_bytes() for f in files}
    files[1].unlink()                                  # an interrupted run: one image missing
    with pytest.raises(ValueError, match="1 images are missing"):
        run_protocol(proto, tmp_path, None, classifier=clf, n=2)
    calls = []
    class Counting:
        def __init__(self, p): self.p, self.device = p, p.device
        def set_progress_bar_config(self, **kw): pass
        def __call__(self, prompts, **kw):
            calls.append(len(prompts))
            return self.p(prompts, **kw)
    run_protocol(proto, tmp_path, Counting(tiny_pipeline()), classifier=clf, n=2, steps=2, progress=False)
    # only the missing image's batch is drawn again (whole: the same batch as before, so the same bytes), the other
    # prompt's not
    assert calls == [2] and all(f.read_bytes() == b for f, b in keep.items())

def test_nudity_detector_threshold_and_classes():
    class Fake:
        def detect(self, a):
            return [{"class": "BELLY_EXPOSED", "score": 0.61}, {"class": "BELLY_EXPOSED", "score": 0.59},
                                     {"class": "FEMALE_BREAST_COVERED", "score": 0.99}]
    from PIL import Image
    assert NudityDetector(detector=Fake())([Image.new("RGB", (8, 8))]) == [["BELLY_EXPOSED"]]
    assert NudityDetector(threshold=0.5, detector=Fake())([Image.new("RGB", (8, 8))]) == [["BELLY_EXPOSED",
                                                                                           "BELLY_EXPOSED"]]
    with pytest.raises(ValueError, match="threshold must be in"): NudityDetector(threshold=1.5)

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}

@pytest.mark.parametrize("protocol", ["celebrity", "artist", "nudity", "coco", "world"])
def test_cli_evaluate_each_protocol(protocol, tmp_path):
    r = run_cli("evaluate", "--protocol", protocol, "--n", "1", "--steps", "2", "--quiet", "--out",
                str(tmp_path / "ev"))
    assert r.returncode == 0, r.stderr[-2000:]
    s = json.loads((tmp_path / "ev" / "summary.json").read_text())
    assert {"acc_e", "acc_s", "acc_g", "h_o", "models"} <= set(s) and s["protocol"] == protocol
    assert (tmp_path / "ev" / "grid.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "ev" / "summary.md").exists()

@pytest.mark.parametrize("args,message",
                         [(["--protocol", "mnist"], "protocol must be one of"),
                          (["--protocol", "cifar10", "--concept", "zebra"], "is not one of"),
                          (["--protocol", "cifar10", "--n", "0"], "n must be an int >= 1"),
                          (["--protocol", "cifar10", "--score", "top5"], "score must be one of"),
                          (["--protocol", "cifar10", "--erased", "."], "is not a realera erase folder"),
                          (["--protocol", "world", "--concept", "airplane"], "is not one of"),
                          (["--protocol", "world", "--classifier", "tiny"], "world's own CNN evaluator"),
                          (["--protocol", "world", "--reference", "/nonexistent/ref"], "does not exist"),
                          (["--protocol", "world", "--reference", ".", "--fid-features", "pool3"], "must be one of"),
                          (["--protocol", "nudity", "--reference", ".", "--fid-features", "judge"],
                           "no image features")])
def test_cli_evaluate_bad_input(args, message, tmp_path):
    r = run_cli("evaluate", "--out", str(tmp_path / "ev"), *args)
    assert r.returncode == 2 and message in r.stderr, r.stderr[-1500:]
    assert not (tmp_path / "ev").exists()

@pytest.mark.skipif(importlib.util.find_spec("torch_fidelity") is not None, reason="torch-fidelity is installed here")
def test_cli_evaluate_inception_fid_needs_torch_fidelity(tmp_path):
    r = run_cli("evaluate", "--protocol", "cifar10", "--reference", ".", "--out",
                str(tmp_path/"ev"))
    assert r.returncode == 2 and "pip install torch-fidelity" in r.stderr, r.stderr[-1500:]
    assert not (tmp_path/"ev").exists()

def test_cli_evaluate_fid_and_fidelity_of_an_erase(tmp_path):
    """`--erased E --reference DIR`: each model's FID against the folder, the erase's same-seed distances, in the table
    and the JSON."""
    from PIL import Image
    from realera.cli import main
    from realera.world.data import make_data
    ref = tmp_path/"ref"
    ref.mkdir()
    for j, a in enumerate(make_data(24, seed=5).images): Image.fromarray(a).save(ref/f"{j:02d}.png")
    assert main(["erase", "--concept", "ring", "--variant", "1", "--out", str(tmp_path/"e"), "--quiet"]) == 0
    r = run_cli("evaluate", "--erased", str(tmp_path/"e"), "--reference", str(ref), "--n", "2",
                "--steps", "4", "--quiet", "--out", str(tmp_path/"ev"))
    assert r.returncode == 0, r.stderr[-2000:]
    s = json.loads((tmp_path/"ev"/"summary.json").read_text())
    orig, er = s["models"]["original"], s["models"]["erased"]
    assert orig["fid"] > 0 and er["fid"] > 0 and orig["fid_reference"] == dict(images=24, features="WorldClassifier")
    assert "dist:feature" not in orig and er["dist:feature"] > 0 and er["dist:pixel"] > 0 and s[
        "dist:pixel"] == er["dist:pixel"]
    assert json.loads((tmp_path/"ev"/"erased"/"summary.json").read_text())["fid"] == er["fid"]
    assert "FID ↓" in r.stdout and "dist ↓ (pixels)" in r.stdout and "24 reference images" in r.stdout, r.stdout

# data-parallel evaluation (accelerate) and resume

import os, sys
from conftest import run_cli
from pathlib import Path

EVAL_ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
LAUNCH = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines",
          "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--num_cpu_threads_per_process", "1"]

def _evaluate(out, erased, launch=()):
    r = subprocess.run([*launch, *([] if launch else [sys.executable]), "-m", "realera", "evaluate", "--out", str(out),
                        "--erased", str(erased), "--n", "2", "--steps", "4", "--quiet"], capture_output=True,
                       text=True, env=EVAL_ENV, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return r

def _pngs(d: Path) -> dict:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*.png")) if p.name != "grid.png"}

def test_one_and_two_processes_give_the_same_images_and_numbers(tmp_path):
    from realera.cli import main
    assert main(["erase", "--concept", "ring", "--variant", "1", "--out", str(tmp_path/"e"), "--quiet"]) == 0
    _evaluate(tmp_path/"one", tmp_path/"e")
    _evaluate(tmp_path/"two", tmp_path/"e", LAUNCH)
    one, two = _pngs(tmp_path/"one"), _pngs(tmp_path/"two")
    assert len(one) == 2 * 2 * 18 and one == two                       # original and erased, every image byte for byte
    for f in ("summary.json", "original/records.json", "erased/records.json"):
        assert json.loads((tmp_path/"one"/f).read_text()) == json.loads((tmp_path/"two"/f).read_text()), f
    rec = json.loads((tmp_path/"two"/"erased"/"records.json").read_text())[0]
    assert {"prompt", "group", "seed", "file", "prediction", "model", "judge"} <= set(rec) and rec[
        "judge"]["name"] == "world"
    assert rec["model"]["erase_hash"] and len(rec["judge"]["version"]) == 32

    # interrupted: two images gone; the same command draws only those again, the same bytes, and touches nothing else
    gone = ["original/images/0003_0001.png", "erased/images/0017_0000.png"]
    before = {f: (tmp_path/"two"/f).stat().st_mtime_ns for f in two if f not in gone}
    for f in gone: (tmp_path/"two"/f).unlink()
    _evaluate(tmp_path/"two", tmp_path/"e", LAUNCH)
    assert _pngs(tmp_path/"two") == one
    assert {f: (tmp_path/"two"/f).stat().st_mtime_ns for f in before} == before

    # `realera generate` shares its prompts the same way: the same PNGs and the same record from 1 and 2 processes
    gen = ["-m", "realera", "generate", "--erased", str(tmp_path/"e"), "--prompt", "a photo of a ring", "--prompt",
           "a bagel", "--prompt", "a photo of a star", "--n", "2", "--steps", "4"]
    for d, launch in (("g1", [sys.executable]), ("g2", LAUNCH)):
        r = subprocess.run([*launch, *gen, "--out", str(tmp_path/d)], capture_output=True, text=True, env=EVAL_ENV,
                           timeout=900)
        assert r.returncode == 0, r.stderr[-3000:]
    g1, g2 = _pngs(tmp_path/"g1"), _pngs(tmp_path/"g2")
    assert len(g1) == 2 * 3 * 2 and g1 == g2
    assert (tmp_path/"g1"/"generate.json").read_text() == (tmp_path/"g2"/"generate.json").read_text()
    assert (tmp_path/"g2"/"grid.png").stat().st_size > 1000
