"""Discovery (03_discover) and `erase --discover`: on the world, on tiny SD/SDXL pipelines, and through the command
line."""
import json
import pytest
import torch

from realera.discover import DISCOVERED, DiscoverConfig, discover, read_discoveries
from realera.erase import EraseConfig, erase
from realera.closed_form import ClosedFormEdit
from conftest import run_cli


def run(*args):
    return run_cli(*args)

def test_discovery_ranks_a_test_class_names_above_the_other_classes():
    "Ring (a test class) against every class's names: its own eight names fill the top of the model-response ranking."
    from realera.world.data import ANCHOR, CLASSES, general_names
    from realera.world.model import load_world
    torch.set_num_threads(1)
    every = [n for c in CLASSES for n in [c] + [n for _, n in general_names(c)]]
    own = {n for _, n in general_names("ring")}
    d = discover(load_world(), "ring", ANCHOR, every, config=DiscoverConfig(protect=False), progress=False)
    order = [r["text"] for r in d.ranked]
    assert len(order) == len(every) - 1
    top = order[:8]
    assert len(own & set(top)) >= 6, top                       # at least six of its eight names in the top eight
    mean_own = sum(order.index(n) for n in own) / len(own)
    mean_other = sum(i for i, t in enumerate(order) if t not in own) / (len(order) - len(own))
    assert mean_own < mean_other / 3, (mean_own, mean_other)

def test_protection_sets_aside_the_class_between(tmp_path):
    """A candidate that the model draws as a preserved class ('circle' while erasing 'ring') is set aside under that
    class."""
    from realera.world.data import ANCHOR
    from realera.world.model import load_world
    torch.set_num_threads(1)
    d = discover(load_world(), "ring", ANCHOR, ["bagel", "circle", "coin", "bangle"], preserve=["circle"],
                 progress=False)
    assert {r["text"]: r["nearer"] for r in d.protected}.get("circle") == "circle"
    assert "circle" not in d.top(10) and "bagel" in d.top(10)

@pytest.mark.parametrize("arch", ["sd", "sdxl"])
def test_erase_with_discover_on_tiny_pipelines(tmp_path, arch):
    from realera.testing import tiny_pipeline, tiny_sdxl_pipeline
    make = tiny_pipeline if arch == "sd" else tiny_sdxl_pipeline
    cfg = EraseConfig.variant("2", discover=2, align_config=dict(steps=2, anchor_images=1, anchor_steps=2),
                              discovery=dict(draws=2, images=1, steps=2))
    erase(make(), ["airplane"], config=cfg, out=tmp_path/"e", progress=False)
    found = read_discoveries(tmp_path/"e")[0]
    assert found.concept == "airplane" and found.criterion == "response" and found.source == "vocabulary"
    assert ClosedFormEdit.load(tmp_path/"e").settings["concepts"] == ["airplane"] + found.top(2)
    assert DISCOVERED in json.loads((tmp_path/"e"/"complete.json").read_text())["files"]
    # the same erase again: finished, loaded, not redone; the record is what it was
    before = (tmp_path/"e"/DISCOVERED).read_bytes()
    erase(make(), ["airplane"], config=cfg, out=tmp_path/"e", progress=False)
    assert (tmp_path/"e"/DISCOVERED).read_bytes() == before

def test_cli_discover_and_erase_discover_on_the_world(tmp_path):
    r = run("discover", "--concept", "ring", "--out", str(tmp_path/"d"), "--top", "5", "--quiet")
    assert r.returncode == 0, r.stderr[-2000:]
    rec = json.loads((tmp_path/"d"/DISCOVERED).read_text())
    assert rec["concept"] == "ring" and rec["criterion"] == "response" and rec["source"] == "vocabulary"
    scores = [x["score"] for x in rec["ranked"]]
    assert scores == sorted(scores, reverse=True) and len(r.stdout.strip().splitlines()) == 6
    r = run("discover", "--concept", "ring", "--out", str(tmp_path/"d"))
    assert r.returncode == 2 and "--overwrite" in r.stderr
    csv = tmp_path/"c.csv"
    csv.write_text("prompt\nbagel\ncar tire\nsquare\n")
    r = run("erase", "--concept", "ring", "--out", str(tmp_path/"e"), "--variant", "1", "--discover", "2",
            "--discover-candidates", str(csv), "--quiet")
    assert r.returncode == 0, r.stderr[-2000:]
    found = read_discoveries(tmp_path/"e")[0]
    assert found.source == str(csv) and len(found.top(2)) <= 2 and set(found.top(2)) <= {"bagel", "car tire"}

