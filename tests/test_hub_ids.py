"""Hub ids and the working folder: every model or data set the package and its docs name is one of
`realera.base.HUB_IDS` (ids removed from the hub appear only in the table that maps them to their maintained copy),
and a working folder that holds a clone named `realera` does not shadow the installed package, and what the README's
commands write is ignored by git; every shipped picture is what its command draws today."""

import os, re, subprocess, sys
import pytest
from pathlib import Path
from realera.base import HUB_IDS, RETIRED_HUB_IDS

ROOT = Path(__file__).resolve().parent.parent
FILES = [p for pat in ("nbs/*.ipynb", "realera/**/*.py", "bench/*.py", "README.md", "settings.ini", ".ci/*")
         for p in ROOT.glob(pat) if p.is_file() and p.name != "_modidx.py"]
# where a hub id is named: a loading call, a --model/--classifier/--clip option, or any org/name that names an SD/CLIP
# repo
NAMED = [r"""(?:from_pretrained|load_pipeline|load_dataset|protocol_judge|CLIPClassifier)"""
         r"""\(\s*\\?["']([\w.-]+/[\w.-]+)\\?["']""",
         r"--(?:model|classifier|clip|judge)[ =]([\w.-]+/[\w.-]+)",
         r"\b([\w.-]+/[\w.-]*(?:stable-diffusion|clip-vit)[\w.-]*)"]

def named_ids() -> dict[str, set[str]]:
    out = {}
    for p in FILES:
        text = p.read_text(encoding="utf-8", errors="replace")
        for pat in NAMED:
            for m in re.finditer(pat, text):
                out.setdefault(m.group(1).rstrip(".'\"`"), set()).add(str(p.relative_to(ROOT)))
    return out

def test_every_named_hub_id_is_in_the_one_list():
    found = named_ids()
    # the scan sees the docs' ids
    assert {"CompVis/stable-diffusion-v1-4", HUB_IDS["sd15"], HUB_IDS["sdxl"]} <= set(found)
    unknown = {i: sorted(f) for i, f in found.items() if i not in HUB_IDS.values() and i not in RETIRED_HUB_IDS
               and not i.startswith(("realera/", "nbs/", "bench/"))}
    assert not unknown, f"hub ids named outside realera.base.HUB_IDS: {unknown}"
    retired = {i: sorted(f) for i, f in found.items() if i in RETIRED_HUB_IDS}
    assert all(set(f) <= {"realera/base.py", "nbs/00_base.ipynb", "nbs/00_core.ipynb"} for f in retired.values()), (
        f"retired hub ids named: {retired}"
    )


def test_a_clone_in_the_working_folder_does_not_shadow_the_package(tmp_path):
    """The README's editable install from ~/realera, then Python started in ~: `import realera` is the package, not the
    folder."""
    (tmp_path/"realera").symlink_to(ROOT, target_is_directory=True)
    code = "import realera, realera.core as c; p = c.load_pipeline(); print(realera.__file__, type(p).__name__)"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""}
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (
        r.stdout.split()[0].endswith(os.path.join("realera", "__init__.py"))
        and r.stdout.split()[1] == "StableDiffusionPipeline"
    )


def test_the_folders_the_readme_commands_write_are_ignored(tmp_path):
    "Every `--out X` of the README's commands is ignored by git in a clone (no stray artifacts in `git status`)."
    outs = sorted(set(re.findall(r"--out ([\w.-]+)", (ROOT/"README.md").read_text())))
    assert {"erased-ring", "eval", "samples"} <= set(outs), outs
    r = subprocess.run(["git", "check-ignore", "--no-index", *outs, *(o + "/x" for o in outs)], cwd=ROOT,
                       capture_output=True, text=True)
    ignored = set(r.stdout.split())
    assert all(o in ignored or o + "/x" in ignored for o in outs), sorted(set(outs) - {i.removesuffix("/x")
                                                                                       for i in ignored})

def test_the_readme_time_table_quotes_its_measurement():
    """The README's time table carries the figures `bench/readme_times.py` measured
    (realera/assets/results/readme_times.json)."""
    from realera.base import stored_result
    lines = (ROOT/"README.md").read_text().splitlines()
    for r in stored_result("readme_times.json")["rows"]:
        row = [l for l in lines if l.startswith((f"| `{r['command']}` |", f"| {r['command']} |"))]
        assert len(row) == 1, r["command"]
        assert f"| {round(r['seconds'])} s" in row[0], (row[0], r["seconds"])

