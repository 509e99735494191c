"""The world benchmarks' quick modes (bench/world_*.py): what CI can afford of them, plain and under
`accelerate launch` with two processes."""
import pytest
import subprocess, sys

from conftest import ROOT, launch_two, run_bench

def test_world_erase_quick(tmp_path):
    r = run_bench("world_erase.py", "--quick", "--out", str(tmp_path/"b"), "--rows",
                  '{"closed form + associated names": ["closed form (variant 1)", {"also": "associated"}]}',
                  expect=("**Table 1**", "**Acc_g by kind of name**", "**Paired differences**",
                          "| **average** | UCE (2023 recipe) |", "| **average** | closed form + associated names |"))
    assert (tmp_path/"b"/"results.json").is_file() and (tmp_path/"b"/"tables.md").is_file()
    assert "benchmark cells: 100%" in r.stderr and "| 4/4 [" in r.stderr   # the cells' bar, with its estimate
    # the same run stored without its fidelity columns, then given them back by --fidelity-into (kept prompts only)
    import json
    res = json.loads((tmp_path/"b"/"results.json").read_text())
    for row in res["cells"]["square"].values():
        for cell in row.values():
            cell.pop("frechet")
            cell["hits"] = [h[:-2] for h in cell["hits"]]
    (tmp_path/"stored.json").write_text(json.dumps(res))
    r = run_bench("world_erase.py", "--fidelity-into", str(tmp_path/"stored.json"), "--out", str(tmp_path/"k"),
                  expect=("| feature dist ↓ | pixel RMSE ↓ | Fréchet ↓ |", "Δ feature dist",
                          "cells left without fidelity: unpaired (kept hits differ) [], missing []"))
    given, measured = (json.loads(f.read_text())["cells"]
                       for f in (tmp_path/"stored.json", tmp_path/"b"/"results.json"))
    # the Fréchet distance, recomputed in another process from images drawn again, to float round-off (its fourth
    # decimal was seen to move); everything else exactly
    frechet = lambda cells: [cell.pop("frechet") for row in cells["square"].values() for cell in row.values()]
    assert frechet(given) == pytest.approx(frechet(measured), rel=1e-3)
    assert given == measured

def test_world_erase_rejects_unknown_row_method(tmp_path):
    r = run_bench("world_erase.py", "--quick", "--out", str(tmp_path/"b"), "--rows", '{"x": ["NOPE", {}]}',
                  timeout=300, ok=False)
    assert "unknown methods ['NOPE']" in r.stderr and not (tmp_path/"b").exists()

def test_world_tradeoff_quick(tmp_path):
    run_bench("world_tradeoff.py", "--quick", "--out", str(tmp_path/"t"),
              expect=("| method · knob |", "| original |", "| ESD-x · steps=25 |",
                      "| RealEra (full) · d1=1.1,d2=1.6,s1=0.7,s2=0.3 |"))
    assert (tmp_path/"t"/"tradeoff.png").stat().st_size > 10_000

def test_world_attack_quick_on_one_and_two_processes(tmp_path):
    "The attack benchmark's smoke run, plain and under `accelerate launch` with two CPU processes: the same table."
    args = [str(ROOT/"bench"/"world_attack.py"), "--quick", "--benchmark",
            str(ROOT/"realera"/"assets"/"results"/"world_benchmark.json")]
    one = subprocess.run([sys.executable, *args, "--out", str(tmp_path/"one")], capture_output=True, text=True,
                         timeout=900)
    assert one.returncode == 0, one.stderr[-3000:]
    for t in ("| method | plain prompt % | prompts ASR % | RECE ASR % | soft ASR % | teacher ASR % |",
              "| original | 100 [100, 100] |", "| closed form (variant 1) |"):
        assert t in one.stdout, t
    launch_two(*args, "--out", str(tmp_path/"two"))
    assert (tmp_path/"one"/"table.md").read_text() == (tmp_path/"two"/"table.md").read_text()
    assert (tmp_path/"one"/"figure.png").stat().st_size > 10_000

def test_world_many_quick_on_one_and_two_processes(tmp_path):
    """Many concepts at once, plain and under `accelerate launch` (the gathering process computes the fidelity alone):
    one table."""
    args = [str(ROOT/"bench"/"world_many.py"), "--quick"]
    one = subprocess.run([sys.executable, *args, "--out", str(tmp_path/"one")], capture_output=True, text=True,
                         timeout=600)
    assert one.returncode == 0, one.stderr[-3000:]
    for t in ("| k | method | Acc_e ↓ | Acc_s ↑ |", "Fréchet ↓", "| 2 | original |",
              "| 2 | closed form (variant 1) |"):
        assert t in one.stdout, t
    launch_two(*args, "--out", str(tmp_path/"two"), timeout=600)
    # all but the erase's seconds
    measured = lambda d: [line.rsplit("|", 2)[0] for line in (d/"tables.md").read_text().splitlines()]
    assert measured(tmp_path/"one") == measured(tmp_path/"two")
    assert (tmp_path/"one"/"many_concepts.png").stat().st_size > 10_000

def test_the_shipped_many_concepts_figure_is_what_its_result_draws(tmp_path):
    """nbs/images/world_many.png is `many_concepts_figure` of the stored world_many.json (what bench/world_many.py
    saves)."""
    import numpy as np
    from PIL import Image
    from realera.base import stored_result
    from realera.tables import many_concepts_figure
    many_concepts_figure(stored_result("world_many.json")).savefig(tmp_path/"m.png", dpi=100, bbox_inches="tight")
    a, b = (np.asarray(Image.open(p).convert("RGB"), dtype=float)
            for p in (tmp_path/"m.png", ROOT/"nbs"/"images"/"world_many.png"))
    assert a.shape == b.shape and np.abs(a - b).mean() < 1.0, ("nbs/images/world_many.png is stale: redraw it from "
                                                               "world_many.json")

def test_world_profile_quick():
    "Where a benchmark cell's seconds go: the stored run's split and one cell per method measured stage by stage."
    r = run_bench("world_profile.py", "--quick", timeout=600,
                  expect=("| method | cells | erase, min | evaluation, min | evaluation's share |", "| **all** |",
                          "| method | images | load | erase | generate (stored tables' way) | generate, packed |",
                          "| closed form (variant 1) |", "wall:"))
    row = [line for line in r.stdout.splitlines() if line.startswith("| original | ")][-1]   # the second table's
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert len(cells) == 8 and int(cells[1]) > 0 and all(float(c) >= 0 for c in cells[2:7]), row
    assert cells[7].endswith("x"), row

def test_world_throughput_quick():
    "Images per second by batch size, and whether each size draws the first size's pixels (it does at these sizes)."
    r = run_bench("world_throughput.py", "--quick", timeout=600,
                  expect=("| batch | images/s per process | images/s in all | same 8-bit pixels as batch 4 |",
                          "1 process(es) x 1 thread(s)", "wall"))
    rows = [line for line in r.stdout.splitlines() if line.startswith(("| 4 |", "| 8 |"))]
    assert len(rows) == 2 and rows[0].rstrip().endswith("| yes |"), rows
    assert all(float(line.split("|")[3]) > 0 for line in rows), rows
    r = run_bench("world_throughput.py", "--batches", "16", "0", timeout=120, ok=False)   # refused before any work
    assert "--batches and --images must be positive whole numbers, got [0]" in r.stderr, r.stderr[-500:]
