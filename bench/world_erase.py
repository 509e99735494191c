"""The erasure benchmark on the embedded world (realera.benchmark.erasure_benchmark): each class erased in turn by each method of
the paper's Table 3, evaluated as Table 1 (Acc_e, Acc_s, Acc_g, H_o; argmax accuracy of the world's CNN evaluator).

    python bench/world_erase.py                      # 10 classes x 7 methods (UCE 2023 and 2025 recipes, variants 1-3, full RealEra), n=10 images per prompt: two worker
                                                     # processes of one thread each (the 2-core machine): 498 s for the five realera rows; the UCE rows not yet timed in a full run
    python bench/world_erase.py --classes star ring --n 4   # a quick look
    python bench/world_erase.py --world /tmp/world --out bench-new   # a freshly trained world (bench/train_world.py)

Prints the Table 1- and Table 3-shaped markdown tables; writes OUT/results.json, OUT/tables.md and OUT/grid_<class>.png.
Resumes an interrupted run from OUT.
"""
import argparse, json, subprocess, sys, time
from pathlib import Path
import torch
from realera.benchmark import METHODS, benchmark_grid, erasure_benchmark, table1, table3
from realera.world.data import CLASSES

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench-world"); ap.add_argument("--classes", nargs="+", default=CLASSES)
    ap.add_argument("--methods", nargs="+", default=list(METHODS)); ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--n-other", type=int, default=4); ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--grids", nargs="*", default=["ring", "triangle"]); ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2, help="processes, one thread each, each erasing a share of the classes")
    ap.add_argument("--world", default=None, help="a trained world's folder (default: the embedded one)")
    ap.add_argument("--overrides", default=None, help="JSON merged into the world's erase settings (EraseConfig.for_model), e.g. '{\"align_config\": {\"steps\": 100}}'")
    a = ap.parse_args(); torch.set_num_threads(a.threads)
    t = time.time()
    kw = dict(n=a.n, n_other=a.n_other, steps=a.steps, overrides=json.loads(a.overrides) if a.overrides else None,
              **({"world": a.world} if a.world else {}))
    if a.workers > 1 and len(a.classes) > 1:   # each worker fills its classes' folders; the final call below only reads them
        opts = ["--out", a.out, "--methods", *a.methods, "--n", str(a.n), "--n-other", str(a.n_other), "--steps", str(a.steps),
                "--workers", "1", "--grids"] + (["--overrides", a.overrides] if a.overrides else []) \
             + (["--world", a.world] if a.world else [])
        erasure_benchmark(a.out, a.classes[:1], a.methods[:1], progress=False, **kw)   # writes the settings marker once
        procs = [subprocess.Popen([sys.executable, __file__, "--classes", *a.classes[i::a.workers], *opts], stdout=subprocess.DEVNULL)
                 for i in range(a.workers)]
        if any(p.wait() for p in procs): sys.exit("a worker failed")
    res = erasure_benchmark(a.out, a.classes, a.methods, **kw)
    for c in a.grids:
        if c in res: benchmark_grid(a.out, c).savefig(Path(a.out)/f"grid_{c}.png", dpi=100, bbox_inches="tight")
    print(table1(res)); print(); print(table3(res))
    erase_s = {m: sum(res[c][m]["erase_s"] for c in res) / len(res) for m in a.methods}
    print("\nmean erase seconds per class:", ", ".join(f"{m} {s:.1f}" for m, s in erase_s.items()))
    print(f"wall: {time.time() - t:.0f} s ({a.workers} worker process(es) of {a.threads} thread(s))")

if __name__ == "__main__":
    main()
