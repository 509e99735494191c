"""Train the tiny world (realera.world.train.train_world) and print what each component reached and how long it took.

    # about 58 minutes on the 2-core machine (3,499 s measured); resumes from OUT.parts/ if interrupted
    python bench/train_world.py /tmp/world
    # write the embedded default model (parts kept in realera/assets/world.parts, git-ignored)
    python bench/train_world.py --ship
"""
import argparse, dataclasses, json
import torch
from realera.world.model import WORLD_DIR
from realera.world.train import train_world
from realera.world.parts import WorldConfig

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default=None)
    ap.add_argument("--ship", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    for f in dataclasses.fields(WorldConfig):
        if f.type in ("int", "float", int, float):
            ap.add_argument(f"--{f.name.replace('_', '-')}",
                            type=eval(str(f.type)) if isinstance(f.type, str) else f.type)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    out = WORLD_DIR if a.ship else a.out
    if out is None: ap.error("give an output folder, or --ship to write the embedded default")
    cfg = WorldConfig(**{f.name: getattr(a, f.name) for f in dataclasses.fields(WorldConfig)
                         if getattr(a, f.name, None) is not None})
    m = train_world(out, cfg)
    print(json.dumps(m, indent=1))
    print("| component | result | seconds |\n|---|---:|---:|")
    print(f"| CLIP | {m['clip']['zero_shot']:.1f}% zero-shot accuracy on drawings | {m['clip']['seconds']:.0f} |")
    print(f"| VAE | {m['vae']['psnr']:.1f} dB PSNR | {m['vae']['seconds']:.0f} |")
    print(f"| evaluator | {m['classifier']['accuracy']:.1f}% on drawings, {m['classifier']['accuracy_on_vae']:.1f}% "
          f"on VAE reconstructions | {m['classifier']['seconds']:.0f} |")
    print(f"| UNet | {m['generation_acc_mean']:.1f}% mean generation accuracy | {m['unet']['seconds']:.0f} |")
    print(f"| total | | {m['train_s']:.0f} |")
    print("per class:", ", ".join(f"{c} {v:.0f}" for c, v in m["generation_acc"].items()))

if __name__ == "__main__":
    main()
