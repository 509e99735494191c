"""The full RealEra erase of one concept on a Stable Diffusion 1.4-shaped model in float16 on CUDA (random weights, built
from configs: no download), stage by stage — encoding, the anchor's z_t cache, neighbour mining + the closed form, the
LoRA noise alignment — with seconds and peak GPU memory (`torch.cuda.max_memory_allocated`) per stage, then the closed
form for 100 concepts at once.

    python bench/gpu.py                    # on a machine with CUDA; the erase settings of the shipped t4 config
    python bench/gpu.py --config a100      # another shipped config (or a .yaml/.json file)
    python bench/gpu.py --arch sdxl        # the same at SDXL-base shapes (two text encoders, pooled path, 1024 px)
    python bench/gpu.py --tiny             # the script's plumbing on the tiny pipeline, CPU, a few steps (what CI runs)

Without a CUDA device (and without --tiny) it measures nothing and says so (exit code 1).
"""
import argparse, dataclasses, json, sys, time

import torch

from multi_concept import CONCEPTS   # the 100 two-word concepts of the CPU cost table (bench/ is on the path of a script run)

def sd14_pipeline(device, dtype):
    "An SD1.4-shaped StableDiffusionPipeline with random weights (CLIP ViT-L/14 text encoder, SD1.4 UNet and VAE shapes)."
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline
    from realera.testing import clip_l14_text_encoder, sd14_unet, tiny_tokenizer
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        vae = AutoencoderKL(down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
                            block_out_channels=[128, 256, 512, 512], layers_per_block=2, latent_channels=4, sample_size=512)
    sched = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False, set_alpha_to_one=False)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=clip_l14_text_encoder(), tokenizer=tiny_tokenizer(), unet=sd14_unet(),
                                   scheduler=sched, safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    return pipe.to(device, dtype)

