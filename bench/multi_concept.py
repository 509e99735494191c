"""Many concepts at once: what the closed form costs at Stable Diffusion 1.4's shapes, and what erasing several
classes in one call does on the embedded world.

    python bench/multi_concept.py                       # SD1.4 shapes, one CPU thread: the three cost tables
    python bench/multi_concept.py --device cuda         # the same on a GPU
    python bench/multi_concept.py --quick               # the tables' smoke run on the tiny pipeline (what CI runs)
    python bench/multi_concept.py --encode              # the encoding stage: pair by pair vs concept_pairs
    accelerate launch --multi_gpu --num_processes 2 bench/multi_concept.py --world --out DIR   # the world's table
    # how λ1 grows with k (tuning classes)
    accelerate launch --multi_gpu --num_processes 2 bench/multi_concept.py --tune
    # k = 3, 4: paper vs model-aware neighbourhood
    accelerate launch --multi_gpu --num_processes 2 bench/multi_concept.py --neighbourhood
    # k = 3: what the aware erase's parts cost
    accelerate launch --multi_gpu --num_processes 2 bench/multi_concept.py --neighbourhood --ablation

Cost tables (random CLIP ViT-L/14 text encoder and SD1.4 UNet, no download; 32 `attn2.to_k/to_v`, 19.2 M weights):
1. the same vectors through UCE's solve as its code runs it (`baselines.uce_as_coded`: per layer, the sums, one float32
   inverse, one product) and through realera's (accumulate once, one float64 Cholesky solve, the products in float32):
   2 erase + 3 preserve vectors, and 1,000 + 5,000; the largest relative difference of the weights they give;
2. each method's own recipe for k = 1, 10, 100, 1,000 concepts (`--ks`), each k in a fresh process: UCE's 2025 script
   (guide '', the same 10 preserve prompts; each distinct prompt encoded once, one per call, as `uce_sd_erase.py`
   does) and realera's whole closed-form erase (the concept's tokens, 16 mined neighbours and 16 beyond samples of
   each, the preserve prompts), by default and with both fast options (`SamplingConfig(sampler="sized")`,
   `sums="float32"`); seconds per stage and the peak resident memory a stage adds (Linux: VmHWM, reset before each
   stage; mining, beyond samples and accumulation interleave per concept: their peak is given once); and the weights'
   error that float32 sums alone add (on the default's samples, up to 10 concepts). World table (--world): the test
   classes square, star and ring erased by RealEra in one call (λ1 scaled with the number of concepts, the default
   chosen on the tuning classes circle, cross, dots; and not scaled) vs the three single erases composed (each
   exported as a LoRA file, `realera.export`, and loaded together with diffusers); Acc_e of each erased class, Acc_s
   of the other seven, and the time; resumable from OUT.
"""
import argparse, json, re, time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from realera.base import markdown_table, my_share, processes, read_json, synchronize
from realera.baselines import UCE_RECIPES, uce_as_coded, uce_script_rows
from realera.closed_form import ClosedFormFitter
from realera.concept_edit import closed_form_fitter
from realera.core import cross_attention_projections, make_generator
from realera.text import concept_pairs, encode_distinct, encode_prompts
from realera.sampling import SamplingConfig

ADJ = "red blue green small big old young dark bright wooden".split()
NOUN = "cat dog bird horse ship truck car frog deer house".split()
MORE = "tiny huge striped spotted happy sleepy shiny rusty fluffy ancient".split()
# 1,000 distinct concepts: the 100 two-word ones first, then three words
CONCEPTS = [f"{a} {n}" for a in ADJ for n in NOUN] + [f"{m} {a} {n}" for m in MORE for a in ADJ for n in NOUN][:900]
PRESERVE = [f"a photo of a {n}" for n in "person city street river mountain forest beach room table sun".split()]


def _reset_peak(dev: str):
    if dev.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        return
    try: Path("/proc/self/clear_refs").write_text("5")   # Linux: resets VmHWM, the peak resident set
    except OSError: pass

def _peak_mib(dev: str) -> float:
    if dev.startswith("cuda"): return torch.cuda.max_memory_allocated() / 2**20
    m = re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text())
    return int(m.group(1)) / 1024 if m else float("nan")

