"""Which modules the alignment's LoRA should wrap on FLUX and SD3 (issue 33, item 4), measured on tiny pipelines built
offline (`realera.testing`): each seed a differently initialised model, each concept erased by RealEra in full (the
closed form on `context_embedder` and the pooled text embedder, then the flow-matching alignment) with the LoRA on one
candidate set of modules, and by the closed form alone for reference; on FLUX also by UCE's FLUX script as it runs
(`baselines.uce_flux_edit`: the same two layers, guide '', no preserve prompts), the published baseline.

    python bench/mmdit_align.py              # FLUX and SD3, seeds 0-1, two concepts, 100 steps at lr 1e-4
    python bench/mmdit_align.py --archs flux --rows "closed form alone (variant 1)" "UCE (FLUX script)"
    python bench/mmdit_align.py --quick      # the smoke run the tests make

Two numbers per erase, over held-out (z_t, t) (the original's own trajectory of the anchor, drawn with another seed
than the alignment's):
- residue: ‖v_erased(concept) − v_orig(anchor)‖ / ‖v_orig(concept) − v_orig(anchor)‖ (1: the concept untouched, 0: the
  anchor's velocity), lower is better;
- drift of held-out prompts (none of them in the erase): ‖v_erased(p) − v_orig(p)‖ / ‖v_orig(p) − v_orig('')‖, lower is
  better.
Mean and 95 % bootstrap interval over seeds × concepts, and each row minus the default LoRA set (or, where `--rows`
leaves it out, minus the first row), paired.

The models are random, not trained: the table says what each set of modules *can* move in the same number of steps
(how much of the concept's velocity a LoRA there reaches, and what it disturbs on the way), not what an erase of a real
FLUX does to its images; the learning rate is ten times the paper's so that 100 steps show the differences.
"""
import argparse, time

import numpy as np
import torch

from realera.base import markdown_table
from realera.baselines import uce_flux_edit
from realera.config import LORA_TARGETS, MMDIT_LORA_TARGETS, EraseConfig
from realera.core import denoiser, make_generator, quiet_loading
from realera.erase import erase
from realera.statistics import bootstrap_mean
from realera.testing import tiny_flux_pipeline, tiny_sd3_pipeline
from realera.text import encode_text
from realera.trajectory import anchor_trajectory, predict

BUILD = {"flux": tiny_flux_pipeline, "sd3": tiny_sd3_pipeline}
# the first is the default (`AlignConfig.mmdit_targets`), the others are paired with it
TARGETS = {
    "text-stream attention (add_q/k/v_proj, to_add_out; default)": MMDIT_LORA_TARGETS,
    "image-stream attention (to_q/k/v, to_out.0; the UNet's names)": LORA_TARGETS,
    "both": LORA_TARGETS + MMDIT_LORA_TARGETS,
}
CONCEPTS = ["cat", "tom cruise"]
HELD_OUT = ["a photo of a horse", "a painting of a ship", "a truck on the road", "the sea at sun"]


def velocities(model, pipe, prompts, z, t, fixed) -> list[torch.Tensor]:
    "`model`'s velocity for each prompt at every held-out (z_t, t)."
    c, p = encode_text(pipe, prompts)
    with torch.no_grad():
        return [predict(model, z, t, c[i:i + 1].expand(len(z), -1, -1), p[i:i + 1], None, fixed).float()
                for i in range(len(prompts))]


def ratio(a, b, c, d) -> float:
    "mean over draws of ‖a − b‖ / ‖c − d‖"
    return ((a - b).flatten(1).norm(dim=1) / (c - d).flatten(1).norm(dim=1)).mean().item()


def measure(arch, seed, concept, anchor, erased, draws) -> dict:
    "Residue and held-out drift of `erased` against a fresh original."
    with quiet_loading(): orig = BUILD[arch](seed)
    z, t, fixed = draws
    o_c, o_a, o_e, *o_h = velocities(orig.transformer, orig, [concept, anchor, "", *HELD_OUT], z, t, fixed)
    x_c, *x_h = velocities(denoiser(erased), erased, [concept, *HELD_OUT], z, t, fixed)
    drift = np.mean([ratio(x, o, o, o_e) for x, o in zip(x_h, o_h)])
    return dict(residue=ratio(x_c, o_a, o_c, o_a), drift=float(drift))


