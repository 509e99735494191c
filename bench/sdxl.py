"""SDXL and SD2.x: what an erase must do about SDXL's pooled path and its zero unconditional branch (measured on
tiny SDXL pipelines built from configs), and what the closed form costs at SD1.4, SD2.1 and SDXL-base shapes (random
weights).

    python bench/sdxl.py                 # both tables (CPU, one thread)
    python bench/sdxl.py --device cuda   # the cost table on a GPU (the tiny-model table runs on the CPU)
    python bench/sdxl.py --quick         # a smoke run (what CI runs)

1. Pooled path. For every seed (a differently initialised tiny SDXL) and concept: the closed form alone (variant 1)
   with the pooled edit off and on, and UCE (its 2023 recipe: K/V only, what its SDXL script edits); `concept_residue`
   (1: the concept's noise prediction untouched, 0: the anchor's) of the concept prompt with its own pooled embedding
   (what generation gives), with the anchor's (the K/V path alone), and the drift of held-out prompts (‖ε_erased −
   ε_orig‖ / ‖ε_orig − ε_orig('')‖). Mean and 95% bootstrap interval over seeds × concepts.
2. Zero unconditional branch: ‖ε('') − ε(0)‖ / ‖ε(concept) − ε(0)‖ on the original: how far the anchor '' (what an
   erased concept becomes) is from the zero context that SDXL's classifier-free guidance uses as its unconditional
   prediction.
3. Cost: accumulate the statistics of one concept with RealEra's row counts, one Cholesky solve, the products W M for
   every attn2.to_k/to_v (SDXL: also the pooled solve and add_embedding.linear_1's product), seconds.
"""
import argparse, time

import numpy as np
import torch
from torch import nn

from realera.base import synchronize
from realera.trajectory import noise_draws, unet_eps
from realera.baselines import uce_edit
from realera.closed_form import ClosedFormFitter
from realera.core import closed_form_layers, pooled_width
from realera.core import cross_attention_projections, is_sdxl, make_generator
from realera.text import encode_text
from realera.erase import EraseConfig, erase
from realera.fidelity import concept_residue
from realera.statistics import bootstrap_mean
from realera.sampling import SamplingConfig
from realera.testing import tiny_sdxl_pipeline
from realera.testing_shapes import sd14_unet, sd21_unet, sdxl_unet

CONCEPTS = ["airplane", "cat", "tom cruise", "van gogh"]
HELD_OUT = ["a red apple on a table", "a dog running on the beach", "a house in the forest", "a cup of coffee"]

def ci(v: list[float]) -> str:
    m, lo, hi = bootstrap_mean(np.asarray(v, float), np.arange(len(v)))
    return f"{m:.3f} [{lo:.3f}, {hi:.3f}]"

@torch.no_grad()
def drift(orig, model, prompts: list[str], n: int, seed: int = 0) -> float:
    "Mean over prompts and n random (z_t, t) of ‖ε_model(p) − ε_orig(p)‖ / ‖ε_orig(p) − ε_orig('')‖."
    ctx, pooled = encode_text(orig, prompts + [""])
    z, t = noise_draws(orig, n, seed)
    rep = lambda x: x.expand(n, *x.shape)
    e0 = unet_eps(orig, rep(ctx[-1]), rep(pooled[-1]), z, t)
    out = []
    for i in range(len(prompts)):
        eo, em = (unet_eps(m, rep(ctx[i]), rep(pooled[i]), z, t) for m in (orig, model))
        out.append(((em - eo).flatten(1).norm(dim=1) / (eo - e0).flatten(1).norm(dim=1)).mean().item())
    return float(np.mean(out))

@torch.no_grad()
def zero_gap(pipe, prompt: str, n: int, seed: int = 0) -> float:
    """‖ε('') − ε(0)‖ / ‖ε(prompt) − ε(0)‖ over n random (z_t, t): SDXL's unconditional branch is a zero context and
    pooled."""
    (c, a), (pc, pa) = encode_text(pipe, [prompt, ""])
    z, t = noise_draws(pipe, n, seed)
    rep = lambda x: x.expand(n, *x.shape)
    e0 = unet_eps(pipe, torch.zeros_like(rep(c)), torch.zeros_like(rep(pc)), z, t)
    ea, ec = unet_eps(pipe, rep(a), rep(pa), z, t), unet_eps(pipe, rep(c), rep(pc), z, t)
    return ((ea - e0).flatten(1).norm(dim=1) / (ec - e0).flatten(1).norm(dim=1)).mean().item()

