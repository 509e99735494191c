"""The erasure benchmark on the embedded world (realera.benchmark.erasure_benchmark): each test class erased by each
method — the published baselines (UCE's 2023 and 2025 recipes, ESD-x, ESD-u, SLD) and realera's Table 3 variants —
evaluated as the paper's Table 1 (Acc_e, Acc_s, Acc_g, H_o; argmax accuracy of the world's CNN evaluator) with 95%
bootstrap intervals over image seeds and erase seeds, Acc_g split by kind of name, and the paired differences to the
closed form (variant 1) and UCE (2023).

    # the same on two processes (CPU cores or GPUs)
    accelerate launch --multi_gpu --num_processes 2 bench/world_erase.py
    # the five test classes x 10 methods, 3 erase seeds per seeded method, n=20 (5 per other class)
    python bench/world_erase.py
    python bench/world_erase.py --quick            # one class, three methods, 2 images per prompt: what CI runs
    python bench/world_erase.py --classes circle triangle cross stripes dots --out bench-tuning   # the tuning half
    python bench/world_erase.py --world /tmp/world --out bench-new   # a freshly trained world (bench/train_world.py)
    # every prompt in the world's four other caption contexts ("a small blue {}", …), n images in each
    python bench/world_erase.py --contexts --n 5 --n-other 2 --out bench-contexts
    # the docs' picture nbs/images/world_grid_ring.png (and .json, its fingerprint)
    python bench/world_erase.py --classes ring --n 3 --n-other 3 --seeds 1 --grids ring --grid-dir nbs/images \
        --out bench-grid-ring
    # a stored row run again with today's libraries, checked on the original's hits
    python bench/world_erase.py --seeds 2 --methods original ESD-x --grids \
        --merge-into realera/assets/results/world_benchmark.json --replace ESD-x
    # a stored result's fidelity columns: its kept prompts drawn again
    python bench/world_erase.py --fidelity-into realera/assets/results/world_benchmark.json --out bench-fidelity
    # more rows (a method with other settings) beside the ten, paired with them
    python bench/world_erase.py --seeds 2 --n-other 5 \
        --rows '{"RealEra (full) + associated names": ["RealEra (full)", {"also": "associated"}]}'

Prints the tables; writes OUT/results.json, OUT/tables.md and, in --grid-dir (default OUT), world_grid_<class>.png
with world_grid_<class>.json (the prompts, each image shrunk to 4×4 and the picture's sha256: what a rerun must
reproduce). Resumes an interrupted run from OUT. Under `accelerate launch --multi_gpu --num_processes N
bench/world_erase.py …` the cells are shared out (cell i goes to process i mod N, one CPU thread each, or one GPU
each) and process 0 gathers (`realera.benchmark.run_sharded`).
"""
import argparse, hashlib, json, shlex, sys, time
from pathlib import Path
import torch
from realera.protocols import WORLD_CONTEXTS
from realera.base import atomic_path, write_json
from realera.benchmark import benchmark_grid, erasure_benchmark, grid_fingerprint, run_sharded
from realera.merges import merge_into
from _stored import fidelity_run, stored_options
from realera.methods import METHODS, method_rows, TEST_CLASSES
from realera.tables import benchmark_report

QUICK = dict(classes=["square"], methods=["original", "closed form (variant 1)", "UCE (2023 recipe)"], n=2, n_other=1,
             seeds=1, steps=4, pack=True)

def save_grid(out, cls, folder: Path, argv: list[str]):
    "folder/world_grid_<cls>.png and its fingerprint .json, each written to a temporary file and renamed."
    folder.mkdir(parents=True, exist_ok=True)
    png = folder/f"world_grid_{cls}.png"
    with atomic_path(png) as tmp: benchmark_grid(out, cls).savefig(tmp, dpi=100, bbox_inches="tight", format="png")
    write_json(png.with_suffix(".json"),
               dict(command="python bench/world_erase.py " + shlex.join(argv),
                    png_sha256=hashlib.sha256(png.read_bytes()).hexdigest(), **grid_fingerprint(out, cls)))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench-world")
    ap.add_argument("--classes", nargs="+", default=TEST_CLASSES)
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--n-other", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=3,
                    help="erase seeds per seeded method (ESD, realera variants 2, 3, full)")
    ap.add_argument("--grids", nargs="*", default=["ring", "star"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--grid-dir", default=None, help="where the grids go (default: --out)")
    ap.add_argument("--world", default=None, help="a trained world's folder (default: the embedded one)")
    ap.add_argument("--params", default=None,
                    help="JSON: method -> settings replacing its defaults, e.g. '{\"ESD-x\": {\"steps\": 50}}'")
    ap.add_argument("--rows", default=None, help='JSON: label -> [method, settings], more rows beside --methods')
    ap.add_argument(
        "--contexts",
        action="store_true",
        help="ask every prompt in each of "
        + json.dumps(WORLD_CONTEXTS)
        + " instead of 'a photo of a {}' (n images in each)",
    )
    ap.add_argument("--quick", action="store_true", help="a smoke run: " + json.dumps(QUICK))
    stored_options(ap)
    ap.add_argument("--replace", nargs="+", default=[],
                    help="with --merge-into: rows whose stored cells this run's replace (a row today's libraries no "
                         "longer reproduce), the pairing checked on the other shared rows")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t = time.time()
    kw = dict(classes=a.classes, methods=a.methods, n=a.n, n_other=a.n_other, steps=a.steps, seeds=a.seeds,
              params=json.loads(a.params) if a.params else None, **({"world": a.world} if a.world else {}),
              **({"template": list(WORLD_CONTEXTS)} if a.contexts else {}))
    if a.quick:
        kw.update(QUICK)
        a.grids = []
    if a.rows: kw["rows"] = method_rows(kw.pop("methods"), kw.pop("params"), json.loads(a.rows))
    if fidelity_run(a, benchmark_report, t): return
    res = run_sharded(erasure_benchmark, out=a.out, **kw)
    if res is None: return   # not process 0
    with atomic_path(Path(a.out)/"tables.md") as tmp:
        tmp.write_text(benchmark_report(res) + "\n")   # this run's own tables
    for c in a.grids:
        if c in res["classes"]: save_grid(a.out, c, Path(a.grid_dir or a.out), sys.argv[1:])
    if a.merge_into:
        res = merge_into(a.merge_into, res, replace=a.replace)
        print(f"merged into {a.merge_into}: rows {list(res['rows'])}")
    print(benchmark_report(res))
    cells = [cell for c in res["cells"].values() for m in c.values() for cell in m.values()]
    per = {}
    for cell in cells: per.setdefault(cell["spec"]["method"], []).append(cell["erase_s"])
    print("\nmean erase seconds per cell:", ", ".join(f"{m} {sum(v) / len(v):.1f}" for m, v in per.items()))
    print(f"wall: {time.time() - t:.0f} s")

if __name__ == "__main__":
    main()