CLOSED, UCE = "closed form alone (variant 1)", "UCE (FLUX script)"


def run(archs, seeds, concepts, steps, lr, n_draws, quick=False, only=None) -> dict:
    res = {}
    for arch in archs:
        for seed in seeds:
            with quiet_loading(): orig = BUILD[arch](seed)
            anchor = ""
            tr = anchor_trajectory(orig, anchor, 2, 2 if quick else 4, 3.5, make_generator(1000 + seed),
                                   progress=False)
            z, t = tr.draw(n_draws, make_generator(2000 + seed))
            draws = (z, t, tr.fixed)
            for concept in concepts:
                rows = {CLOSED: EraseConfig.variant("1"), **({UCE: None} if arch == "flux" else {})}
                for name, targets in TARGETS.items():
                    rows[name] = EraseConfig.variant("full", align_config=dict(
                        mmdit_targets=targets, steps=steps, lr=lr, anchor_images=1 if quick else 2,
                        anchor_steps=2 if quick else 4, log_every=max(1, steps // 2)), seed=seed)
                for label, cfg in rows.items():
                    if only and label not in only: continue
                    with quiet_loading(): pipe = BUILD[arch](seed)
                    t0 = time.perf_counter()
                    if cfg is None: pipe.transformer.load_state_dict(uce_flux_edit(pipe, concept), strict=False)
                    else: erase(pipe, concept, anchor, config=cfg, progress=False)
                    secs = time.perf_counter() - t0
                    m = measure(arch, seed, concept, anchor, pipe, draws)
                    lora = sum(p.numel() for n, p in denoiser(pipe).named_parameters() if "lora_" in n)
                    res.setdefault(arch, {}).setdefault(label, []).append(dict(seed=seed, concept=concept,
                                                                              seconds=secs, lora=lora, **m))
                    print(f"{arch} seed {seed} {concept!r} {label}: residue {m['residue']:.3f}, "
                          f"drift {m['drift']:.3f}, {secs:.1f} s", flush=True)
    return res


def table(res) -> str:
    fmt = lambda m: f"{m[0]:.3f} [{m[1]:.3f}, {m[2]:.3f}]"
    out = []
    for arch, rows in res.items():
        default = rows.get(next(iter(TARGETS))) or next(iter(rows.values()))
        for label, recs in rows.items():
            r = [x["residue"] for x in recs]
            d = [x["drift"] for x in recs]
            paired = lambda key: fmt(bootstrap_mean([x[key] - y[key] for x, y in zip(recs, default)]))
            out.append([arch.upper(), label, f"{recs[0]['lora']:,}", fmt(bootstrap_mean(r)), fmt(bootstrap_mean(d)),
                        paired("residue") if recs is not default else "–",
                        paired("drift") if recs is not default else "–",
                        f"{np.mean([x['seconds'] for x in recs]):.1f}"])
    return markdown_table(["model", "erase (LoRA on)", "LoRA parameters", "residue ↓", "held-out drift ↓",
                           "residue − default", "drift − default", "s per erase"], out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--archs", nargs="+", default=list(BUILD), choices=list(BUILD))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--draws", type=int, default=8, help="held-out (z_t, t) per model")
    ap.add_argument("--rows", nargs="+", default=None, help="only these rows (default: all)")
    ap.add_argument("--quick", action="store_true", help="one seed, one concept, 2 steps: the smoke run")
    a = ap.parse_args(argv)
    known = [CLOSED, UCE, *TARGETS]
    if a.rows and (bad := [r for r in a.rows if r not in known]): ap.error(f"unknown --rows {bad}; allowed: {known}")
    for k in ("steps", "draws"):
        if getattr(a, k) < 1: ap.error(f"--{k} must be at least 1, got {getattr(a, k)}")
    if not a.lr > 0: ap.error(f"--lr must be positive, got {a.lr}")
    torch.set_num_threads(1)
    t0 = time.time()
    if a.quick: res = run(a.archs, a.seeds[:1], CONCEPTS[:1], 2, a.lr, 2, quick=True, only=a.rows)
    else: res = run(a.archs, a.seeds, CONCEPTS, a.steps, a.lr, a.draws, only=a.rows)
    print(table(res))
    print(f"done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
