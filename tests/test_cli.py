"The `realera` console script, run as a user runs it."
import json, os, subprocess
import pytest

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}

def run(*args):
    return subprocess.run(["realera", *args], capture_output=True, text=True, env=ENV, timeout=600)

def test_neighborhood_writes_png_and_table(tmp_path):
    out = tmp_path / "sub" / "n.png"
    r = run("neighborhood", "--concept", "airplane", "--compare", "a photo of the aircraft", "--compare", "a red truck",
            "--out", str(out), "--m", "8", "--n", "8")
    assert r.returncode == 0, r.stderr[-2000:]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = json.loads(out.with_suffix(".json").read_text())
    assert [p["prompt"] for p in table["prompts"]] == ["a photo of the aircraft", "a red truck"]
    assert table["config"]["m"] == 8
    before = out.read_bytes()
    r = run("neighborhood", "--concept", "airplane", "--out", str(out))
    assert r.returncode == 2 and "--overwrite" in r.stderr and out.read_bytes() == before

def test_bad_thresholds_fail_before_work(tmp_path):
    r = run("neighborhood", "--concept", "cat", "--out", str(tmp_path / "x.png"), "--s1", "0.5", "--s2", "0.9")
    assert r.returncode == 2 and "s2=0.9 > s1=0.5" in r.stderr
    assert not any(tmp_path.iterdir())

def test_unknown_command():
    r = run("frobnicate")
    assert r.returncode == 2 and "neighborhood" in r.stdout

def test_help_lists_every_subcommand():
    r = run("--help")
    assert r.returncode == 0
    for name in ("neighborhood", "erase", "generate", "evaluate"): assert f"\n  {name} " in r.stdout, r.stdout