def _rss_mib(dev: str) -> float:
    if dev.startswith("cuda"): return torch.cuda.memory_allocated() / 2**20
    m = re.search(r"VmRSS:\s+(\d+) kB", Path("/proc/self/status").read_text())
    return int(m.group(1)) / 1024 if m else float("nan")

class Stages:
    "Seconds and peak added memory (MiB) of named stages, each timed as `with stages('name'):`."
    def __init__(self, dev): self.dev, self.rows = dev, {}
    def __call__(self, name):
        st = self
        class _S:
            def __enter__(s):
                synchronize(st.dev)
                _reset_peak(st.dev)
                s.base = _rss_mib(st.dev)
                s.t = time.perf_counter()
            def __exit__(s, *exc):
                synchronize(st.dev)
                st.rows[name] = (time.perf_counter() - s.t, _peak_mib(st.dev) - s.base)
        return _S()
    @property
    def total(self) -> float: return sum(t for t, _ in self.rows.values())

def realera_solve(unet, E, Es, P, lam1, ridge, st: Stages) -> dict:
    with st("accumulate"): fit = ClosedFormFitter(E.shape[1], lam1, ridge, "abs", device=E.device).update(E, Es, P)
    with st("solve M"): edit = fit.solve()
    with st("W M products"): return edit.edited_weights(unet)

def same_vectors(pipe, n_erase: int, n_preserve: int, dev: str, g) -> dict:
    "UCE as coded and realera on the same random vectors (scaled like the encoder's rows)."
    d = pipe.text_encoder.config.hidden_size
    scale = encode_prompts(pipe, PRESERVE[:2]).norm(dim=-1).mean() / d ** 0.5
    C, G, P = (torch.randn(n, d, generator=g, device=dev) * scale for n in (n_erase, n_erase, n_preserve))
    es, ps, lam = 1.0, 1.0, 0.5
    uce = Stages(dev)
    with uce("UCE as coded"): w_uce = uce_as_coded(pipe.unet, C, G, P, es, ps, lam)
    ours = Stages(dev)
    w_ours = realera_solve(pipe.unet, C, G, P, ps / es, lam / es, ours)
    err = max(((w_ours[n].double() - w_uce[n].double()).norm() / w_uce[n].double().norm()).item() for n in w_uce)
    return dict(n_erase=n_erase, n_preserve=n_preserve, uce=uce.rows, realera=ours.rows,
                speedup=uce.total / ours.total, max_rel_diff=err)

SHAPES = "sd14", "tiny"
RECIPES = {   # realera's closed form as it runs by default (the stored tables' stream) and with both fast options
    "realera": dict(sampler="fixed", sums="float64"),
    "realera, fast": dict(sampler="sized", sums="float32"),
}

def cost_pipe(dev: str, shape: str):
    "A random CLIP ViT-L/14 text encoder and SD1.4 UNet (no download), or the tiny pipeline."
    from realera.testing import tiny_pipeline, tiny_tokenizer
    from realera.testing_shapes import clip_l14_text_encoder, sd14_unet
    if shape == "tiny": return tiny_pipeline(device=dev)
    return SimpleNamespace(tokenizer=tiny_tokenizer(), text_encoder=clip_l14_text_encoder(device=dev),
                           unet=sd14_unet(device=dev), device=torch.device(dev))

def uce_recipe(pipe, concepts: list[str], dev: str) -> dict:
    """UCE's 2025 script for `concepts` (guide '', the same preserve prompts as realera's): each distinct prompt
    encoded once, one per call, its last subject token; then the per-layer solve as its code runs it."""
    st, r = Stages(dev), UCE_RECIPES["2025"]
    with st("encode"): rows = uce_script_rows(pipe, concepts + [r.guide] + PRESERVE)
    with st("solve (per layer, as coded)"):
        uce_as_coded(pipe.unet, torch.stack([rows[c] for c in concepts]), torch.stack([rows[r.guide]] * len(concepts)),
                     torch.stack([rows[p] for p in PRESERVE]), r.erase_scale, 1.0, r.lam)
    return dict(rows=st.rows, vectors=len(concepts))

