"""The benchmark scripts' quick modes: what CI can afford of the scripts in bench/."""
import re
import pytest
import subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def run_bench(script: str, *args, timeout: int = 900, ok: bool = True, expect=()) -> subprocess.CompletedProcess:
    """Run bench/<script> with `args`; assert it succeeded (or failed, `ok=False`) and that stdout holds every string
    of `expect`."""
    r = subprocess.run([sys.executable, str(ROOT/"bench"/script), *args], capture_output=True, text=True,
                       timeout=timeout)
    assert (r.returncode == 0) == ok, (r.returncode, r.stderr[-3000:])
    for t in expect: assert t in r.stdout, t
    return r

def launch_two(*args, timeout: int = 900) -> subprocess.CompletedProcess:
    """`args` (a script and its arguments) under `accelerate launch` with two CPU processes, one thread each; asserts
    success."""
    r = subprocess.run([sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                        "--num_cpu_threads_per_process", "1", *args], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    return r

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

def test_export_rank_quick(tmp_path):
    run_bench("export_rank.py", "--quick", "--out", str(tmp_path/"x"),
              expect=("| export | rank | max rel. weight error | Acc_e % ↓ | Acc_g % ↓ | Acc_s % ↑ |",
                      "| erase (exact) |", "| default (tol 0.01) |", "| rank 2 | 2 |"))

def test_multi_concept_cost_tables_quick():
    r = run_bench("multi_concept.py", "--quick", timeout=600,
                  expect=("| erase + preserve vectors | UCE as coded, s | realera, s |", "| 20 + 50 |",
                          "| k | method | vectors (erase + preserve rows) | total, s | ÷ UCE | stages, s |",
                          "| 2 | UCE (2025 script) | 2 |", "| 2 | realera | 2,584 + 3,192 |",
                          "| 2 | realera, fast | 2,584 + 3,192 |"))
    diffs = [float(line.rsplit("|", 2)[-2]) for line in r.stdout.splitlines()
             if line.startswith(("| 2 + 3 |", "| 20 + 50 |"))]
    assert len(diffs) == 2 and max(diffs) < 1e-4, diffs   # UCE's code and realera's solve give the same weights
    stages = [line for line in r.stdout.splitlines() if line.startswith("| 2 | realera")]
    assert all("encode" in s and "mine" in s and "beyond" in s and "accumulate" in s for s in stages), stages
    errors = [float(x) for x in re.findall(r"k = \d+: ([0-9.e+-]+)", r.stdout)]
    assert len(errors) == 2 and max(errors) < 1e-3, errors   # float32 sums: the weights' change within 0.1 %

def test_multi_concept_encode_table_quick():
    "The encoding stage's side-by-side table: concept_pairs gives the pair-by-pair embeddings exactly."
    r = run_bench("multi_concept.py", "--encode", "--quick", timeout=600,
                  expect=("| k | pair by pair, s | concept_pairs (each prompt once, batched), s |",))
    rows = [line for line in r.stdout.splitlines() if line.startswith(("| 1 |", "| 2 |"))]
    assert len(rows) == 2 and all(line.endswith("| identical |") for line in rows), rows

def test_gpu_bench_says_when_there_is_no_gpu_and_runs_tiny():
    import torch
    if not torch.cuda.is_available():
        r = run_bench("gpu.py", timeout=300, ok=False)
        assert r.returncode == 1 and "no CUDA device here, nothing measured" in r.stderr, r.stderr[-2000:]
    # the SDXL path: every stage of the SD1.4 one, and the pooled path
    run_bench("gpu.py", "--tiny", "--arch", "sdxl", timeout=600,
              expect=("| neighbour mining + closed form (Eq. 7) |", "| pooled path: Eq. 7 + apply |",
                      "| noise alignment (2 steps", "| mining + closed form for 3 concepts |",
                      "| mining + closed form for 3 concepts, sampler 'sized', float32 sums |",
                      "the erase of one concept:"))

# Parameter counts of the released checkpoints (the models' safetensors on the hub): UNet, VAE, text encoder(s)
PUBLISHED = {"sd14": 859_520_964 + 83_653_863 + 123_060_480, "sd21": 865_910_724 + 83_653_863 + 340_387_840,
             "sdxl": 2_567_463_684 + 83_653_863 + 123_060_480 + 694_659_840}

def test_gpu_plan_adds_up_and_refuses_what_cannot_fit():
    """--plan: every arch × shipped config; weights = the published counts × the dtype's bytes; parts sum to the peak;
    SDXL needs checkpointing."""
    r = run_bench("gpu.py", "--plan", timeout=300, expect=("| model shapes | config | card (usable GiB) |",))
    rows = {}
    for line in r.stdout.splitlines():
        if not line.startswith("| sd"): continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        arch, dtype = cells[0].split()
        parts, total = [float(c) for c in cells[3:7]], float(cells[7])
        assert abs(parts[0] - PUBLISHED[arch] * {"(float16)": 2, "(float32)": 4}[dtype] / 2**30) < 0.006, line
        assert abs(sum(parts) - total) < 0.011 and all(p > 0 for p in parts), line
        rows[arch, cells[1]] = cells[8]
    assert len(rows) == 9
    assert (rows["sdxl", "t4"], rows["sdxl", "a100"], rows["sdxl", "sdxl-a100"], rows["sd14", "t4"]) == ("no", "no",
                                                                                                         "yes", "yes")
    # 03a_erase's table: the printed numbers, rows it shows
    names = {"sd14": "SD1.4", "sd21": "SD2.1", "sdxl": "SDXL"}
    doc = (ROOT/"nbs"/"03a_erase.ipynb").read_text()
    for line in r.stdout.splitlines():
        if not line.startswith("| sd"): continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        arch, dtype = cells[0].split()
        if (arch != "sdxl") and cells[1] == "sdxl-a100": continue
        peak = cells[2].replace(' (', ' ', 1).replace(') (', ' (')
        shown = f"| {names[arch]} {dtype} | {cells[1]} | {peak} | " + " | ".join(cells[3:8])
        assert shown in doc, f"03a_erase's memory table is not what --plan prints today: {shown}"
    refused = run_bench("gpu.py", "--arch", "sdxl", "--config", "t4", timeout=300, ok=False)
    assert "config 't4' is written for the T4 (16 GB)" in refused.stderr and "sdxl needs" in refused.stderr, (
        refused.stderr[-2000:]
    )


def test_sdxl_quick():
    "The pooled-path / zero-anchor table on a tiny SDXL and the closed-form cost row at SD1.4 shapes."
    r = run_bench("sdxl.py", "--quick", timeout=600,
                  expect=("| K/V only (pooled=False) |", "| K/V + pooled edit (pooled=True) |",
                          "| UCE (2023 recipe; K/V only) |", "2. Zero unconditional branch:",
                          "| SD1.4 | 768 | 32 | 19.2 M |"))
    kv, kvp = (float(line.split("|")[2].split()[0]) for line in r.stdout.splitlines()
               if line.startswith(("| K/V only", "| K/V + pooled")))
    assert kvp < kv   # the pooled edit removes what the K/V edit leaves

def test_discover_quick():
    run_bench("discover.py", "--quick",
              expect=("| criterion | candidates | recall@10 |", "| kv | vocabulary |", "| text | names |",
                      "Test classes ['square']"))

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

def test_mmdit_closed_form_cost_quick():
    "The closed form's cost on FLUX.1-dev's and SD3.5-medium's real text inputs (few rows here): both rows print."
    r = run_bench("mmdit.py", "--quick",
                  expect=("| flux | 36 / 56 |", "| sd3 | 36 / 56 |", "random rows of width 4096"))
    assert "accumulate s" in r.stdout

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
