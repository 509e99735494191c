"""Does discovery find what the model draws as the concept? Recall of each class's synonyms and associated names on
the embedded world, by criterion and candidate source; the criterion is chosen on the tuning classes (trained names
only) and reported on the test classes (every kind, the held-out names included).

    python bench/discover.py                 # the world: 3 criteria x 2 candidate sources x 10 classes (a few minutes)
    python bench/discover.py --cost          # what discovery costs at SD1.4 shapes on one CPU thread (random weights)
    python bench/discover.py --cost --device cuda   # the same on a GPU in float16 (when one is lent)
    python bench/discover.py --quick         # two classes, kv and text only: the smoke run CI does

Candidates: `vocabulary` (the world tokenizer's whole-word tokens, 228) or `names` (a CSV holding every class's
name, synonyms and associated names: the ten classes' names are the distractors). A name counts as found in the top
K when, for `names`, the name itself is there; for `vocabulary`, one of its own word-final tokens that no other
class's name uses.
"""
import argparse, json, time
from pathlib import Path
import torch
from realera.methods import TEST_CLASSES, TUNING_CLASSES
from realera.discover import DiscoverConfig, discover
from realera.settings import model_settings, preserve_prompts
from realera.world.data import ANCHOR, CLASSES, general_names
from realera.world.model import load_world

KS = (10, 20, 50)

def name_tokens(tok, name: str) -> set[str]:
    "The word-final tokens of `name`, as the vocabulary candidates spell them."
    return {t[:-4] for t in tok.tokenize(name) if t.endswith("</w>")}

def distinct_tokens(tok) -> dict:
    "(class, name) → the tokens of the name that no other class's names use."
    owner = {}
    for c in CLASSES:
        for n in [c] + [n for _, n in general_names(c)]:
            for t in name_tokens(tok, n): owner.setdefault(t, set()).add(c)
    return {(c, n): {t for t in name_tokens(tok, n) if owner[t] == {c}} for c in CLASSES for _, n in general_names(c)}

def recall_rows(pipe, classes, criteria, sources, draws: int = 8) -> list[dict]:
    tok, st = pipe.tokenizer, model_settings(None)
    distinct = distinct_tokens(tok)
    every = [n for c in CLASSES for n in [c] + [n for _, n in general_names(c)]]
    rows = []
    for crit in criteria:
        for src in sources:
            for c in classes:
                t = time.time()
                d = discover(pipe, c, ANCHOR, None if src == "vocabulary" else every, preserve_prompts(st, [c]),
                             DiscoverConfig(criterion=crit, draws=draws), progress=False)
                order = [r["text"] for r in d.ranked]
                for kind, n in general_names(c):
                    want = {n} if src == "names" else distinct[(c, n)]
                    rank = min((order.index(w) for w in want if w in order), default=None)
                    rows.append(dict(criterion=crit, source=src, cls=c, kind=kind, name=n, rank=rank,
                                     seconds=time.time() - t))
    return rows

def table(rows, classes, kinds=None) -> list[str]:
    out = []
    for crit in dict.fromkeys(r["criterion"] for r in rows):
        for src in dict.fromkeys(r["source"] for r in rows):
            sel = [r for r in rows
                   if r["criterion"] == crit and r["source"] == src and r["cls"] in classes and (kinds is None or r[
                "kind"] in kinds)]
            if not sel: continue
            rec = [100 * sum(r["rank"] is not None and r["rank"] < k for r in sel) / len(sel) for k in KS]
            held = [r for r in sel if r["kind"] == "associated (held out)"]
            h20 = 100 * sum(r["rank"] is not None and r["rank"] < 20 for r in held) / len(held) if held else float(
                "nan")
            secs = sum({r["cls"]: r["seconds"] for r in sel}.values()) / len(classes)
            out.append(f"| {crit} | {src} | " + " | ".join(f"{x:.0f}" for x in rec) + f" | {h20:.0f} | {secs:.1f} |")
    return out

