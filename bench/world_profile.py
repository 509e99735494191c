"""Where the world benchmark's seconds go (issue 32: profile before batching).

    python bench/world_profile.py                  # one class, four methods, the benchmark's defaults, one CPU thread
    python bench/world_profile.py --quick          # the smoke run CI makes (n = 2, 4 steps)

Two views, side by side:
1. the stored benchmark (`realera/assets/results/world_benchmark.json`): each cell's erase and evaluation seconds, as
   the run that made the tables measured them, summed per method (process-minutes; the run shared them out over two
   processes);
2. one cell of `bench/world_erase.py` per method measured again stage by stage in this process: loading the world, the
   erase, drawing the protocol's images as the stored tables drew them (each prompt's images in batches of their own)
   and packed (`pack=True`: full batches across prompts), and the judge (the world's classifier on every image).
"""
import argparse, json, tempfile, time
from pathlib import Path

import torch

from realera.base import RESULTS_DIR, markdown_table, read_json, timed
from realera.evaluate import generate_missing, judge, image_plan
from realera.judges import WorldClassifier
from realera.methods import METHOD_PARAMS, METHODS, apply_method
from realera.protocols import world_protocol
from realera.settings import model_settings
from realera.world.model import WORLD_DIR, load_classifier, load_world

DEFAULT = ["original", "closed form (variant 1)", "RealEra (full)", "ESD-x"]
QUICK = dict(n=2, n_other=1, steps=4, methods=["original", "closed form (variant 1)"])

def stored_split(path=RESULTS_DIR/"world_benchmark.json") -> list[tuple]:
    "Per method: cells, erase and evaluation process-minutes, and the evaluation's share, from a stored benchmark."
    res, per = read_json(path), {}
    for rows in res["cells"].values():
        for label, seeds in rows.items():
            for cell in seeds.values():
                p = per.setdefault(label, [0, 0.0, 0.0])
                p[0], p[1], p[2] = p[0] + 1, p[1] + cell.get("erase_s", 0.0), p[2] + cell.get("eval_s", 0.0)
    rows = sorted(per.items(), key=lambda kv: -(kv[1][1] + kv[1][2]))
    tot_e, tot_v = sum(p[1] for _, p in rows), sum(p[2] for _, p in rows)
    out = [(m, c, f"{e / 60:.1f}", f"{v / 60:.1f}", f"{v / (e + v):.0%}") for m, (c, e, v) in rows]
    return out + [("**all**", sum(p[0] for _, p in rows), f"{tot_e / 60:.1f}", f"{tot_v / 60:.1f}",
                   f"{tot_v / (tot_e + tot_v):.0%}")]

def cell_stages(cls: str, label: str, n: int, n_other: int, steps: int, tmp: Path) -> dict:
    "One cell's seconds by stage (see the module's docstring)."
    kind, params = METHODS[label], METHOD_PARAMS.get(label, {})
    settings, protocol, t = model_settings(WORLD_DIR), world_protocol(cls, n_other=n_other), {}
    with timed(t, "load"): pipe = load_world(WORLD_DIR)
    with timed(t, "erase"): pipe = apply_method(pipe, kind, cls, params, 0, settings, "world")
    draw = dict(n=n, seed=0, batch_size=16, steps=steps, guidance_scale=7.5, progress=False)
    with timed(t, "generate"): generate_missing(pipe, protocol, tmp/"plain", **draw)
    with timed(t, "generate, packed"): generate_missing(pipe, protocol, tmp/"packed", **draw, pack=True)
    clf = WorldClassifier(load_classifier(WORLD_DIR))
    d, plan, _ = image_plan(tmp/"plain", protocol, n, 0)
    with timed(t, "judge"): judge(protocol, d, plan, clf)
    return dict(images=len(plan), **t)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cls", default="square")
    ap.add_argument("--methods", nargs="+", default=DEFAULT)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--n-other", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="a smoke run: " + json.dumps(QUICK))
    a = ap.parse_args()
    if a.quick: a.n, a.n_other, a.steps, a.methods = QUICK["n"], QUICK["n_other"], QUICK["steps"], QUICK["methods"]
    bad = [m for m in a.methods if m not in METHODS]
    if bad: ap.error(f"unknown methods {bad}; choose from {list(METHODS)}")
    torch.set_num_threads(a.threads)
    t0 = time.time()
    print("1. The stored benchmark's cells (world_benchmark.json): process-minutes per method\n")
    print(markdown_table(("method", "cells", "erase, min", "evaluation, min", "evaluation's share"), stored_split()))
    print(f"\n2. One cell per method measured again ({a.cls}; n = {a.n}, n_other = {a.n_other}, {a.steps} steps, "
          f"{a.threads} thread(s)), seconds\n")
    rows = []
    for m in a.methods:   # (no `no_grad` here: RealEra's erase trains its LoRA)
        with tempfile.TemporaryDirectory() as tmp:
            s = cell_stages(a.cls, m, a.n, a.n_other, a.steps, Path(tmp))
        rows.append((m, s["images"], *(f"{s[k]:.1f}" for k in ("load", "erase", "generate", "generate, packed",
                                                                 "judge")),
                     f"{s['generate'] / s['generate, packed']:.2f}x"))
    print(markdown_table(("method", "images", "load", "erase", "generate (stored tables' way)", "generate, packed",
                          "judge", "packing's speed-up"), rows))
    print(f"\nwall: {time.time() - t0:.0f} s")

if __name__ == "__main__":
    main()
