"""Closed-form edit of all 32 `attn2.to_k/to_v` of an SD1.4-shaped UNet (random weights, no download):
our shared solve (float64 statistics, one Cholesky, batched W_org @ M) against the per-layer formulation of
reference implementations (per projection: build both sums and `torch.inverse` the 768x768 matrix), side by side.

    python bench/closed_form.py                 # CPU, 1 thread
    python bench/closed_form.py --device cuda   # where a GPU is lent
"""
import argparse, resource, time
import torch

from realera.base import markdown_table, synchronize
from realera.baselines import uce_as_coded
from realera.closed_form import ClosedFormFitter
from realera.core import cross_attention_projections, make_generator
from realera.text import concept_span, tokenize
from realera.sampling import SamplingConfig, beyond_prompts, neighbor_prompts
from realera.testing import tiny_tokenizer
from realera.testing_shapes import clip_l14_text_encoder, sd14_unet


def shared(unet, projs, E, Es, P, lam1, ridge):
    "The library path: accumulate, one Cholesky solve, batched W_org @ M for every projection."
    return ClosedFormFitter(E.shape[1], lam1, ridge, "abs", device=E.device).update(E, Es, P).solve().edited_weights(
        unet)

def per_layer(unet, projs, E, Es, P, lam1, ridge):
    "UCE's solve as its code runs it (realera.baselines.uce_as_coded), with e_s = 1, p_s = lam1, λ = ridge."
    return uce_as_coded(unet, E, Es, P, 1.0, lam1, ridge)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--preserve", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dev = a.device
    tok, enc = tiny_tokenizer(), clip_l14_text_encoder(device=dev)
    unet = sd14_unet(device=dev)
    projs = cross_attention_projections(unet)
    g = make_generator(0, dev)
    with torch.no_grad():
        e, es = enc(tokenize(tok, ["airplane", ""]).to(dev))[0]
        pos = concept_span(tok, "airplane", "airplane").positions()
        cfg = SamplingConfig(m=a.m, n=a.n)
        nb, tg = neighbor_prompts(e, pos, cfg, anchor=es, generator=g)
        be = beyond_prompts(e, pos, cfg, generator=g)
        words = ["a photo of a", "a painting of a", "a drawing of a", "a close up of a"]
        things = ("cat dog bird horse ship truck car frog deer person city street river mountain forest beach "
                  "room table sun moon sky sea grass road field").split()
        prompts = [f"{w} {t}" for w in words for t in things][:a.preserve]
        pre = torch.cat([enc(tokenize(tok, prompts[i:i + 50]).to(dev))[0] for i in range(0, len(prompts), 50)])
    E = torch.cat([e[pos], nb[:, pos].flatten(0, 1)])
    Es = torch.cat([es[pos], tg[:, pos].flatten(0, 1)])
    P = torch.cat([pre[:, 1:].flatten(0, 1), be[:, pos].flatten(0, 1)])
    lam1 = 0.1
    # the default ridge, in absolute units
    ridge = ClosedFormFitter(E.shape[1], lam1, device=dev).update(E, Es, P).lam
    results = {}
    for name, fn in (("shared solve (ours)", shared), ("per-layer torch.inverse", per_layer)):
        fn(unet, projs, E, Es, P, lam1, ridge)
        synchronize(dev)
        ts = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            out = fn(unet, projs, E, Es, P, lam1, ridge)
            synchronize(dev)
            ts.append(time.perf_counter() - t)
        results[name] = (min(ts), out)
    ref, ours = results["per-layer torch.inverse"][1], results["shared solve (ours)"][1]
    err = max(((ours[n].double() - ref[n].double()).norm() / ref[n].double().norm()).item() for n in ref)
    peak = (torch.cuda.max_memory_allocated() / 2**30 if dev.startswith("cuda")
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)
    print(f"device={dev} threads={a.threads} torch={torch.__version__}; {len(projs)} projections; "
          f"|E|={len(E)} erase rows (M={a.m}), |P|={len(P)} preserve rows ({len(prompts)} prompts, N={a.n})")
    print(markdown_table(("method", f"seconds (best of {a.repeat})"),
                         [(name, f"{t:.4f}") for name, (t, _) in results.items()]))
    s, r = results["shared solve (ours)"][0], results["per-layer torch.inverse"][0]
    print(f"speed-up: {r / s:.1f}x   max relative difference of the edited weights: {err:.2e}   "
          f"peak memory ({'GPU allocated' if dev.startswith('cuda') else 'process RSS'}): {peak:.2f} GiB")

if __name__ == "__main__":
    main()
