"""How fast the world draws images, by batch size, threads and processes (issue 32: what batching can still give the
world benchmark, whose cells spend their time drawing images: `bench/world_profile.py`).

Every process draws the same `--images` images of the ten classes' plain prompts (the benchmark's 20 steps, guidance
7.5, image k from seed k) in batches of each size in turn, all processes starting each size together; the main
process prints each size's images per second per process and summed over processes, and whether that size draws the
same 8-bit pixels as the first size (16 by default: the size the stored tables were drawn with).

    python bench/world_throughput.py                        # one process, one thread
    accelerate launch --multi_gpu --num_processes 2 --num_cpu_threads_per_process 1 bench/world_throughput.py
    python bench/world_throughput.py --threads 2            # one process, two threads
    python bench/world_throughput.py --quick                # the smoke run the tests make

(`--multi_gpu` is accelerate's name for "torchrun-style processes"; without CUDA each process runs on the CPU.)
"""
import argparse, time

import numpy as np
import torch

from realera.base import markdown_table, processes
from realera.core import make_generator
from realera.world.data import CLASSES
from realera.world.model import load_world

QUICK = dict(images=8, steps=2, batches=[4, 8])

def draw(pipe, prompts: list[str], batch: int, steps: int) -> np.ndarray:
    "Image k of `prompts` from seed k, `batch` per pipeline call, as 8-bit pixels (what a PNG keeps)."
    out = []
    for j in range(0, len(prompts), batch):
        ks = range(j, min(len(prompts), j + batch))
        out.append(pipe([prompts[k] for k in ks], num_inference_steps=steps, guidance_scale=7.5,
                        generator=[make_generator(k) for k in ks], output_type="np").images)
    return (np.concatenate(out) * 255).round().astype(np.uint8)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=96, help="images each process draws per batch size")
    ap.add_argument("--batches", type=int, nargs="+", default=[16, 32, 64])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process")
    ap.add_argument("--quick", action="store_true", help=f"a smoke run: {QUICK}")
    a = ap.parse_args()
    if a.quick: a.images, a.steps, a.batches = QUICK["images"], QUICK["steps"], QUICK["batches"]
    bad = [b for b in a.batches if b < 1] + ([a.images] if a.images < 1 else [])
    if bad: raise SystemExit(f"--batches and --images must be positive whole numbers, got {bad}")
    torch.set_num_threads(a.threads)
    state, t0 = processes(), time.time()
    pipe = load_world()
    pipe.set_progress_bar_config(disable=True)
    prompts = [f"a photo of a {CLASSES[k % len(CLASSES)]}" for k in range(a.images)]
    draw(pipe, prompts[:a.batches[0]], a.batches[0], a.steps)   # warm-up: the first call's allocations
    rates, ref, same = {}, None, {}
    for b in a.batches:
        state.wait_for_everyone()   # every process draws this size at the same time
        t = time.perf_counter()
        ims = draw(pipe, prompts, b, a.steps)
        rates[b] = a.images / (time.perf_counter() - t)
        ref = ims if ref is None else ref
        same[b] = int((ims != ref).any(-1).sum())   # pixels that differ from the first size's images
    if state.num_processes > 1:
        from accelerate.utils import gather_object
        every = gather_object([rates])
    else: every = [rates]
    if not state.is_main_process: return
    rows = [(b, " / ".join(f"{r[b]:.2f}" for r in every), f"{sum(r[b] for r in every):.2f}",
             "yes" if same[b] == 0 else f"no ({same[b]} of {ref.shape[0] * ref.shape[1] * ref.shape[2]} pixels)")
            for b in a.batches]
    print(f"world, {a.steps} steps, {a.images} images per process and size; {state.num_processes} process(es) x "
          f"{a.threads} thread(s); torch {torch.__version__}")
    print(markdown_table(("batch", "images/s per process", "images/s in all",
                          f"same 8-bit pixels as batch {a.batches[0]}"), rows))
    print(f"\nwall {time.time() - t0:.0f} s")

if __name__ == "__main__":
    main()