def realera_recipe(pipe, concepts: list[str], dev: str, sampler: str, sums: str, progress: bool) -> tuple:
    """realera's whole closed-form erase of `concepts` (anchor ''): encoding, mining, beyond samples, accumulation
    (seconds split inside `closed_form_fitter`; the loop's peak memory on its first stage), solve, products."""
    st, t = Stages(dev), {}
    with st("encode"):
        pairs = concept_pairs(pipe, concepts, [""] * len(concepts))
        enc = encode_distinct(pipe, PRESERVE)
    with st("mine"):   # mine, beyond and accumulate interleave per concept: their times split below
        fit = closed_form_fitter(pipe, pairs, PRESERVE, cfg=SamplingConfig(sampler=sampler), sums=sums, encoded=enc,
                                 generator=make_generator(0, dev), timings=t, progress=progress)
    mem = st.rows["mine"][1]
    st.rows.update({k: (t.get(k, 0.0), mem if k == "mine" else 0.0) for k in ("mine", "beyond", "accumulate")})
    with st("solve"): edit = fit.solve()
    with st("products"): w = edit.edited_weights(pipe.unet)
    return dict(rows=st.rows, erase_rows=fit.n_erase, preserve_rows=fit.n_preserve), fit, w

def recipes(k: int, dev: str, threads: int, shape: str = "sd14") -> dict:
    """Each method's own recipe for the first k concepts, in this process; realera's fast options' largest relative
    weight change against its default (the same stream is not drawn: the fast sampler's points differ)."""
    torch.set_num_threads(threads)
    pipe = cost_pipe(dev, shape)
    with torch.no_grad():
        realera_recipe(pipe, CONCEPTS[:1], dev, "fixed", "float64", False)   # warm-up
        out = dict(k=k, uce=uce_recipe(pipe, CONCEPTS[:k], dev))
        for name, opts in RECIPES.items(): out[name] = realera_recipe(pipe, CONCEPTS[:k], dev, **opts,
                                                                      progress=k >= 100)[0]
        # float32 sums on the default's own samples: the weights' error that precision alone adds
        _, fit64, w64 = realera_recipe(pipe, CONCEPTS[:min(k, 10)], dev, "fixed", "float64", False)
        _, fit32, w32 = realera_recipe(pipe, CONCEPTS[:min(k, 10)], dev, "fixed", "float32", False)
    out["float32_weight_error"] = max(((w32[n].double() - w64[n].double()).norm() /
                                       (w64[n].double() - _original(pipe, n)).norm()).item() for n in w64)
    return out

def _original(pipe, name: str) -> torch.Tensor:
    return cross_attention_projections(pipe.unet)[name.removesuffix(".weight")].weight.double()

def _fresh(k: int, dev: str, threads: int, shape: str) -> dict:
    "`recipes(k)` in a fresh process, so that each k's peak memory starts from a new interpreter."
    import subprocess, sys, tempfile
    with tempfile.TemporaryDirectory() as d:
        cmd = [sys.executable, __file__, "--one-k", str(k), "--device", dev, "--threads", str(threads),
               "--shape", shape, "--json", f"{d}/k.json"]
        subprocess.run(cmd, check=True)
        return read_json(f"{d}/k.json")

def _total(rows: dict) -> float: return sum(t for t, _ in rows.values())

def _fmt(rows: dict) -> str:
    return ", ".join(f"{n} {t:.2f}" for n, (t, _) in rows.items())

def recipe_table(res: list[dict]) -> str:
    out = []
    for r in res:
        u = r["uce"]
        out.append((f"{r['k']:,}", "UCE (2025 script)", f"{u['vectors']:,}", f"{_total(u['rows']):.2f}", "1.00",
                    _fmt(u["rows"]), f"{max(m for _, m in u['rows'].values()):.0f}"))
        for name in RECIPES:
            o = r[name]
            out.append((f"{r['k']:,}", name, f"{o['erase_rows']:,} + {o['preserve_rows']:,}",
                        f"{_total(o['rows']):.2f}", f"{_total(o['rows']) / _total(u['rows']):.2f}", _fmt(o["rows"]),
                        f"{max(m for _, m in o['rows'].values()):.0f}"))
    return markdown_table(("k", "method", "vectors (erase + preserve rows)", "total, s", "÷ UCE", "stages, s",
                           "peak added, MiB"), out)

