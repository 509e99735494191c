"""Trade-off curves on the world's tuning classes: each method swept along its own knob
(realera.benchmark.TRADEOFF_KNOBS: UCE 2023's preserve weight, the closed form's lambda1, ESD's steps, SLD's preset,
RealEra's neighbourhood size), Acc_g on associated names against Acc_s. This is also how every method's default was
chosen: on the tuning classes, never the test ones.

    # the five tuning classes, one erase seed, n=8 images per prompt, 4 per other class
    python bench/world_tradeoff.py
    python bench/world_tradeoff.py --classes circle triangle cross   # the run in the docs (1,204 s on 2 processes)
    python bench/world_tradeoff.py --quick             # one class, two points per method
    # the stored sweep's fidelity columns: its kept prompts drawn again
    python bench/world_tradeoff.py --fidelity-into realera/assets/results/world_tradeoff.json \
        --out bench-tradeoff-fidelity
    # any knob
    python bench/world_tradeoff.py --knobs '{"ESD-x": ["lr", [1e-4, 1e-3, 1e-2]]}' --classes circle stripes \
        --out bench-esd-lr

Prints one row per (method, knob value) and writes OUT/tradeoff.png, OUT/results.json. Resumes from OUT; `accelerate
launch --multi_gpu --num_processes N` shares the cells out, as world_erase.py.
"""
import argparse, json, time
from pathlib import Path
import torch
from realera.benchmark import TRADEOFF_KNOBS, erasure_benchmark, run_sharded, tradeoff_rows
from realera.merges import merge_into
from _stored import fidelity_run, stored_options
from realera.methods import TUNING_CLASSES
from realera.tables import tradeoff_figure, tradeoff_table

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench-tradeoff")
    ap.add_argument("--classes", nargs="+", default=TUNING_CLASSES)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--n-other", type=int, default=4)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--world", default=None)
    ap.add_argument("--quick", action="store_true", help="one class, the two ends of each knob, 2 images per prompt")
    ap.add_argument("--knobs", default=None, help='JSON: method -> [knob, [values]] replacing TRADEOFF_KNOBS')
    stored_options(ap, "sweep")
    a = ap.parse_args()
    torch.set_num_threads(1)
    t = time.time()
    if fidelity_run(a, tradeoff_table, t): return
    knobs = json.loads(a.knobs) if a.knobs else TRADEOFF_KNOBS
    if a.quick: knobs = {m: (k, [v[0], v[-1]]) for m, (k, v) in knobs.items()}
    kw = dict(classes=a.classes[:1] if a.quick else a.classes, rows=tradeoff_rows(knobs), n=2 if a.quick else a.n,
              n_other=1 if a.quick else a.n_other, steps=4 if a.quick else a.steps, seeds=1,
              **({"world": a.world} if a.world else {}))
    if a.quick:   # few training steps: a smoke run of the plumbing, not of the numbers
        few = {"esd-x": dict(steps=2), "esd-u": dict(steps=2), "ac": dict(steps=2, anchor_images=1, sample_steps=2),
               "fmn": dict(steps=2, concept_images=1, sample_steps=2),
               **{v: dict(align_config=dict(steps=4, anchor_images=1, anchor_steps=2)) for v in ("2", "3", "full")}}
        kw["rows"] = {l: (k, {**p, **few.get(k, {})}) for l, (k, p) in kw["rows"].items()}
        kw["pack"] = True   # a cell's images in full batches across prompts
    res = run_sharded(erasure_benchmark, out=a.out, **kw)
    if res is None: return   # not process 0
    if a.merge_into:
        res = merge_into(a.merge_into, res)
        print(f"merged into {a.merge_into}: rows {list(res['rows'])}")
    tradeoff_figure(res).savefig(Path(a.out)/"tradeoff.png", dpi=120, bbox_inches="tight")
    print(tradeoff_table(res))
    print(f"wall: {time.time() - t:.0f} s")

if __name__ == "__main__":
    main()
