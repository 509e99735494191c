"""The benchmark scripts' quick modes: what CI can afford of the scripts in bench/ (the world's benchmarks:
test_bench_world.py, a file of its own so that the two test processes share the work evenly)."""
import re

from conftest import ROOT, run_bench

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
    # the FLUX path: the closed form on context_embedder and the pooled text embedder, the flow-matching alignment
    r = run_bench("gpu.py", "--tiny", "--arch", "flux", timeout=600,
                  expect=("tiny FLUX.1-dev pipeline, float32; config flux-h100",
                          "| anchor z_t cache (1 images x 2 steps) |",
                          "| neighbour mining + closed form (Eq. 7) |", "| pooled path: Eq. 7 + apply |",
                          "| velocity alignment (2 steps", "| mining + closed form for 3 concepts |",
                          "| W M products for 3 concepts |", "the erase of one concept:"))
    assert "noise alignment (" not in r.stdout

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

def test_mmdit_closed_form_cost_quick():
    "The closed form's cost on FLUX.1-dev's and SD3.5-medium's real text inputs (few rows here): both rows print."
    r = run_bench("mmdit.py", "--quick",
                  expect=("| flux | 36 / 56 |", "| sd3 | 36 / 56 |", "random rows of width 4096"))
    assert "accumulate s" in r.stdout

def test_mmdit_align_targets_quick():
    """The LoRA-target measurement on FLUX/SD3 (issue 33, item 4), its smoke run on SD3 (the FLUX path of the same
    erase runs in tests/test_mmdit.py): every candidate set of modules is a row; bad settings refused before any
    work."""
    r = run_bench("mmdit_align.py", "--quick", "--archs", "sd3",
                  expect=("| SD3 | closed form alone (variant 1) | 0 |", "| SD3 | both |", "residue ↓"))
    assert "text-stream attention (add_q/k/v_proj, to_add_out; default)" in r.stdout
    # UCE's FLUX script as a row beside RealEra's closed form (no alignment: fast)
    run_bench("mmdit_align.py", "--quick", "--archs", "flux", "--rows", "closed form alone (variant 1)",
              "UCE (FLUX script)", expect=("| FLUX | UCE (FLUX script) | 0 |", "| FLUX | closed form alone"))
    for bad, say in ((["--steps", "0"], "--steps must be at least 1, got 0"),
                     (["--lr", "-1"], "--lr must be positive"), (["--rows", "UCE"], "unknown --rows ['UCE']")):
        r = run_bench("mmdit_align.py", *bad, ok=False)
        assert say in r.stderr, r.stderr