def cost_tables(dev: str, threads: int, quick: bool = False, ks=None):
    torch.set_num_threads(threads)
    shape = "tiny" if quick else "sd14"
    pipe = cost_pipe(dev, shape)
    ks = ks or ((1, 2) if quick else (1, 10, 100, 1000))
    sets = ((2, 3), (20, 50)) if quick else ((2, 3), (1000, 5000))
    g = torch.Generator(device=dev).manual_seed(0)
    n_w = sum(p.weight.numel() for p in cross_attention_projections(pipe.unet).values())
    print(f"device={dev} threads={threads} torch={torch.__version__}; "
          f"{len(cross_attention_projections(pipe.unet))} projections, "
          f"{n_w / 1e6:.1f} M weights")
    with torch.no_grad():
        same_vectors(pipe, 2, 3, dev, g)   # warm-up
        print("\n1. The same vectors, UCE's solve as its code runs it vs realera's\n")
        print("| erase + preserve vectors | UCE as coded, s | realera, s | realera's stages | speed-up | max rel. "
              "weight difference |")
        print("|---|---|---|---|---|---|")
        res1 = [same_vectors(pipe, ne, npr, dev, g) for ne, npr in sets]
        for r in res1:
            print(f"| {r['n_erase']:,} + {r['n_preserve']:,} | {sum(t for t, _ in r['uce'].values()):.2f} | "
                  f"{sum(t for t, _ in r['realera'].values()):.2f} | {_fmt(r['realera'])} | {r['speedup']:.1f}x | "
                  f"{r['max_rel_diff']:.1e} |")
    del pipe
    print("\n2. Each method's own recipe for k concepts, each k in a fresh process (seconds per stage; the peak "
          "resident memory a stage adds, MiB)\n", flush=True)
    res2 = [_fresh(k, dev, threads, shape) for k in ks]
    print(recipe_table(res2))
    print("\nfloat32 sums alone (the default's samples, up to 10 concepts): largest relative weight error, "
          "‖ΔW₃₂ − ΔW₆₄‖ / ‖ΔW₆₄‖ over the projections: "
          + ", ".join(f"k = {r['k']:,}: {r['float32_weight_error']:.1e}" for r in res2))
    return dict(device=dev, threads=threads, torch=torch.__version__, same_vectors=res1, recipes=res2)

def encode_table(dev: str, threads: int, quick: bool = False) -> list:
    """realera's encoding of k concepts with the empty anchor, side by side in one process: pair by pair (one
    text-encoder call per concept, as before `encode_distinct`) and `concept_pairs` (each distinct prompt once, 64 per
    call); the embeddings must be identical."""
    from realera.text import concept_pair
    from realera.testing import tiny_pipeline, tiny_tokenizer
    from realera.testing_shapes import clip_l14_text_encoder, sd14_unet
    torch.set_num_threads(threads)
    if quick: pipe, ks = tiny_pipeline(device=dev), (1, 2)
    else:   # the UNet only says which model this is (SD1.x): on the meta device, no weights
        pipe = SimpleNamespace(tokenizer=tiny_tokenizer(), text_encoder=clip_l14_text_encoder(device=dev),
                               unet=sd14_unet(device="meta"), device=torch.device(dev))
        ks = (1, 10, 100)
    rows = []
    with torch.no_grad():
        concept_pairs(pipe, CONCEPTS[:2])   # warm-up
        for k in ks:
            t0 = time.perf_counter()
            one = [concept_pair(pipe, c, c, "") for c in CONCEPTS[:k]]
            synchronize(dev)
            t1 = time.perf_counter()
            many = concept_pairs(pipe, CONCEPTS[:k], [""] * k)
            synchronize(dev)
            t2 = time.perf_counter()
            same = all(torch.equal(a.e, b.e) and torch.equal(a.e_star, b.e_star) for a, b in zip(one, many))
            rows.append((k, f"{t1 - t0:.2f}", f"{t2 - t1:.2f}", f"{(t1 - t0) / (t2 - t1):.1f}x",
                         "identical" if same else "DIFFERENT"))
    print(f"device={dev} threads={threads} torch={torch.__version__}; realera's encoding of k concepts, anchor ''")
    print(markdown_table(("k", "pair by pair, s", "concept_pairs (each prompt once, batched), s", "speed-up",
                          "embeddings"), rows))
    return rows

