"The `realera` console script, run as a user runs it."
import json, os, subprocess
import pytest

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}

def run(*args):
    return subprocess.run(["realera", *args], capture_output=True, text=True, env=ENV, timeout=600)

def test_neighborhood_writes_png_and_table(tmp_path):
    out = tmp_path / "sub" / "n.png"
    r = run("neighborhood", "--concept", "airplane", "--compare", "a photo of the aircraft", "--compare",
            "a red truck", "--out", str(out), "--m", "8", "--n", "8")
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
    for name in ("neighborhood", "erase", "generate", "evaluate", "attack"):
        assert f"\n  {name} " in r.stdout, r.stdout

def _quick_start() -> list[list[str]]:
    "The README's quick start: the realera commands of its CPU install line, as argument lists."
    import re, shlex
    from pathlib import Path
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    line = re.search(r"```bash\n(pip install torch[^\n]*)\n```", readme).group(1)
    cmds = [shlex.split(c) for c in line.split(" && ")]
    return [c[1:] for c in cmds if c[0] == "realera"]

def test_quick_start_twice_in_a_row(tmp_path):
    "The README's commands run twice in the same folder: the second erase reports the finished one, generate redraws."
    cmds = _quick_start()
    assert [c[0] for c in cmds] == ["erase", "generate"]
    cwd = tmp_path
    def go(args):
        r = subprocess.run(["realera", *args], capture_output=True, text=True, env=ENV, timeout=900, cwd=cwd)
        assert r.returncode == 0, r.stderr[-2000:]
        lines = r.stdout.strip().splitlines()
        assert lines and len(lines[-1]) < 200 and not lines[-1].startswith(("[", "{")), r.stdout   # one human line
        return lines[-1]
    first = [go(c) for c in cmds]
    grid = (cwd / "samples" / "grid.png").read_bytes()
    second = [go(c) for c in cmds]
    assert first[0].startswith("erased ring") and "already holds this finished erase" in second[0]
    assert first[1].startswith("drew 3 prompt(s) x 4 seed(s)") and second[1].startswith("redrew")
    assert (cwd / "samples" / "grid.png").read_bytes() == grid                 # the same seeds draw the same grid
    # another request into the same folder would lose the first: refused without --overwrite
    r = subprocess.run(["realera", "generate", "--prompt", "a photo of a star", "--out", "samples"],
                       capture_output=True, text=True, env=ENV, timeout=900, cwd=cwd)
    assert r.returncode == 2 and "--overwrite" in r.stderr and (cwd / "samples" / "grid.png").read_bytes() == grid

def test_wheel_carries_the_world_and_configs(tmp_path):
    """`pip wheel` (what `python -m build` does, offline here) makes a wheel that, installed alone, loads the world
    and holds every stored result the notebooks read (Colab from an uploaded wheel)."""
    import sys, zipfile
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", str(root), "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(tmp_path / "dist")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    wheel, = (tmp_path / "dist").glob("realera-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for f in ("realera/assets/world/model_index.json", "realera/assets/world/realera.json",
              "realera/assets/world/classifier.safetensors", "realera/assets/configs/t4.yaml",
              "realera/assets/configs/a100.yaml", "realera/assets/configs/sdxl-a100.yaml",
              "realera/assets/configs/flux-h100.yaml"):
        assert f in names, f
    assert not any("world.parts" in n for n in names)
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(tmp_path / "site"),
                        str(wheel)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    code = ("import realera, sys; from pathlib import Path; assert "
            "Path(realera.__file__).is_relative_to(Path(sys.argv[1])), realera.__file__\n"
            "from realera.core import load_pipeline; from realera.erase import shipped_configs\n"
            "p = load_pipeline(); assert sorted(shipped_configs()) == ['a100', 'flux-h100', 'sdxl-a100', 't4']; "
            "print(p.unet.config.sample_size)\n"
            "from realera.base import stored_result\n"
            "for name in sys.argv[2:]: stored_result(name)   # every stored result a notebook reads, from "
            "the wheel alone")
    import re
    read = sorted({m for nb in (root/"nbs").glob("*.ipynb")
                   for m in re.findall(r'stored_result\(\\"([\w.]+)\\"\)', nb.read_text())})
    assert len(read) >= 9 and not any('Path(\\"data/' in nb.read_text() for nb in (root/"nbs").glob("*.ipynb")), read
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "site"), *read], capture_output=True, text=True,
                       timeout=600, env={**ENV, "PYTHONPATH": str(tmp_path / "site")}, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]

@pytest.mark.parametrize("arch", ["sdxl", "sd2"])
def test_erase_and_generate_on_a_local_sdxl_or_sd2_folder(tmp_path, arch):
    """`realera erase/generate --model DIR` on a saved tiny SDXL (two encoders, pooled path) and a tiny SD2.x
    (v-prediction)."""
    from realera.testing import tiny_sd2_pipeline, tiny_sdxl_pipeline
    model, erased = tmp_path/arch, tmp_path/f"{arch}-erased"
    (tiny_sdxl_pipeline if arch == "sdxl" else tiny_sd2_pipeline)().save_pretrained(model)
    r = run("erase", "--model", str(model), "--concept", "airplane", "--out", str(erased), "--steps", "4", "--quiet")
    assert r.returncode == 0, r.stderr[-3000:]
    files = {p.name for p in erased.iterdir()}
    assert {"closed_form.safetensors", "pytorch_lora_weights.safetensors", "complete.json"} <= files
    # SDXL's pooled path is edited too (EraseConfig.pooled)
    assert ("pooled.safetensors" in files) == (arch == "sdxl")
    r = run("generate", "--model", str(model), "--prompt", "airplane", "--erased", str(erased), "--out",
            str(tmp_path/"g"), "--n", "2", "--steps", "3")
    assert r.returncode == 0, r.stderr[-3000:]
    rec = json.loads((tmp_path/"g"/"generate.json").read_text())
    assert sorted({i["model"] for i in rec["images"]}) == ["erased", "original"] and len(rec["images"]) == 4

def test_every_option_says_its_default():
    "`realera <command> --help`: every option that is not required, a flag or the help says what leaving it out means."
    import argparse
    from realera.cli import COMMANDS, parser
    silent = []
    for name in COMMANDS:
        p = parser(name)
        for a in p._actions:
            if isinstance(a, (argparse._HelpAction, argparse._StoreTrueAction)) or a.required or a.dest in ("pdb",
                                                                                                            "xtra"):
                continue
            if "default" not in p._get_formatter()._expand_help(a): silent.append(f"{name} {a.option_strings[0]}")
    assert not silent, f"options whose --help does not say their default: {silent}"
