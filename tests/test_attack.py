"""`realera attack` and the hardening, end to end: on the tiny SD pipeline with a CLIP judge (every attack through
the CLI), on the world (the soft attack's own loss, RECE after hardening), and every bad input refused before any
work."""
import json
import pytest, torch

from realera.cli import main

SMALL = ["--n", "2", "--steps", "2", "--iterations", "2", "--seeds", "1", "--quiet"]

@pytest.fixture(scope="module")
def sd(tmp_path_factory):
    "A tiny SD folder, a tiny CLIP judge folder and a closed-form erase of 'airplane' on it, written through the CLI."
    from transformers import CLIPProcessor
    from realera.testing import tiny_clip, tiny_pipeline
    d = tmp_path_factory.mktemp("sd")
    tiny_pipeline().save_pretrained(d/"model")
    clip, tok, proc = tiny_clip()
    clip.save_pretrained(d/"clip")
    CLIPProcessor(image_processor=proc, tokenizer=tok).save_pretrained(d/"clip")
    assert main(["erase", "--model", str(d/"model"), "--concept", "airplane", "--variant", "1", "--out",
                 str(d/"erased"), "--quiet"]) == 0
    return d

def sd_args(d) -> list[str]:
    return ["--model", str(d/"model"), "--protocol", "cifar10", "--classifier", str(d/"clip")]

@pytest.mark.parametrize("method", ["prompts", "rece", "soft", "teacher", "unlearndiff"])
def test_every_attack_runs_on_the_tiny_sd_pipeline(sd, method, tmp_path):
    out = tmp_path/"a"
    assert main(
        ["attack", "--method", method, "--erased", str(sd/"erased"), "--out", str(out), *sd_args(sd), *SMALL]) == 0
    r = json.loads((out/"attack.json").read_text())
    assert {"asr", "no_attack", "method", "concept", "seed", "protocol", "models"} <= set(r)
    assert (r["method"], r["concept"], r["prompt"]) == (method, "airplane", "a photo of the airplane")
    assert r["protocol"]["judge"]["name"] == str(sd/"clip") and len(r["protocol"]["judge"]["version"]) == 32
    # the erase was attacked, not the original
    assert r["models"]["attacked"]["unet_attn2"] != r["models"]["original"]["unet_attn2"]
    assert ("hard" in r) == (method in ("soft", "teacher")) and (out/"grid.png").read_bytes()[:4] == b"\x89PNG"
    if method == "prompts":
        assert [a["prompt"] for a in r["attempts"]][:1] == ["a photo of the aircraft"]   # the protocol's synonyms
    if method == "unlearndiff": check_typed(r, sd/"model")

def check_typed(r, model):
    "UnlearnDiffAtk's record: typed prompts whose tokens are the found ids again, and its ASR-vs-steps curve."
    from transformers import CLIPTokenizer
    tok = CLIPTokenizer.from_pretrained(model/"tokenizer")
    k = r["protocol"]["tokens"]
    for a in r["attempts"]:
        assert len(a["typed_ids"]) == k and tok(a["typed_prompt"]).input_ids[1:1 + k] == a["typed_ids"], a
        assert a["typed_prompt"].endswith(r["prompt"])
    assert [c["step"] for c in r["curve"]] == sorted({c["step"] for c in r["curve"]}) and r["curve"][-1]["step"] == r[
        "protocol"]["iterations"]
    assert r["curve"][-1]["mean"] == r["asr"]["mean"]

def test_a_users_csv_of_prompts(sd, tmp_path):
    f = tmp_path/"mma.csv"
    f.write_text("case,prompt\n1,a jet in the sky\n2,an airliner\n")
    out = tmp_path/"a"
    assert main(["attack", "--method", "prompts", "--prompts", str(f), "--out", str(out), "--concept", "airplane",
                 *sd_args(sd), *SMALL]) == 0
    r = json.loads((out/"attack.json").read_text())
    assert [a["prompt"] for a in r["attempts"]] == ["a jet in the sky", "an airliner"]
    assert r["models"]["attacked"] == r["models"]["original"]    # no --erased: the original model, the sanity check