WORLD_CLASSES = ["square", "star", "ring"]

def world_table(out: Path, n: int, n_other: int, steps: int):
    from realera.erase import EraseConfig, erase
    from realera.statistics import bootstrap_mean
    from realera.export import export_lora
    from realera.settings import model_settings
    from realera.world.data import CLASSES
    from realera.world.model import class_hits, load_classifier, load_world
    torch.set_num_threads(1)
    state = processes(hours=6)
    cfg = EraseConfig.for_model(model_settings(None))
    jobs = [("joint", WORLD_CLASSES, cfg),
            ("joint-unscaled", WORLD_CLASSES, EraseConfig.for_model(model_settings(None), lam1_scaling="none"))]
    jobs += [(f"single/{c}", [c], cfg) for c in WORLD_CLASSES]
    for _, (name, cs, cf) in my_share(jobs, state):
        if (out/name/"seconds.json").exists(): continue
        t0 = time.time()
        erase(load_world(), cs, config=cf, out=out/name, progress=False)
        # beside the erase: not one of its artifacts
        (out/name/"seconds.json").write_text(json.dumps(time.time() - t0))
    state.wait_for_everyone()
    if not state.is_main_process: return None
    from realera.artifacts import load_erased
    clf = load_classifier()
    def hits(pipe, cls, k):
        return np.array(class_hits(pipe, clf, f"a photo of a {cls}", cls, n=k, steps=steps, seed=1000), dtype=float)
    composed = load_world()
    for c in WORLD_CLASSES:
        f = out/"single"/f"{c}.safetensors"
        if not f.exists(): export_lora(load_world(), out/"single"/c, f)
        composed.load_lora_weights(str(f), adapter_name=c)
    composed.set_adapters(WORLD_CLASSES, adapter_weights=[1.0] * len(WORLD_CLASSES))
    models = {"original": load_world(), "one call (k = 3)": load_erased(load_world(), out/"joint"),
              "one call, λ1 not scaled with k": load_erased(load_world(), out/"joint-unscaled"),
              "three single erases, composed": composed}
    secs = {"original": None, "one call (k = 3)": read_json(out/"joint"/"seconds.json"),
            "one call, λ1 not scaled with k": read_json(out/"joint-unscaled"/"seconds.json"),
            "three single erases, composed": sum(read_json(out/"single"/c/"seconds.json") for c in WORLD_CLASSES)}
    others = [c for c in CLASSES if c not in WORLD_CLASSES]
    rows = {}
    for lab, pipe in models.items():
        e = {c: hits(pipe, c, n) for c in WORLD_CLASSES}
        s = [hits(pipe, c, n_other) for c in others]
        sv = np.concatenate(s)
        sg = np.concatenate([[i] * len(x) for i, x in enumerate(s)])
        rows[lab] = dict(acc_e={c: 100 * float(v.mean()) for c, v in e.items()}, acc_s=bootstrap_mean(100 * sv, sg),
                         seconds=secs[lab], acc_s_by_class={c: 100 * float(x.mean()) for c, x in zip(others, s)})
    print(f"\n3. The world: {', '.join(WORLD_CLASSES)} erased (RealEra, the world's defaults, one CPU "
          "thread per erase)\n")
    print(
        "| model | "
        + " | ".join(f"Acc_e {c} %" for c in WORLD_CLASSES)
        + " | Acc_s % (7 other classes) | "
        + " | ".join(others)
        + " | erase time |"
    )
    print("|---|" + "---|" * (len(WORLD_CLASSES) + len(others)) + "---|---|")
    for lab, r in rows.items():
        lo = r["acc_s"]
        print(
            f"| {lab} | "
            + " | ".join(f"{r['acc_e'][c]:.0f}" for c in WORLD_CLASSES)
            + f" | {lo[0]:.1f} [{lo[1]:.1f}, {lo[2]:.1f}] | "
            + " | ".join(f"{r['acc_s_by_class'][c]:.0f}" for c in others)
            + " | "
            + ("–" if r["seconds"] is None else f"{r['seconds'] / 60:.1f} min")
            + " |"
        )
    return dict(classes=WORLD_CLASSES, n=n, n_other=n_other, steps=steps, rows=rows)

