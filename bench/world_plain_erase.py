"""The plain Python call on the embedded world, `erase(load_pipeline(), [concept])`, against the same call with
realera's generic SD preserve list (what the call gave before the model carried its settings) and the original
model, judged by the world's CNN on its own protocol (Acc_e, Acc_s, Acc_g, H_o), side by side in one run.

    python bench/world_plain_erase.py                   # star, 20 images per prompt: about 4 minutes on one thread
    python bench/world_plain_erase.py --concept ring --n 10
"""
import argparse, tempfile, time
import torch

from realera.concept_edit import DEFAULT_PRESERVE
from realera.core import load_pipeline
from realera.erase import erase
from realera.evaluate import run_protocol
from realera.protocols import world_protocol
from realera.judges import WorldClassifier

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--concept", default="star")
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    proto, clf = world_protocol(a.concept), WorldClassifier()
    runs = {
        "original": lambda: load_pipeline(),
        "erase(load_pipeline(), [c])": lambda: erase(load_pipeline(), [a.concept], progress=False),
        "... preserve=DEFAULT_PRESERVE (generic SD list)": lambda: erase(load_pipeline(), [a.concept],
                                                                         preserve=DEFAULT_PRESERVE, progress=False)}
    print(
        f"| {a.concept}, n = {a.n} | Acc_e ↓ | Acc_s ↑ | Acc_g ↓ | H_o ↑ | seconds |\n|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, make) in enumerate(runs.items()):
            t = time.time()
            s = run_protocol(proto, f"{tmp}/{i}", make(), classifier=clf, n=a.n, seed=a.seed, steps=20, batch_size=16,
                             progress=False)
            print(f"| {name} | {s['acc_e']:.1f} | {s['acc_s']:.1f} | {s['acc_g']:.1f} | {s['h_o']:.1f} | "
                  f"{time.time() - t:.0f} |", flush=True)
