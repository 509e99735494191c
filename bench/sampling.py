"""Cost of the foundation pieces, printed as a table: tiny-pipeline build, prompt encoding, neighbor mining and
beyond sampling at SD1.x scale (a 72-token span of 768-d CLIP ViT-L/14 hidden states), and the UMAP view.

    python bench/sampling.py            # CPU, 1 thread
    python bench/sampling.py --device cuda
"""
import argparse, time
import torch

from realera.core import make_generator
from realera.text import concept_span, tokenize
from realera.sampling import SamplingConfig, beyond_prompts, neighbor_prompts
from realera.neighborhood import concept_neighborhood, plot_neighborhood
from realera.testing import tiny_pipeline, tiny_tokenizer
from realera.testing_shapes import clip_l14_text_encoder

def timed(fn, repeat=3):
    fn()  # warm-up
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return min(ts)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dev = a.device
    rows = []
    rows.append(("tiny_pipeline() build", "", timed(lambda: tiny_pipeline(0))))
    tok, enc = tiny_tokenizer(), clip_l14_text_encoder(device=dev)
    prompt = "a photo of the airplane"
    ids = tokenize(tok, [prompt, "a photo of the sky"]).to(dev)
    with torch.no_grad(): emb, anc = enc(ids)[0]
    pos = concept_span(tok, prompt, "airplane").positions()
    rows.append(("CLIP-L/14 encode 2 prompts", f"{len(pos)} span tokens", timed(lambda: enc(ids))))
    for m in (16, 64, 256):
        cfg = SamplingConfig(m=m, n=m)
        g = make_generator(0, dev)
        t_nb = timed(lambda: neighbor_prompts(emb, pos, cfg, anchor=anc, generator=g))
        t_be = timed(lambda: beyond_prompts(emb, pos, cfg, generator=g))
        rows.append((f"neighbor_prompts M={m}", "d=768, default cfg", t_nb))
        rows.append((f"beyond_prompts N={m}", "d=768, default cfg", t_be))
    pipe = tiny_pipeline(0)
    nbh = concept_neighborhood(pipe, prompt, "airplane", generator=make_generator(0))
    import matplotlib
    matplotlib.use("Agg")
    rows.append(("plot_neighborhood (UMAP, 4 prompts)", "tiny, 16+16 samples",
                 timed(lambda: plot_neighborhood(nbh, pipe, ["a photo of the aircraft", "a jet", "a cat", "a truck"]),
                       repeat=2)))
    print(f"device={dev} threads={a.threads} torch={torch.__version__}")
    print(f"| {'what':<38} | {'setting':<20} | {'seconds (best)':>14} |")
    print(f"|{'-'*40}|{'-'*22}|{'-'*16}|")
    for w, s, t in rows: print(f"| {w:<38} | {s:<20} | {t:>14.4f} |")

if __name__ == "__main__":
    main()
