"""What RealEra's closed form costs on the MM-DiT models (FLUX.1-dev, SD3.5-medium) at their real shapes, on one CPU
thread, with random weights and no download: Eq. 7's statistics accumulated from rows of the context's width (T5's
4096; the concept's tokens and every token after it, M mined neighbours, N beyond samples, the preserve prompts' tokens
at the pipeline's sequence length), the solve, and the product with `context_embedder`'s weight; the same for the
pooled text embedder; and T5-XXL's encoding of one prompt, estimated from one of its 24 identical blocks (the whole
encoder is 9.5 GB in bfloat16). The rows are random stand-ins for the encoders' outputs: the cost depends on their
count and width, not their values.

    python bench/mmdit.py                  # both models, 1 CPU thread (≈ 10 min on this machine)
    python bench/mmdit.py --arch flux --preserve 10
    python bench/mmdit.py --quick          # the smoke run the tests make
"""
import argparse, time

import torch

from realera.base import markdown_table
from realera.closed_form import ClosedFormFitter
from realera.core import MMDIT_CONTEXT, MMDIT_POOLED, context_layers, pooled_layer
from realera.testing_shapes import FLUX_DEV_TRANSFORMER_CONFIG, SD35_MEDIUM_TRANSFORMER_CONFIG, T5_XXL_CONFIG

# context rows per prompt: FLUX's T5 512 tokens; SD3's CLIP 77, then T5's 256
ARCH = {"flux": dict(seq=512), "sd3": dict(seq=77 + 256)}


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def text_inputs(arch: str):
    """The transformer with its real text inputs (`context_embedder`, the pooled text embedder) and none of its blocks:
    what the closed form reads and writes, at the real shapes, in a few hundred MB."""
    from diffusers import FluxTransformer2DModel, SD3Transformer2DModel
    torch.manual_seed(0)
    if arch == "flux": return FluxTransformer2DModel(**{**FLUX_DEV_TRANSFORMER_CONFIG, "num_layers": 0,
                                                       "num_single_layers": 0})
    return SD3Transformer2DModel(**{**SD35_MEDIUM_TRANSFORMER_CONFIG, "num_layers": 0, "dual_attention_layers": (),
                                    "pos_embed_max_size": 16, "sample_size": 16})


def closed_form_cost(arch: str, m: int, n: int, preserve: int, seq: int | None, concept_at: int = 4) -> dict:
    """Seconds of each stage of one concept's closed form on `arch`'s context and pooled layers (random rows of the
    real counts and widths)."""
    model, seq = text_inputs(arch), seq or ARCH[arch]["seq"]
    d, pd = context_layers(model)[MMDIT_CONTEXT].in_features, pooled_layer(model).in_features
    g = torch.Generator().manual_seed(0)
    rows = seq - concept_at                       # "subsequent": the concept's token and every one after it
    E, Es = torch.randn(rows * (1 + m), d, generator=g), torch.randn(rows * (1 + m), d, generator=g)
    P = torch.randn(rows * n + preserve * seq, d, generator=g)
    fit = ClosedFormFitter(d, 0.1)
    _, acc = timed(lambda: fit.update(E, Es, P))
    edit, solve = timed(lambda: fit.solve())
    _, prod = timed(lambda: edit.edited_weights(model))
    pfit = ClosedFormFitter(pd, 0.1).update(torch.randn(2, pd, generator=g), torch.randn(2, pd, generator=g),
                                            torch.randn(preserve, pd, generator=g))
    pedit, psolve = timed(lambda: pfit.solve(target="pooled"))
    new, pprod = timed(lambda: pedit.edited_weights(model))
    assert set(new) == {MMDIT_POOLED}
    return dict(rows_e=len(E), rows_p=len(P), accumulate=acc, solve=solve, product=prod, pooled=psolve + pprod)


def t5_prompt_seconds(seq: int) -> float:
    "T5-XXL's encoding of one prompt of `seq` tokens: one of its 24 identical blocks, timed, times 24 (bfloat16)."
    from transformers import T5Config
    from transformers.models.t5.modeling_t5 import T5Block
    cfg = T5Config(**T5_XXL_CONFIG)
    block = T5Block(cfg, has_relative_attention_bias=True).to(torch.bfloat16).eval()
    x = torch.randn(1, seq, cfg.d_model, dtype=torch.bfloat16)
    with torch.no_grad():
        block(x)
        _, s = timed(lambda: block(x))
    return s * cfg.num_layers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", choices=["flux", "sd3", "both"], default="both")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--preserve", type=int, default=100)
    ap.add_argument("--seq", type=int, default=None, help="context rows per prompt (default: the pipeline's)")
    ap.add_argument("--no-t5", action="store_true", help="skip the T5-XXL block timing")
    ap.add_argument("--quick", action="store_true", help="a smoke run: few rows, no T5 block")
    a = ap.parse_args()
    if a.quick: a.m, a.n, a.preserve, a.seq, a.no_t5 = 2, 2, 2, 16, True
    torch.set_num_threads(a.threads)
    rows = []
    for arch in (["flux", "sd3"] if a.arch == "both" else [a.arch]):
        c = closed_form_cost(arch, a.m, a.n, a.preserve, a.seq)
        t5 = "–" if a.no_t5 else f"{t5_prompt_seconds(a.seq or ARCH[arch]['seq'] - (77 if arch == 'sd3' else 0)):.1f}"
        rows.append((arch, f"{c['rows_e']:,} / {c['rows_p']:,}", f"{c['accumulate']:.1f}", f"{c['solve']:.2f}",
                     f"{c['product']:.3f}", f"{c['pooled']:.3f}", t5))
    print(f"threads={a.threads} torch={torch.__version__}; one concept, M={a.m}, N={a.n}, {a.preserve} preserve "
          "prompts; random rows of width 4096")
    print(markdown_table(("model", "erase / preserve rows", "accumulate s", "solve s", "W·M s", "pooled solve s",
                          "T5-XXL s per prompt (est.)"), rows))


if __name__ == "__main__":
    main()