def pooled_table(seeds: list[int], concepts: list[str], n: int):
    cols = {k: []
            for k in ("kv_prompt", "kv_anchor", "kvp_prompt", "kv_drift", "kvp_drift", "zero_gap", "uce_prompt",
                      "uce_anchor", "uce_drift")}
    for s in seeds:
        orig = tiny_sdxl_pipeline(seed=s)
        for c in concepts:
            kv = erase(tiny_sdxl_pipeline(seed=s), [c], config=EraseConfig.variant(1, pooled=False), progress=False)
            kvp = erase(tiny_sdxl_pipeline(seed=s), [c], config=EraseConfig.variant(1, pooled=True), progress=False)
            cols["kv_prompt"].append(concept_residue(orig, kv, c, n=n))
            cols["kv_anchor"].append(concept_residue(orig, kv, c, n=n, pooled="anchor"))
            cols["kvp_prompt"].append(concept_residue(orig, kvp, c, n=n))
            cols["kv_drift"].append(drift(orig, kv, HELD_OUT, n))
            cols["kvp_drift"].append(drift(orig, kvp, HELD_OUT, n))
            cols["zero_gap"].append(zero_gap(orig, c, n))
            # UCE's 2023 recipe: K/V only, as its SDXL script
            uce = uce_edit(tiny_sdxl_pipeline(seed=s), c).apply(tiny_sdxl_pipeline(seed=s))
            cols["uce_prompt"].append(concept_residue(orig, uce, c, n=n))
            cols["uce_anchor"].append(concept_residue(orig, uce, c, n=n, pooled="anchor"))
            cols["uce_drift"].append(drift(orig, uce, HELD_OUT, n))
    print(f"\n1. Pooled path, tiny SDXL ({len(seeds)} seeds × {len(concepts)} concepts, closed form only, {n} "
          "(z_t, t) each; "
          "mean [95% interval])\n")
    print("| erase | concept residue, its own pooled embedding ↓ | concept residue, anchor's pooled embedding | "
          "held-out drift ↓ |")
    print("|---|---|---|---|")
    print(f"| K/V only (pooled=False) | {ci(cols['kv_prompt'])} | {ci(cols['kv_anchor'])} | {ci(cols['kv_drift'])} |")
    print(f"| K/V + pooled edit (pooled=True) | {ci(cols['kvp_prompt'])} | – | {ci(cols['kvp_drift'])} |")
    print(f"| UCE (2023 recipe; K/V only) | {ci(cols['uce_prompt'])} | {ci(cols['uce_anchor'])} | "
          f"{ci(cols['uce_drift'])} |")
    d = np.array(cols["kv_prompt"]) - np.array(cols["kvp_prompt"])
    print(f"\npaired difference K/V only − K/V + pooled: {ci(list(d))}; pooled edit lower in {int((d > 0).sum())} "
          f"of {len(d)} pairs")
    print(f"\n2. Zero unconditional branch: ‖ε('') − ε(0)‖ / ‖ε(concept) − ε(0)‖ = {ci(cols['zero_gap'])}")
    return cols

def _materialize(unet: nn.Module, g: torch.Generator, device: str):
    "Random float32 weights for every layer a closed form edits (the rest of the UNet stays on the meta device)."
    layers = closed_form_layers(unet)
    for m in layers.values():
        m.weight = nn.Parameter(torch.randn(m.weight.shape, generator=g).mul_(m.in_features ** -0.5).to(device),
                                requires_grad=False)
    return layers


def cost_table(device: str, archs: dict):
    cfg = SamplingConfig()
    rows = {}
    for name, build in archs.items():
        unet = build(device="meta")
        g = make_generator(0)
        layers = _materialize(unet, g, device)
        projs = cross_attention_projections(unet)
        d = next(iter(projs.values())).in_features
        L = 76   # the concept token at position 1 and every position after it ("subsequent")
        E = torch.randn((1 + cfg.m) * L, d, generator=g).to(device)
        Es = torch.randn(E.shape, generator=g).to(device)
        P = torch.randn((cfg.n + 12) * L, d, generator=g).to(device)   # beyond samples + 12 preserve prompts
        t = {}
        synchronize(device)
        t0 = time.perf_counter()
        fit = ClosedFormFitter(d, 0.1, 1e-2, device=device).update(E, Es, P)
        synchronize(device)
        t["accumulate"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        edit = fit.solve()
        synchronize(device)
        t["solve"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        edit.edited_weights(unet)
        synchronize(device)
        t["products"] = time.perf_counter() - t0
        if is_sdxl(unet):
            p = pooled_width(unet)
            t0 = time.perf_counter()
            pf = ClosedFormFitter(p, 0.1, 1e-2, device=device).update(torch.randn(1, p, generator=g).to(device),
                                                                      torch.randn(1, p, generator=g).to(device),
                                                                      torch.randn(12, p, generator=g).to(device))
            pf.solve(target="pooled").edited_weights(unet)
            synchronize(device)
            t["pooled edit"] = time.perf_counter() - t0
        rows[name] = dict(d=d, projections=len(projs), weights=sum(m.weight.numel() for m in projs.values()), **t)
        del unet, layers
    print(f"\n3. Closed form of one concept at real shapes, random weights ({device}, {torch.get_num_threads()} "
          "thread(s)), seconds\n")
    print("| model | context d | attn2 K/V | K/V weights | accumulate | solve | products W M | pooled edit | total |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        tot = r["accumulate"] + r["solve"] + r["products"] + r.get("pooled edit", 0)
        print(f"| {name} | {r['d']} | {r['projections']} | {r['weights'] / 1e6:.1f} M | {r['accumulate']:.2f} | "
              f"{r['solve']:.2f} | "
              f"{r['products']:.2f} | {r['pooled edit']:.2f} | {tot:.2f} |" if "pooled edit" in r else
              f"| {name} | {r['d']} | {r['projections']} | {r['weights'] / 1e6:.1f} M | {r['accumulate']:.2f} | "
              f"{r['solve']:.2f} | "
              f"{r['products']:.2f} | – | {tot:.2f} |")
    return rows

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--quick", action="store_true",
                    help="one seed, two concepts, 2 (z_t, t); the cost table at SD1.4 shape only")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.quick:
        pooled_table([0], CONCEPTS[:2], 2)
        cost_table(a.device, {"SD1.4": sd14_unet})
        return
    pooled_table(list(range(a.seeds)), CONCEPTS, a.n)
    cost_table(a.device, {"SD1.4": sd14_unet, "SD2.1": sd21_unet, "SDXL-base": sdxl_unet})

if __name__ == "__main__":
    main()