def test_the_readme_neighborhood_figure_is_what_its_command_draws(tmp_path):
    """The README's printed `realera neighborhood` command, rerun, draws the shipped nbs/images/neighborhood.png (and
    its table)."""
    import json, shlex
    import numpy as np
    from PIL import Image
    text = (ROOT/"README.md").read_text()
    cmd, = re.findall(r"`(realera neighborhood --concept ring [^`]*--out neighborhood\.png)`", text)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    r = subprocess.run(shlex.split(cmd), cwd=tmp_path, capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    shipped = json.loads((ROOT/"nbs"/"images"/"neighborhood.json").read_text())["prompts"]
    drawn = json.loads((tmp_path/"neighborhood.json").read_text())["prompts"]
    assert [p["prompt"] for p in drawn] == [p["prompt"] for p in shipped]
    assert np.allclose([[p["dist"], p["cos"]] for p in drawn], [[p["dist"], p["cos"]] for p in shipped], atol=1e-3)
    a, b = (np.asarray(Image.open(p).convert("RGB"), dtype=float)
            for p in (tmp_path/"neighborhood.png", ROOT/"nbs"/"images"/"neighborhood.png"))
    assert a.shape == b.shape and np.abs(a - b).mean() < 1.0, ("nbs/images/neighborhood.png is stale: rerun the "
                                                               "README's command there")

def test_every_shipped_image_is_shown_and_has_its_command():
    """Each picture in nbs/images is shown by a notebook or the README (no stale orphan ships), and each is tested
    against its command."""
    texts = [p.read_text(encoding="utf-8") for p in [*ROOT.glob("nbs/*.ipynb"), ROOT/"README.md"]]
    pictures = [p.name for p in (ROOT/"nbs"/"images").iterdir() if p.suffix in (".png", ".jpg", ".svg")]
    orphans = [n for n in pictures if not any(f"images/{n}" in t for t in texts)]
    assert not orphans, f"images nothing shows: {orphans}"
    tests = "".join(p.read_text() for p in (ROOT/"tests").glob("test_*.py"))
    redrawn = {f"world_grid_{c}.png" for c in GRIDS}   # test_the_world_grids_are_what_their_command_draws
    # the badge is drawn by hand
    untested = [n for n in pictures if n != "colab.svg" and n not in tests and n not in redrawn]
    assert not untested, f"shipped images no test redraws: {untested}"

# the methods each test reruns (the cheap ones)
GRIDS = {"ring": ["original", "closed form (variant 1)"], "star": ["original"]}

@pytest.mark.parametrize("cls", sorted(GRIDS))
def test_the_world_grids_are_what_their_command_draws(tmp_path, cls):
    """nbs/images/world_grid_<cls>.png is the picture its .json's command wrote (sha256), and that command rerun
    today, for the methods that take seconds, draws the same images (4×4 fingerprints within 1/255 on average) in
    the same rows."""
    import hashlib, json, shlex
    from realera.benchmark import fingerprint_distance
    shipped = json.loads((ROOT/"nbs"/"images"/f"world_grid_{cls}.json").read_text())
    png = ROOT/"nbs"/"images"/f"world_grid_{cls}.png"
    assert hashlib.sha256(png.read_bytes()).hexdigest() == shipped["png_sha256"], (f"{png.name} is not what its "
                                                                                   ".json's command wrote")
    args = shlex.split(shipped["command"])
    assert args[:2] == ["python", "bench/world_erase.py"] and args[args.index("--grid-dir") + 1] == "nbs/images", args
    for flag in ("--out", "--grid-dir"): args[args.index(flag) + 1] = str(tmp_path)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, str(ROOT/"bench"/"world_erase.py"), *args[2:], "--methods", *GRIDS[cls]],
                       cwd=tmp_path, capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    drawn = json.loads((tmp_path/f"world_grid_{cls}.json").read_text())
    assert sorted(drawn["methods"]) == sorted(GRIDS[cls])
    d = fingerprint_distance(drawn, shipped)
    assert d < 1.0, f"{png.name} is stale (its images differ by {d:.1f}/255 on average): rerun {shipped['command']}"
