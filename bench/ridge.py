"""How the ridge λ of the closed form trades erasure against drift (`realera.concept_edit.ridge_sweep`), on the tiny
pipeline and on the SD1.4-shaped CLIP-L text encoder (random weights, no download), with and without RealEra's samples.
Measured in text-embedding space: since W = W_org·M for every projection, each layer's key/value error is W_org times
these residuals. Ridge in units of the mean squared norm of the rows of E ∪ P.

    python bench/ridge.py            # CPU, about 20 s
"""
import argparse
import torch

from realera.concept_edit import DEFAULT_PRESERVE, HELD_OUT, RIDGE_GRID, ridge_sweep
from realera.core import make_generator
from realera.testing import tiny_pipeline, tiny_tokenizer
from realera.testing_shapes import clip_l14_text_encoder

class TextOnly:
    "What the closed form reads of a pipeline: tokenizer, text encoder, device."
    def __init__(self, tokenizer, text_encoder):
        self.tokenizer, self.text_encoder, self.device = tokenizer, text_encoder, text_encoder.device

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--concept", default="airplane")
    a = ap.parse_args()
    torch.set_num_threads(1)
    encoders = {"tiny (32-d)": tiny_pipeline(),
                "SD1.4-shaped CLIP-L (768-d, random)": TextOnly(tiny_tokenizer(), clip_l14_text_encoder())}
    print(f"concept {a.concept!r} -> anchor ''; lam1=0.1; default preserve list ({len(DEFAULT_PRESERVE)} prompts); "
          f"{len(HELD_OUT)} held-out prompts")
    print("| encoder | samples | ridge | erase residual | unseen-template residual | held-out drift | cond(B) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    with torch.no_grad():
        for name, pipe in encoders.items():
            for label, mine in (("pairs + preserve", False), ("+ mined + beyond", True)):
                for r in ridge_sweep(pipe, a.concept, ridges=RIDGE_GRID, mine=mine, beyond=mine,
                                     generator=make_generator(0)):
                    print(f"| {name} | {label} | {r['ridge']:g} | {r['erase_residual']:.4f} | "
                          f"{r['template_residual']:.4f} "
                          f"| {r['held_out_drift']:.4f} | {r['cond_B']:.1e} |")

if __name__ == "__main__":
    main()