TUNING_TRIPLE, LAM1_GRID = ["circle", "cross", "dots"], [0.1, 0.3, 0.9, 3.0]

def lam1_sweep(n: int, steps: int):
    """How λ1 should grow with k: three tuning classes erased in one call (λ1 as given) at each λ1 of the grid; Acc_e
    and Acc_s."""
    from realera.erase import EraseConfig, erase
    from realera.settings import model_settings
    from realera.world.data import CLASSES
    from realera.world.model import class_hits, load_classifier, load_world
    torch.set_num_threads(1)
    state, clf = processes(hours=6), load_classifier()
    rows = []
    for _, lam1 in my_share(LAM1_GRID, state):
        pipe = erase(load_world(), TUNING_TRIPLE,
                     config=EraseConfig.for_model(model_settings(None), lam1=lam1, lam1_scaling="none"),
                     progress=False)
        rate = {c: 100 * float(np.mean(class_hits(pipe, clf, f"a photo of a {c}", c, n=n, steps=steps, seed=1000)))
                for c in CLASSES}
        rows.append(dict(lam1=lam1, acc_e=sum(rate[c] for c in TUNING_TRIPLE) / 3,
                         acc_s=sum(v for c, v in rate.items() if c not in TUNING_TRIPLE) / 7, per_class=rate))
    if state.num_processes > 1:
        from accelerate.utils import gather_object
        rows = gather_object(rows)
    if not state.is_main_process: return None
    print(f"\nλ1 for {', '.join(TUNING_TRIPLE)} erased in one call (k = 3; {n} images per class)\n")
    print("| λ1 | λ1 / k | Acc_e % (3 erased) | Acc_s % (7 others) |\n|---|---|---|---|")
    for r in sorted(rows, key=lambda r: r["lam1"]):
        print(f"| {r['lam1']:g} | {r['lam1'] / 3:.3g} | {r['acc_e']:.1f} | {r['acc_s']:.1f} |")
    return dict(classes=TUNING_TRIPLE, rows=rows)

SETS = {"k = 3": ["square", "star", "ring"], "k = 4": ["circle", "star", "stripes", "checkerboard"]}