@pytest.mark.parametrize("args, message", [
    (["discover", "--concept", "ring", "--top", "0"], "--top must be an int >= 1"),
    (["discover", "--concept", "ring", "--criterion", "clip"], "criterion must be one of"),
    (["erase", "--concept", "ring", "--discover", "-1"], "discover must be an int >= 0"),
])
def test_bad_values_fail_before_the_model_loads(tmp_path, monkeypatch, capsys, args, message):
    import realera.cli as cli, realera.core, realera.runs
    for module in (realera.core, realera.runs):   # the commands load through realera.runs
        monkeypatch.setattr(module, "load_pipeline", lambda *a, **k: pytest.fail("the model loaded before the check"))
    assert cli.main(args + ["--out", str(tmp_path/"o")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path/"o"/DISCOVERED).exists()

@pytest.mark.parametrize("text, message", [("", "is empty"), ("id,text\n1,a\n", "none is named 'prompt'")])
def test_bad_candidates_file_fails_before_the_model_loads(tmp_path, monkeypatch, capsys, text, message):
    import realera.cli as cli, realera.core, realera.runs
    for module in (realera.core, realera.runs):   # the commands load through realera.runs
        monkeypatch.setattr(module, "load_pipeline", lambda *a, **k: pytest.fail("the model loaded before the check"))
    f = tmp_path/"c.csv"
    f.write_text(text)
    assert cli.main(["discover", "--concept", "ring", "--out", str(tmp_path/"o"), "--candidates", str(f)]) == 2
    assert message in capsys.readouterr().err
    assert cli.main(["erase", "--concept", "ring", "--out", str(tmp_path/"e"), "--discover", "2",
                     "--discover-candidates", str(f)]) == 2
    assert message in capsys.readouterr().err

def test_neighborhood_places_the_discovered_texts(tmp_path):
    out = tmp_path/"n.png"
    r = run("neighborhood", "--concept", "ring", "--prompt", "a photo of a ring", "--discover", "3", "--out", str(out),
            "--m", "8", "--n", "8")
    assert r.returncode == 0, r.stderr[-2000:]
    table = json.loads(out.with_suffix(".json").read_text())
    assert len(table["prompts"]) == 3 and all(p["prompt"].startswith("a photo of a ") for p in table["prompts"])
    assert "ring" not in {p["prompt"].removeprefix("a photo of a ") for p in table["prompts"]}

@pytest.mark.parametrize("rule", ["protect", "response"])
def test_model_aware_mining_through_erase(tmp_path, rule):
    """SamplingConfig.accept other than the paper's: the closed form takes the chosen neighbours (no more than M each)
    and solves."""
    from realera.testing import tiny_pipeline
    base = dict(mine=True, beyond=True, ridge_unit="abs", ridge=1e-3, discovery=dict(draws=2, images=1, steps=2))
    paper = EraseConfig.variant("1", **base, sampling=dict(m=4, n=4))
    aware = EraseConfig.variant("1", **base, sampling=dict(m=4, n=4, accept=rule, oversample=2))
    erase(tiny_pipeline(), ["a cat", "a dog"], config=paper, out=tmp_path/"p", progress=False)
    erase(tiny_pipeline(), ["a cat", "a dog"], config=aware, out=tmp_path/"a", progress=False)
    p, a = ClosedFormEdit.load(tmp_path/"p"), ClosedFormEdit.load(tmp_path/"a")
    assert a.settings["sampling"]["accept"] == rule and p.settings["sampling"]["accept"] == "cosine"
    assert a.settings["n_erase"] <= p.settings["n_erase"] and not torch.equal(a.M, p.M)
