"""The one-file LoRA export (realera.export) on the embedded world: for every class, the full RealEra erase written
to a folder, then exported at rank r = 1, 2, 4, ..., and at the default (the smallest rank with every layer's
relative error <= DEFAULT_TOL); each export loaded into a fresh world with plain diffusers (`load_lora_weights`) and
measured with the world's evaluator beside the erase itself (`load_erased`): the weight error, Acc_e (the erased
class's own prompt), Acc_g (its synonyms and associated names) and Acc_s (the other classes), same image seeds for
every row.

    python bench/export_rank.py                                           # one process
    accelerate launch --multi_gpu --num_processes 2 bench/export_rank.py  # classes shared out (CPU or GPUs)
    python bench/export_rank.py --quick                                   # a smoke run

Resumes from OUT (each finished class is kept). Writes OUT/results.json and prints the table; the notebook's copy is
realera/assets/results/export_rank.json.
"""
import argparse, json, time
from pathlib import Path

import torch

from realera.methods import TEST_CLASSES, TUNING_CLASSES
from realera.tables import export_rank_table
from realera.base import my_share, processes, read_json, write_json
from realera.erase import EraseConfig, erase
from realera.artifacts import load_erased
from realera.export import DEFAULT_TOL, export_lora
from realera.settings import model_settings
from realera.world.data import ASSOCIATED, CLASSES, SYNONYMS
from realera.world.model import class_hits, load_classifier, load_world

RANKS = [1, 2, 4, 8, 16, 32]
QUICK = dict(classes=["ring"], ranks=[2], n=2, n_other=1, steps=4)

def hits(pipe, clf, prompt: str, cls: str, n: int, steps: int) -> list[int]:
    return class_hits(pipe, clf, prompt, cls, n=n, steps=steps, seed=1000)

def measure(pipe, clf, c: str, n: int, n_other: int, steps: int) -> dict:
    others = [o for o in CLASSES if o != c]
    return dict(e=hits(pipe, clf, f"a photo of a {c}", c, n, steps),
                g=[h for s in SYNONYMS[c] + ASSOCIATED[c]
                   for h in hits(pipe, clf, f"a photo of a {s}", c, n_other, steps)],
                s=[h for o in others for h in hits(pipe, clf, f"a photo of a {o}", o, n_other, steps)])

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench-export")
    ap.add_argument("--classes", nargs="+", default=TUNING_CLASSES[:2] + TEST_CLASSES)
    ap.add_argument("--ranks", nargs="+", type=int, default=RANKS)
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--n-other", type=int, default=4)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="a smoke run: " + json.dumps(QUICK))
    a = ap.parse_args()
    kw = dict(classes=a.classes, ranks=a.ranks, n=a.n, n_other=a.n_other, steps=a.steps)
    if a.quick: kw.update(QUICK)
    torch.set_num_threads(1)
    state = processes(hours=6)
    settings, clf, out = model_settings(None), load_classifier(), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for _, c in my_share(kw["classes"], state):
        if (out/c/"rows.json").exists(): continue
        t0, cfg = time.time(), EraseConfig.for_model(settings)
        if a.quick:
            cfg = EraseConfig.for_model(settings,
                                        align_config=dict(steps=kw["steps"], anchor_images=1, anchor_steps=2))
        erase(load_world(), [c], config=cfg, out=out/c/"erase", progress=False)
        rows = {"original": dict(measure(load_world(), clf, c, kw["n"], kw["n_other"], kw["steps"]), error=None,
                                 rank=None),
                "erase (exact)": dict(measure(load_erased(load_world(), out/c/"erase"), clf, c, kw["n"], kw["n_other"],
                                              kw["steps"]), error=0.0, rank=None)}
        for r in [None] + kw["ranks"]:
            f = out/c/f"lora_{r or 'default'}.safetensors"
            rep = export_lora(load_world(), out/c/"erase", f, rank=r, overwrite=True)
            pipe = load_world()
            pipe.load_lora_weights(str(f))
            rows[f"rank {r}" if r else f"default (tol {DEFAULT_TOL})"] = dict(
                measure(pipe, clf, c, kw["n"], kw["n_other"], kw["steps"]), error=rep["max_error"], rank=rep["rank"])
        write_json(out/c/"rows.json", rows)
        print(f"[{state.process_index}] {c}: {time.time() - t0:.0f} s", flush=True)
    state.wait_for_everyone()
    if not state.is_main_process: return
    res = dict(settings=kw, tol=DEFAULT_TOL, classes={c: read_json(out/c/"rows.json") for c in kw["classes"]})
    write_json(out/"results.json", res)
    print(export_rank_table(res))

if __name__ == "__main__":
    main()