def cost(threads: int, device: str = "cpu"):
    """Discovery's stages at SD1.4 shapes (CLIP ViT-L/14, SD1.4 UNet, random weights) on `device` (cuda: float16),
    extrapolated to CLIP's vocabulary."""
    import sys
    sys.path.insert(0, str(Path(__file__).parent))
    from realera.testing_shapes import sd14_pipeline
    from realera.discover import _encode, _kv_dist, _response_dist, _eps_refs
    from realera.rece import kv_gram
    torch.set_num_threads(threads)
    cuda = device.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    pipe = sd14_pipeline(device=device, dtype=torch.float16 if cuda else torch.float32)
    texts = [f"word{i}" for i in range(512 if cuda else 128)]
    _encode(pipe, texts[:64], 64)
    sync()  # warm-up (kernels, allocator)
    t = time.time()
    X, _ = _encode(pipe, texts, 64)
    sync()
    enc = (time.time() - t) / len(texts)
    t = time.time()
    G = kv_gram(pipe.unet).float().cpu()
    _kv_dist(X, X[:2], G)
    kv = (time.time() - t) / len(texts)
    dt = pipe.unet.dtype
    z, ts = torch.randn(8, 4, 64, 64, device=device, dtype=dt), torch.tensor([500, 700] * 4, device=device)
    E = _eps_refs(pipe, X[:1].to(device, dt), None, z[:2], ts[:2])
    sync()
    n = 16 if cuda else 2
    t = time.time()
    _response_dist(pipe, X[:n].to(device, dt), None, E, z[:2], ts[:2], 8 if cuda else 4)
    sync()
    fwd = (time.time() - t) / (2 * n)
    V, P, K = 32_000, 1024, 8   # CLIP's whole-word tokens (about), the response prefilter, draws
    where = f"{torch.cuda.get_device_name()} float16" if cuda else f"{threads} CPU thread"
    print(f"| stage (SD1.4 shapes, {where}) | per item, s | for the vocabulary ({V:,} words, prefilter "
          f"{P}, {K} draws) |")
    print("|---|---|---|")
    print(f"| encode (77 tokens) | {enc:.4f} | {enc * V / 60:.1f} min |")
    print(f"| kv distance | {kv:.4f} | {kv * V / 60:.1f} min |")
    print(f"| UNet forward (response) | {fwd:.4f} | {fwd * P * K / 60:.1f} min |")
    print(f"| whole discovery | | {(enc * V + kv * V + fwd * P * K) / 60:.1f} min |")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--criteria", nargs="+", default=["response", "kv", "text"])
    ap.add_argument("--sources", nargs="+", default=["vocabulary", "names"])
    ap.add_argument("--draws", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None, help="also write every rank here")
    ap.add_argument("--device", default="cpu", help="--cost on this device (cuda: float16; `bench/gpu.py`'s GPU run)")
    ap.add_argument("--cost", action="store_true")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.cost: return cost(a.threads, a.device)
    classes = TUNING_CLASSES + TEST_CLASSES
    if a.quick: classes, a.criteria, a.draws = ["circle", "square"], ["kv", "text"], 2
    t = time.time()
    rows = recall_rows(load_world(), classes, a.criteria, a.sources, a.draws)
    if a.json: Path(a.json).write_text(json.dumps(rows, indent=1))
    head = ("| criterion | candidates | " + " | ".join(f"recall@{k}" for k in KS)
            + " | held-out associated @20 | s per class |\n|---|---|" + "---|" * (len(KS) + 2))
    tune = [c for c in classes if c in TUNING_CLASSES]
    print(f"Tuning classes {tune}, trained names only (what chooses the criterion):\n" + head)
    print("\n".join(table(rows, tune, kinds=("synonym", "associated"))))
    test = [c for c in classes if c in TEST_CLASSES]
    if test:
        print(
            f"\nTest classes {test}, every name (synonyms and associated, trained and held out):\n"
            + head
            + "\n"
            + "\n".join(table(rows, test))
        )
    print(f"\nwall: {time.time() - t:.0f} s")

if __name__ == "__main__":
    main()
