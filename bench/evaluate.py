"""One full evaluation pass (generation + classification) of the CIFAR-10 protocol, timed per 100 images.

    python bench/evaluate.py                                  # CPU: the embedded tiny pipeline + tiny CLIP
    # where a GPU is lent: SD1.4-shaped random pipeline (512 px) + CLIP ViT-L/14-shaped random classifier
    python bench/evaluate.py --scale sd14 --device cuda --dtype float16
"""
import argparse, tempfile, time
import torch

from realera.base import markdown_table
from realera.core import check_dtype
from realera.evaluate import run_protocol
from realera.protocols import cifar10_protocol
from realera.judges import CLIPClassifier
from realera.testing import tiny_clip, tiny_pipeline, tiny_tokenizer
from realera.testing_shapes import CLIP_L14_TEXT_CONFIG, sd14_pipeline

VIT_L14 = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16, image_size=224,
               patch_size=14)

def vit_l14_classifier(device):
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel
    tok = tiny_tokenizer()
    text = {**CLIP_L14_TEXT_CONFIG, "vocab_size": 49408, "bos_token_id": tok.bos_token_id,
            "eos_token_id": tok.eos_token_id}
    torch.manual_seed(0)
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=VIT_L14, projection_dim=768))
    return CLIPClassifier(model, tok, CLIPImageProcessor(), device)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", choices=["tiny", "sd14"], default="tiny")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dtype = check_dtype(a.dtype)
    if a.scale == "tiny":
        pipe, clf = tiny_pipeline(device=a.device, dtype=dtype), CLIPClassifier(*tiny_clip(device=a.device),
                                                                                device=a.device)
    else: pipe, clf = sd14_pipeline(device=a.device, dtype=dtype), vit_l14_classifier(a.device)
    proto = cifar10_protocol("airplane")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        s = run_protocol(proto, tmp, pipe, classifier=clf, n=a.n, steps=a.steps, batch_size=a.batch_size,
                         progress=False)
        t1 = time.perf_counter()
        # judging only: every image is on disk
        run_protocol(proto, tmp, None, classifier=clf, n=a.n, steps=a.steps)
        t2 = time.perf_counter()
    images, judge = s["images"], t2 - t1
    gen = (t1 - t0) - judge
    print(f"scale={a.scale} device={a.device} dtype={a.dtype} threads={a.threads} torch={torch.__version__}; "
          "cifar10 protocol, "
          f"{len(proto.prompts)} prompts x n={a.n} = {images} images, {a.steps} sampler steps, batch {a.batch_size}")
    stages = (("generation", gen), ("classification (CLIP zero-shot)", judge), ("full pass", t1 - t0))
    print(markdown_table(("stage", "seconds per 100 images", "images/s"),
                         [(name, f"{100 * t / images:.2f}", f"{images / t:.2f}") for name, t in stages]))

if __name__ == "__main__":
    main()
