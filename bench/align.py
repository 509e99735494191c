"""Noise alignment (Eq. 8-9) on the SD1.4-shaped UNet (random weights, no download): seconds per alignment step
(Eq. 8 steps and Eq. 9 steps separately), seconds per guided sampler step (the z_t cache), peak memory, and the
estimated time of the full default erase (EraseConfig(): 4 anchor images x 25 sampler steps, 200 alignment steps).

    python bench/align.py                                                   # CPU, 1 thread, ~3 minutes
    python bench/align.py --device cuda --dtype float16 --mixed-precision fp16 --steps 20   # where a GPU is lent
"""
import argparse, resource, time
import torch

from realera.base import markdown_table, synchronize
from realera.align import AlignConfig, AlignTask, add_lora, alignment_loss, kv_weights
from realera.trajectory import Trajectory
from realera.closed_form import ClosedFormFitter
from realera.core import check_dtype, make_generator
from realera.text import ConceptPair, concept_span, tokenize
from realera.erase import EraseConfig
from realera.testing import tiny_tokenizer
from realera.testing_shapes import clip_l14_text_encoder, sd14_unet


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--mixed-precision", default="no")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--gradient-checkpointing", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dev, dtype = a.device, check_dtype(a.dtype)
    full = EraseConfig()
    cfg = AlignConfig(mixed_precision=a.mixed_precision, gradient_checkpointing=a.gradient_checkpointing)
    tok, enc = tiny_tokenizer(), clip_l14_text_encoder(device=dev)
    unet = sd14_unet(device=dev, dtype=dtype)
    with torch.no_grad():
        e, es = enc(tokenize(tok, ["airplane", ""]).to(dev))[0]
    pos = concept_span(tok, "airplane", "airplane").positions()
    g = make_generator(0, dev)
    traj = Trajectory(torch.randn(2, 5, 4, 64, 64, generator=make_generator(0)),
                      torch.tensor([981, 741, 501, 261, 21]))
    task = AlignTask(ConceptPair("airplane", "airplane", "", "subsequent", pos, e.to(dtype), es.to(dtype)), traj)
    original = kv_weights(unet)
    t = time.perf_counter()   # the closed form of the full run: a handful of rows, one solve, 32 matmuls
    ClosedFormFitter(768).update(e[pos].float(), es[pos].float()).solve().edited_weights(unet)
    synchronize(dev)
    t_cf = time.perf_counter() - t
    params = add_lora(unet, cfg)
    if cfg.gradient_checkpointing: unet.enable_gradient_checkpointing()
    unet.train()
    opt = torch.optim.AdamW(params, lr=cfg.lr)
    times = {0: [], 1: []}
    for step in range(a.steps + 2):                      # the first two steps warm up
        synchronize(dev)
        t = time.perf_counter()
        loss, _ = alignment_loss(unet, original, task, step, 1, full.sampling, True, True, cfg.mixed_precision, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        synchronize(dev)
        if step >= 2: times[step % 2].append(time.perf_counter() - t)
    unet.eval()
    z, emb = torch.randn(2, 4, 64, 64, device=dev, dtype=dtype), torch.stack([e, es]).to(dtype)
    with torch.no_grad():                                # one guided sampler step = a batch-2 forward (cond + uncond)
        unet(z, torch.tensor([500, 500], device=dev), encoder_hidden_states=emb)
        synchronize(dev)
        t = time.perf_counter()
        unet(z, torch.tensor([500, 500], device=dev), encoder_hidden_states=emb)
        synchronize(dev)
        t_sample = time.perf_counter() - t
    t8, t9 = min(times[0]), min(times[1])
    n_img, n_steps = full.align_config.anchor_images, full.align_config.anchor_steps
    total = t_cf + n_img * n_steps * t_sample + full.align_config.steps / 2 * (t8 + t9)
    peak = (torch.cuda.max_memory_allocated() / 2**30 if dev.startswith("cuda")
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)
    print(f"device={dev} dtype={a.dtype} mixed_precision={a.mixed_precision} "
          f"gradient_checkpointing={a.gradient_checkpointing} "
          f"threads={a.threads} torch={torch.__version__}; SD1.4-shaped UNet, LoRA r={cfg.rank} on "
          f"{list(cfg.targets)}, "
          f"{sum(p.numel() for p in params) / 1e6:.2f} M trainable; batch 1")
    print(markdown_table(("what", "seconds"), [
        ("closed form (solve + 32 projections)", f"{t_cf:.3f}"),
        ("alignment step, Eq. 8 (1 student + 1 teacher forward)", f"{t8:.3f}"),
        ("alignment step, Eq. 9 (2 student + 2 teacher forwards, batched)", f"{t9:.3f}"),
        ("guided sampler step for the z_t cache", f"{t_sample:.3f}"),
        (f"estimated full default erase ({n_img}x{n_steps} cache steps + {full.align_config.steps} alignment steps)",
         f"{total:.1f}")]))
    print(f"peak memory ({'GPU allocated' if dev.startswith('cuda') else 'process RSS'}): {peak:.2f} GiB")

if __name__ == "__main__":
    main()