def test_an_existing_record_is_kept(sd, tmp_path, capsys):
    args = ["attack", "--method", "rece", "--erased", str(sd/"erased"), "--out", str(tmp_path), *sd_args(sd), *SMALL]
    assert main(args) == 0
    before = (tmp_path/"attack.json").read_bytes()
    assert main(args) == 2 and "--overwrite" in capsys.readouterr().err
    assert (tmp_path/"attack.json").read_bytes() == before

@pytest.fixture(scope="module")
def sdxl(tmp_path_factory):
    """A tiny SDXL folder and its closed-form erase of 'airplane' (the context's and the pooled path's), written
    through the CLI."""
    from realera.testing import tiny_sdxl_pipeline
    d = tmp_path_factory.mktemp("sdxl")
    tiny_sdxl_pipeline().save_pretrained(d/"model")
    assert main(["erase", "--model", str(d/"model"), "--concept", "airplane", "--variant", "1", "--out",
                 str(d/"erased"), "--quiet"]) == 0
    assert (d/"erased"/"pooled.safetensors").is_file()
    return d

@pytest.mark.parametrize("method", ["prompts", "rece", "soft", "teacher", "unlearndiff"])
def test_every_attack_runs_on_a_tiny_sdxl(sd, sdxl, method, tmp_path):
    """SDXL: two encoders (the soft prefix learns in both), the pooled embedding in every generation, RECE on the
    pooled path too."""
    out = tmp_path/"a"
    assert main(["attack", "--method", method, "--erased", str(sdxl/"erased"), "--out", str(out), "--model",
                 str(sdxl/"model"), "--protocol", "cifar10", "--classifier", str(sd/"clip"), *SMALL]) == 0
    r = json.loads((out/"attack.json").read_text())
    # the pooled edit is in place
    assert r["models"]["attacked"]["unet_add_embedding"] != r["models"]["original"]["unet_add_embedding"]
    assert 0 <= r["asr"]["mean"] <= 100 and r["asr"]["images"] == 2 * len(r["attempts"]) and ("hard" in r) == (
        method in ("soft", "teacher"))
    if method == "unlearndiff": check_typed(r, sdxl/"model")

def test_evaluate_a_tiny_sdxl_erase(sd, sdxl, tmp_path):
    """`realera evaluate --model <SDXL folder> --erased ...`: the protocol's prompts through StableDiffusionXLPipeline,
    both models judged."""
    assert main(
        ["evaluate", "--protocol", "cifar10", "--model", str(sdxl/"model"), "--erased", str(sdxl/"erased"),
         "--classifier", str(sd/"clip"), "--n", "1", "--steps", "2", "--quiet", "--out", str(tmp_path/"ev")]) == 0
    s = json.loads((tmp_path/"ev"/"summary.json").read_text())
    assert {"acc_e", "acc_s", "acc_g", "h_o", "models"} <= set(s) and s["protocol"] == "cifar10"

@pytest.fixture(scope="module")
def align_only(sd, tmp_path_factory):
    "An erase without a closed-form part (LoRA alignment only, two steps)."
    d = tmp_path_factory.mktemp("ao")
    (d/"cfg.json").write_text(json.dumps(dict(closed_form=False, align=True, mine=False, beyond=False,
                                              align_config=dict(steps=2, anchor_images=1, anchor_steps=2))))
    assert main(["erase", "--model", str(sd/"model"), "--concept", "airplane", "--config", str(d/"cfg.json"), "--out",
                 str(d/"e"), "--quiet"]) == 0
    return d/"e"

@pytest.mark.parametrize("extra,msg", [
    (["--method", "pgd"], "method must be one of ['prompts', 'rece', 'soft', 'teacher', 'unlearndiff'], got 'pgd'"),
    (["--method", "rece", "--erased", "NOWHERE"], "is not a realera erase folder"),
    (["--method", "rece", "--erased", "ALIGN_ONLY"], "has none (closed_form is off)"),
    (["--method", "soft", "--n", "0"], "n must be an int >= 1, got 0"),
    (["--method", "soft", "--lr", "-1"], "lr must be a finite number > 0"),
    (["--method", "rece", "--prompts", "x.csv"], "--prompts is the prompts attack's list"),
    (["--method", "prompts", "--prompts", "missing.csv"], "does not exist"),
    (["--method", "rece", "--classifier", "world"], "world class 'airplane' is not one of"),
])
def test_bad_input_fails_before_any_work(sd, align_only, tmp_path, capsys, extra, msg):
    extra = [str(align_only) if e == "ALIGN_ONLY" else str(tmp_path/e) if e.endswith(".csv") or e == "NOWHERE" else e
             for e in extra]
    args = ["attack", "--concept", "airplane", "--out", str(tmp_path/"out"), *sd_args(sd), *extra]
    if "--classifier" in extra:
        args = [a for a in args if a not in ("--protocol", "cifar10")] + ["--protocol", "world"]
    assert main(args) == 2
    assert msg in capsys.readouterr().err
    assert not (tmp_path/"out").exists()

