"""How the RealEra settings the paper leaves open (D1, D2, S1, S2, M, N, lambda1, alignment length/rate) behave on the world:
The closed form alone (variant 1) and full RealEra with each setting on a few classes, side by side in one run. The world's defaults (the world's realera.json)
were chosen from this table.

    python bench/world_sweep.py                 # ~20 minutes on 1 thread (1,205 s measured; two --only halves in parallel: about half)
    python bench/world_sweep.py --only default wide --classes star
"""
import argparse, json, time
from pathlib import Path
import torch
from realera.benchmark import erasure_benchmark, method_average

FULL, CF = "RealEra (full)", "closed form (variant 1)"
P = dict(lam1=0.1)   # the sweep's base: the paper's lambda1, the world's default (its realera.json)
SETTINGS = {   # name: (method, EraseConfig overrides, preserve list)
    "variant 1, generic preserve": (CF, P, "generic"),
    "variant 1": (CF, P, "world"),
    "RealEra, generic preserve": (FULL, P, "generic"),
    "RealEra (lambda1 = 0.1, defaults)": (FULL, P, "world"),
    "narrow (d1 .15, s2 .98)": (FULL, dict(P, sampling=dict(d1=0.15, s2=0.98, d2=0.45)), "world"),
    "wide (d1 .5, s2 .9, d2 .8)": (FULL, dict(P, sampling=dict(d1=0.5, s2=0.9, d2=0.8)), "world"),
    "paper gamma (s1 .7, s2 .3)": (FULL, dict(P, sampling=dict(s1=0.7, s2=0.3, d1=1.1, d2=1.6)), "world"),
    "M = N = 64": (FULL, dict(P, sampling=dict(m=64, n=64)), "world"),
    "lambda1 = 1": (FULL, dict(lam1=1.0), "world"),
    "align 100 steps": (FULL, dict(P, align_config=dict(steps=100)), "world"),
    "align lr 3e-4": (FULL, dict(P, align_config=dict(lr=3e-4)), "world"),
}

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench-world-sweep"); ap.add_argument("--classes", nargs="+", default=["triangle", "stripes", "square", "diamond"])
    ap.add_argument("--only", nargs="*", default=None, help="setting names (prefixes) to run")
    ap.add_argument("--n", type=int, default=8); ap.add_argument("--n-other", type=int, default=3)
    a = ap.parse_args(); torch.set_num_threads(1)
    names = [k for k in SETTINGS if not a.only or any(k.startswith(o) for o in a.only)]
    t, rows = time.time(), []
    base = erasure_benchmark(Path(a.out)/"original", a.classes, ["original"], n=a.n, n_other=a.n_other, progress=False)
    rows.append(("original", method_average(base, "original"), 0.0))
    for i, k in enumerate(names):
        method, over, preserve = SETTINGS[k]
        res = erasure_benchmark(Path(a.out)/f"s{list(SETTINGS).index(k)}", a.classes, [method], n=a.n, n_other=a.n_other,
                                overrides=over, preserve=preserve, progress=False)
        rows.append((k, method_average(res, method), sum(res[c][method]["erase_s"] for c in res) / len(res)))
        print(k, {x: round(v, 1) for x, v in rows[-1][1].items()}, flush=True)
    print(f"\nRealEra / variant 1 on {a.classes}, n={a.n} per erased/general prompt, {a.n_other} per other class; averages over the classes\n")
    print("| setting | Acc_e ↓ | Acc_s ↑ | Acc_g ↓ | H_o ↑ | erase s |\n|---|---:|---:|---:|---:|---:|")
    for k, s, e in rows: print(f"| {k} | {s['acc_e']:.1f} | {s['acc_s']:.1f} | {s['acc_g']:.1f} | {s['h_o']:.1f} | {e:.1f} |")
    print(f"\nwall: {time.time() - t:.0f} s")

if __name__ == "__main__":
    main()
