"""One-file LoRA export (realera.export) and several concepts at once, on the embedded world, measured with its
evaluator: an erase of two classes in one call removes both and keeps the rest; two single erases exported as LoRA
files and loaded together with diffusers' own loader (two adapters) remove both; the kohya file's keys are what
kohya-format loaders read."""

import json

import pytest
from safetensors import safe_open

from realera.erase import EraseConfig, erase
from realera.export import export_lora
from realera.settings import model_settings
from realera.world.data import CLASSES
from realera.world.model import class_hits, load_classifier, load_world

ERASED = ["ring", "square"]
KEPT = [c for c in CLASSES if c not in ERASED]

@pytest.fixture(scope="module")
def rate():
    clf = load_classifier()
    def rate(pipe, cls: str, n: int = 8) -> float:
        "Percent of n images of 'a photo of a <cls>' (seeds 1000 ...) the world's evaluator labels <cls>."
        h = class_hits(pipe, clf, f"a photo of a {cls}", cls, n=n, steps=20, seed=1000)
        return 100 * sum(h) / n
    return rate

def _defaults(): return EraseConfig.for_model(model_settings(None))   # RealEra at the world's defaults
def _variant1(): return EraseConfig.for_model(model_settings(None), "1")

def _mean(d: dict, classes) -> float: return sum(d[c] for c in classes) / len(classes)

def _check(pipe, rate, original: dict, kept_drop: float):
    """Every erased class <= 25 %; the eight others on average within `kept_drop` points of the original (03a: what k =
    3 costs)."""
    got = {c: rate(pipe, c) for c in ERASED + KEPT}
    for c in ERASED: assert got[c] <= 25, (c, got)
    assert _mean(got, KEPT) >= _mean(original, KEPT) - kept_drop, (got, original)

@pytest.fixture(scope="module")
def original(rate):
    got = {c: rate(load_world(), c) for c in ERASED + KEPT}
    assert min(got[c] for c in ERASED) >= 75 and _mean(got, KEPT) >= 85, got   # the world draws them before any erase
    return got

def test_a_two_concept_erase_removes_both_and_keeps_the_rest(rate, original):
    _check(erase(load_world(), ERASED, config=_defaults(), progress=False), rate, original, kept_drop=25)

def test_two_exported_erases_compose_through_diffusers(tmp_path, rate, original):
    pipe = load_world()
    for c in ERASED:
        erase(load_world(), [c], config=_defaults(), out=tmp_path/c, progress=False)
        rep = export_lora(load_world(), tmp_path/c, tmp_path/f"{c}.safetensors")
        assert rep["max_error"] <= rep["tol"]
        pipe.load_lora_weights(str(tmp_path/f"{c}.safetensors"), adapter_name=c)
    pipe.set_adapters(ERASED, adapter_weights=[1.0, 1.0])
    _check(pipe, rate, original, kept_drop=35)   # composed closed forms ignore each other: a larger cost (03a)

def test_kohya_keys_are_what_kohya_loaders_read(tmp_path):
    erase(load_world(), ["ring"], config=_variant1(), out=tmp_path/"e", progress=False)
    rep = export_lora(load_world(), tmp_path/"e", tmp_path/"k.safetensors", rank=4, format="kohya")
    with safe_open(str(tmp_path/"k.safetensors"), "pt") as f:
        keys, meta = set(f.keys()), json.loads(f.metadata()["realera_export"])
        alphas = {float(f.get_tensor(k)) for k in keys if k.endswith(".alpha")}
    mods = {k.split(".")[0] for k in keys}
    assert all(m.startswith("lora_unet_") and "." not in m for m in mods) and len(mods) == rep["modules"] == 22
    assert all({f"{m}.lora_down.weight", f"{m}.lora_up.weight", f"{m}.alpha"} <= keys for m in mods)
    assert alphas == {4.0} and meta["rank"] == 4 and meta["format"] == "kohya" and meta["tol"] is None
    pipe = load_world()
    pipe.load_lora_weights(str(tmp_path / "k.safetensors"))  # diffusers' kohya converter and loader
    wrapped = {n for n, m in pipe.unet.named_modules() if len(getattr(m, "lora_A", None) or {})}
    assert wrapped == {n for n, _ in load_world().unet.named_modules() if n.endswith(("attn2.to_k", "attn2.to_v"))}