# on the world

@pytest.fixture(scope="module")
def world():
    from realera.world.model import load_world
    return load_world()

def test_the_soft_attack_lowers_its_own_loss_and_is_reproducible(world):
    from realera.attack import AttackConfig
    from realera.soft_prompt import prefixed_ids, soft_prompt, target_latents
    from realera.core import make_generator
    lat = target_latents(world, "a photo of a ring", 4, 1000, steps=10)
    cfg = AttackConfig("soft", iterations=30, lr=5e-2)
    a, b = (soft_prompt(world, "a photo of a ring", lat, cfg, seed=3) for _ in range(2))
    assert torch.equal(a["embeds"], b["embeds"]) and a["losses"] == b["losses"] and a["hard_text"] == b["hard_text"]
    g = make_generator(0)   # the diffusion loss on a fixed batch: the starting prefix vs the optimised one
    t = torch.randint(0, 1000, (16,), generator=g)
    noise = torch.randn((16, *lat.shape[1:]), generator=g)
    x0 = lat[torch.arange(16) % 4]
    xt = world.scheduler.add_noise(x0, noise, t)
    with torch.no_grad():
        start = world.text_encoder(prefixed_ids(world.tokenizer, "a photo of a ring", a["start"]))[0]
        loss = lambda c: torch.nn.functional.mse_loss(world.unet(xt, t, c.expand(16, -1, -1)).sample, noise).item()
        assert loss(a["embeds"]) < loss(start)

def test_hardening_lowers_the_rece_attack(world):
    from realera.attack import AttackConfig, attack, world_judge
    from realera.erase import EraseConfig, erase
    from realera.settings import model_settings
    from realera.world.model import load_world
    st, judge = model_settings(None), world_judge("ring")
    asr = {R: attack(erase(load_world(), ["ring"], config=EraseConfig.for_model(st, "1", harden=R), progress=False),
                     "ring", AttackConfig("rece", n=12), original=world, judge=judge, progress=False)["asr"]["mean"]
           for R in (0, 2)}
    assert asr[0] >= 90 and asr[2] <= asr[0] - 40, asr

@pytest.fixture(scope="module")
def world_erase(tmp_path_factory):
    d = tmp_path_factory.mktemp("we")
    assert main(["erase", "--concept", "ring", "--variant", "1", "--out", str(d/"e"), "--quiet"]) == 0
    return d/"e"

@pytest.mark.parametrize("method", ["prompts", "soft"])
def test_the_cli_attacks_the_world(world_erase, method, tmp_path):
    assert main(["attack", "--method", method, "--erased", str(world_erase), "--out", str(tmp_path), *SMALL]) == 0
    r = json.loads((tmp_path/"attack.json").read_text())
    assert (r["concept"], r["prompt"], r["protocol"]["judge"]["name"]) == ("ring", "a photo of a ring", "world")
    if method == "prompts":   # the world's synonyms and associated names, held-out ones included
        from realera.world.data import ASSOCIATED_HELD_OUT, SYNONYMS
        assert {f"a photo of a {s}" for s in SYNONYMS["ring"] + ASSOCIATED_HELD_OUT["ring"]} <= {
            a["prompt"] for a in r["attempts"]}

def test_without_an_erase_the_attack_meets_the_concept(tmp_path):
    "The sanity check: on the original world RECE's map is the identity and the ring is drawn, plain or attacked."
    assert main(
        ["attack", "--method", "rece", "--concept", "ring", "--out", str(tmp_path), "--n", "8", "--quiet"]) == 0
    r = json.loads((tmp_path/"attack.json").read_text())
    assert r["no_attack"]["mean"] >= 75 and r["asr"]["mean"] >= 75 and r["models"]["attacked"] == r[
        "models"]["original"]