def neighbourhood_table(n: int, steps: int, ablation: bool = False):
    """Several classes erased in one call by the paper's RealEra (the world's realera.json), the closed form alone,
    and the closed form with the model-aware neighbourhood (--variant aware; 03_discover): Acc_e of the erased
    classes and Acc_s of every other class (`n` images each, seeds 1000…), with a 95% interval over images and
    classes. `ablation`: k = 3 only, the aware erase without its set-aside words, without its discovered words, with
    λ1 not scaled."""
    from accelerate.utils import gather_object
    from realera.erase import EraseConfig, erase
    from realera.statistics import bootstrap_mean
    from realera.settings import model_settings
    from realera.world.data import CLASSES
    from realera.world.model import class_hits, load_classifier, load_world
    torch.set_num_threads(1)
    st = model_settings(None)
    methods = {"original": None, "RealEra (paper, --variant full)": EraseConfig.for_model(st, "full"),
               "closed form (variant 1)": EraseConfig.for_model(st, "1"),
               "model-aware neighbourhood (--variant aware)": EraseConfig.for_model(st, "aware")}
    sets = SETS
    if ablation:
        sets = {"k = 3": SETS["k = 3"]}
        methods = {**{k: v for k, v in methods.items() if "RealEra" not in k},
                   "aware, no set-aside words (discover_protect 0)": EraseConfig.for_model(st, "aware",
                                                                                           discover_protect=0),
                   "aware, no discovered words (discover 0)": EraseConfig.for_model(st, "aware", discover=0),
                   "aware, λ1 not scaled with k": EraseConfig.for_model(st, "aware", lam1_scaling="none")}
    jobs = [(k, lab) for k in sets for lab in methods]
    state, clf = processes(hours=6), load_classifier()
    rows = []
    for _, (k, lab) in my_share(jobs, state):
        t0, pipe = time.time(), load_world()
        if methods[lab] is not None: erase(pipe, sets[k], config=methods[lab], progress=False)
        secs = time.time() - t0
        rate = {c: 100 * np.array(class_hits(pipe, clf, f"a photo of a {c}", c, n=n, steps=steps, seed=1000),
                                  dtype=float) for c in CLASSES}
        others = [c for c in CLASSES if c not in sets[k]]
        sv = np.concatenate([rate[c] for c in others])
        sg = np.concatenate([[i] * n for i in range(len(others))])
        rows.append(dict(set=k, method=lab, seconds=secs, acc_e=float(np.mean([rate[c].mean() for c in sets[k]])),
                         acc_s=bootstrap_mean(sv, sg), per_class={c: float(v.mean()) for c, v in rate.items()}))
    if state.num_processes > 1: rows = gather_object(rows)
    if not state.is_main_process: return None
    for k, cs in sets.items():
        others = [c for c in CLASSES if c not in cs]
        print(f"\n{', '.join(cs)} erased in one call ({k}; {n} images per class)\n")
        print("| method | Acc_e % (erased) | Acc_s % (others) | " + " | ".join(others) + " | erase s |")
        print("|---|---|---|" + "---|" * len(others) + "---|")
        for lab in methods:
            r = next(r for r in rows if r["set"] == k and r["method"] == lab)
            lo = r["acc_s"]
            print(
                f"| {lab} | {r['acc_e']:.1f} | {lo[0]:.1f} [{lo[1]:.1f}, {lo[2]:.1f}] | "
                + " | ".join(f"{r['per_class'][c]:.0f}" for c in others)
                + f" | {r['seconds']:.0f} |"
            )
    return dict(sets=sets, n=n, rows=rows)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--world", action="store_true", help="the world's table instead of the cost tables")
    ap.add_argument("--tune", action="store_true", help="the λ1 sweep on three tuning classes (how λ1 scales with k)")
    ap.add_argument(
        "--neighbourhood", action="store_true",
        help="k = 3 and 4 classes at once: the paper's RealEra, the closed form, the model-aware neighbourhood")
    ap.add_argument("--ablation", action="store_true",
                    help="with --neighbourhood: k = 3 only, the aware erase without each of its parts")
    ap.add_argument("--out", default="bench-multi")
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--n-other", type=int, default=10)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--quick", action="store_true", help="the cost tables on the tiny pipeline: a smoke run")
    ap.add_argument("--encode", action="store_true",
                    help="the encoding stage alone: pair by pair against concept_pairs, side by side")
    ap.add_argument("--ks", type=int, nargs="+", help="the recipes' concept counts (default 1 10 100 1000)")
    ap.add_argument("--one-k", type=int, help=argparse.SUPPRESS)   # one k's recipes in this process (--json)
    ap.add_argument("--shape", choices=SHAPES, default="sd14", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one_k:
        Path(a.json).write_text(json.dumps(recipes(a.one_k, a.device, a.threads, a.shape)))
        return
    res = (
        neighbourhood_table(a.n, a.steps, a.ablation)
        if a.neighbourhood
        else lam1_sweep(10, a.steps)
        if a.tune
        else world_table(Path(a.out), a.n, a.n_other, a.steps)
        if a.world
        else encode_table(a.device, a.threads, a.quick)
        if a.encode
        else cost_tables(a.device, a.threads, a.quick, a.ks)
    )
    if a.json and res is not None: Path(a.json).write_text(json.dumps(res, indent=1))

if __name__ == "__main__":
    main()
