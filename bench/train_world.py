"""Train the tiny world (realera.world.train_world) and print what each component reached and how long it took.

    python bench/train_world.py /tmp/world          # about 40 minutes on one CPU thread
    python bench/train_world.py --out realera/assets/world --ship   # write the embedded default model
"""
import argparse, dataclasses, json
import torch
from realera.world import WorldConfig, train_world, WORLD_DIR

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default=None); ap.add_argument("--ship", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    for f in dataclasses.fields(WorldConfig):
        if f.type in ("int", "float", int, float): ap.add_argument(f"--{f.name.replace('_', '-')}", type=eval(str(f.type)) if isinstance(f.type, str) else f.type)
    a = ap.parse_args(); torch.set_num_threads(a.threads)
    out = WORLD_DIR if a.ship else a.out
    if out is None: ap.error("give an output folder, or --ship to write the embedded default")
    cfg = WorldConfig(**{f.name: getattr(a, f.name) for f in dataclasses.fields(WorldConfig) if getattr(a, f.name, None) is not None})
    m = train_world(out, cfg)
    print(json.dumps(m, indent=1))
    print(f"| component | result | seconds |\n|---|---:|---:|\n| CLIP | – | {m['clip_s']:.0f} |\n| VAE | {m['vae_psnr']:.1f} dB PSNR | {m['vae_s']:.0f} |\n"
          f"| evaluator | {m['classifier_acc']:.1f}% | – |\n| UNet | {m['generation_acc_mean']:.1f}% mean generation accuracy | {m['unet_s']:.0f} |\n"
          f"| total | | {m['total_s']:.0f} |")

if __name__ == "__main__":
    main()