def sdxl_pipeline(device, dtype):
    "An SDXL-base-shaped StableDiffusionXLPipeline with random weights (CLIP ViT-L/14 + OpenCLIP bigG encoders, SDXL UNet and VAE shapes)."
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline
    from realera.testing import bigg_text_encoder, clip_l14_text_encoder, sdxl_unet, tiny_tokenizer
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        vae = AutoencoderKL(down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4, scaling_factor=0.13025,
                            block_out_channels=[128, 256, 512, 512], layers_per_block=2, latent_channels=4, sample_size=1024)
    sched = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1, timestep_spacing="leading")
    pipe = StableDiffusionXLPipeline(vae=vae, text_encoder=clip_l14_text_encoder(device=device, dtype=dtype),
                                     text_encoder_2=bigg_text_encoder(device=device, dtype=dtype), tokenizer=tiny_tokenizer(),
                                     tokenizer_2=tiny_tokenizer(pad_token="!"), unet=sdxl_unet(device=device, dtype=dtype), scheduler=sched)
    return pipe.to(device, dtype)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="t4", help="a shipped EraseConfig (t4, a100) or a .yaml/.json file")
    ap.add_argument("--concept", default="red cat"); ap.add_argument("--k", type=int, default=100, help="concepts in the last stage")
    ap.add_argument("--arch", choices=["sd14", "sdxl"], default="sd14", help="SD1.4 or SDXL-base shapes")
    ap.add_argument("--tiny", action="store_true", help="the tiny pipeline on the CPU, a few steps: a smoke run of this script")
    ap.add_argument("--json", help="also write the figures here")
    a = ap.parse_args()
    from realera.align import AlignTask, add_lora, align_noise, anchor_trajectory, kv_weights, sdxl_time_ids
    from realera.closed_form import DEFAULT_PRESERVE, closed_form_fitter, pooled_fitter
    from realera.core import concept_pairs, is_sdxl, make_generator
    from realera.erase import EraseConfig
    cuda = torch.cuda.is_available()
    if not cuda and not a.tiny:
        sys.exit("bench/gpu.py: no CUDA device here, nothing measured. Run it on a machine with an NVIDIA GPU "
                 "(python bench/gpu.py); --tiny checks the script on the CPU.")
    cfg = EraseConfig.from_file(a.config)
    if a.tiny:
        from realera.testing import tiny_pipeline, tiny_sdxl_pipeline
        dev, dtype, pipe, k = "cpu", torch.float32, (tiny_sdxl_pipeline if a.arch == "sdxl" else tiny_pipeline)(), min(a.k, 3)
        cfg = dataclasses.replace(cfg, align_config=dataclasses.replace(cfg.align_config, steps=2, anchor_images=1, anchor_steps=2,
                                                                        mixed_precision="no", gradient_checkpointing=False))
    else: dev, dtype, pipe, k = "cuda", torch.float16, (sdxl_pipeline if a.arch == "sdxl" else sd14_pipeline)("cuda", torch.float16), a.k
    ac = cfg.align_config
    rows = {}
    def stage(name, fn):
        if cuda and dev == "cuda": torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
        t = time.perf_counter(); out = fn()
        if cuda and dev == "cuda": torch.cuda.synchronize()
        rows[name] = dict(seconds=time.perf_counter() - t,
                          peak_gib=torch.cuda.max_memory_allocated() / 2**30 if dev == "cuda" else None)
        return out
    g = make_generator(cfg.seed, dev)
    with torch.no_grad():
        pairs = stage("encode the concept and its anchor", lambda: concept_pairs(pipe, [a.concept], [""], cfg.policy))
        traj = stage(f"anchor z_t cache ({ac.anchor_images} images x {ac.anchor_steps} steps)",
                     lambda: anchor_trajectory(pipe, "", ac.anchor_images, ac.anchor_steps, ac.guidance_scale, generator=g, progress=False))
        original = kv_weights(pipe.unet)
        edit = stage("neighbour mining + closed form (Eq. 7)", lambda: closed_form_fitter(
            pipe, pairs, DEFAULT_PRESERVE, cfg=cfg.sampling, mine=cfg.mine, beyond=cfg.beyond, lam1=cfg.lam1, ridge=cfg.ridge,
            ridge_unit=cfg.ridge_unit, generator=g).solve())
        stage("apply W <- W M", lambda: edit.apply(pipe, check_fingerprint=False))
        if is_sdxl(pipe): stage("pooled path: Eq. 7 + apply", lambda: pooled_fitter(pipe, pairs, DEFAULT_PRESERVE, lam1=cfg.lam1, ridge=cfg.ridge,
                                                                                   ridge_unit=cfg.ridge_unit).solve(target="pooled").apply(pipe, check_fingerprint=False))
    add_lora(pipe.unet, ac, seed=cfg.seed)
    stage(f"noise alignment ({ac.steps} steps, LoRA rank {ac.rank}, {ac.mixed_precision} autocast)", lambda: align_noise(
        pipe.unet, original, [AlignTask(pairs[0], traj, sdxl_time_ids(pipe))], ac, cfg.sampling, mine=cfg.mine, beyond=cfg.beyond, seed=cfg.seed, progress=False))
    with torch.no_grad():
        many = stage(f"encode {k} concepts", lambda: concept_pairs(pipe, CONCEPTS[:k], [""] * k, cfg.policy))
        fit = stage(f"mining + closed form for {k} concepts", lambda: closed_form_fitter(
            pipe, many, DEFAULT_PRESERVE, cfg=cfg.sampling, lam1=cfg.lam1, ridge=cfg.ridge, ridge_unit=cfg.ridge_unit, generator=g).solve())
        stage(f"W M products for {k} concepts", lambda: fit.edited_weights(pipe.unet))
    name = torch.cuda.get_device_name() if dev == "cuda" else "CPU (--tiny)"
    shape = {"sd14": "SD1.4", "sdxl": "SDXL-base"}[a.arch]
    print(f"{name}; torch {torch.__version__}; {shape + '-shaped, float16' if dev == 'cuda' else 'tiny ' + shape + ' pipeline, float32'}; config {a.config}\n")
    print("| stage | seconds | peak GPU memory, GiB |\n|---|---|---|")
    for n, r in rows.items():
        print(f"| {n} | {r['seconds']:.2f} | {'–' if r['peak_gib'] is None else format(r['peak_gib'], '.2f')} |")
    one = sum(r["seconds"] for n, r in list(rows.items())[:6 if is_sdxl(pipe) else 5])
    print(f"\nthe erase of one concept: {one:.1f} s")
    if a.json: open(a.json, "w").write(json.dumps(dict(device=name, torch=torch.__version__, arch=a.arch, config=a.config, stages=rows), indent=1))

if __name__ == "__main__":
    main()
