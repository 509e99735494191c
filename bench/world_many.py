"""Many concepts at once on the embedded world (realera.benchmark.many_concepts_table): k = 1, 3, 5 classes erased
together by every method that takes several (UCE's two recipes, SPEED, MACE, the closed form, RealEra, the
model-aware neighbourhood), several draws of which classes (from all ten), Acc_e on the erased, Acc_s on the kept,
Acc_g, H_o, the fidelity to the original (same-seed feature and pixel distances, Fréchet) and the erase's seconds,
with 95% intervals over the draws and the images; the paired Δ H_o to the closed form.

    # the stored table (06a), ≈ 30 min
    accelerate launch --multi_gpu --num_processes 2 bench/world_many.py --out bench-many
    cp bench-many/results.json realera/assets/results/world_many.json
    cp bench-many/many_concepts.png nbs/images/world_many.png
    python bench/world_many.py --quick --out /tmp/many          # a smoke run: k = 2, one draw, three methods, 2 images

Writes OUT/results.json, OUT/tables.md and OUT/many_concepts.png; resumes an interrupted run from OUT. Under
`accelerate launch` the cells are shared out (one CPU thread or one GPU each) and process 0 gathers
(`realera.benchmark.run_sharded`).
"""
import argparse, json, time
from pathlib import Path
import torch
from realera.base import atomic_path
from realera.benchmark import MANY_METHODS, erasure_benchmark, many_concepts_sets, run_sharded
from realera.tables import many_concepts_figure, many_concepts_table

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench-many")
    ap.add_argument("--ks", nargs="+", type=int, default=[1, 3, 5])
    ap.add_argument("--draws", type=int, default=3, help="sets of classes drawn per k")
    ap.add_argument("--draw-seed", type=int, default=0)
    ap.add_argument("--methods", nargs="+", default=MANY_METHODS)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--n-other", type=int, default=8)
    ap.add_argument("--n-general", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=1, help="erase seeds per seeded method")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t = time.time()
    if a.quick:
        a.ks, a.draws, a.methods, a.n, a.n_other, a.steps = [2], 1, ["original", "UCE (2023 recipe)",
                                                                     "closed form (variant 1)"], 2, 2, 4
    sets = many_concepts_sets(a.ks, a.draws, a.draw_seed)
    res = run_sharded(erasure_benchmark, out=a.out, classes=sets, methods=a.methods, n=a.n, n_other=a.n_other,
                      n_general=a.n_general, steps=a.steps, seeds=a.seeds, pack=a.quick)
    if res is None: return   # not process 0
    table = many_concepts_table(res)
    with atomic_path(Path(a.out)/"tables.md") as tmp: tmp.write_text(table + "\n")
    with atomic_path(Path(a.out)/"many_concepts.png") as tmp:
        many_concepts_figure(res).savefig(tmp, dpi=100, bbox_inches="tight", format="png")
    print(f"sets: {json.dumps(sets)}\n\n{table}\n\nwall: {time.time() - t:.0f} s")

if __name__ == "__main__":
    main()
