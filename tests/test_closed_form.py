"Dense checks of the closed-form edit (Eq. 7)."
import pytest, torch
from diffusers import UNet2DConditionModel
from realera.closed_form import ClosedFormEdit, ClosedFormFitter, load_edited_weights, solve_closed_form
from realera.concept_edit import closed_form_edit
from realera.core import cross_attention_projections, make_generator, text_encoder_fingerprint
from realera.text import concept_span, encode_prompts
from realera.testing import tiny_pipeline

def _objective(W, W0, E, Es, P, lam1, ridge):
    return (((W @ E.T - W0 @ Es.T) ** 2).sum() + lam1 * ((W @ P.T - W0 @ P.T) ** 2).sum() + ridge * (
        (W - W0) ** 2).sum())

@pytest.mark.parametrize("seed,d,n,p", [(0, 8, 3, 2), (1, 16, 40, 5), (2, 24, 10, 60), (3, 6, 1, 0)])
def test_matches_lstsq_and_is_a_minimum(seed, d, n, p):
    g = make_generator(seed)
    W0 = torch.randn(5, d, generator=g, dtype=torch.float64)
    E, Es, P = (torch.randn(k, d, generator=g, dtype=torch.float64) for k in (n, n, p))
    W = solve_closed_form(W0, E, Es, P if p else None, lam1=0.1, ridge=0.2, ridge_unit="abs")
    X = torch.cat([E, 0.1 ** 0.5 * P, 0.2 ** 0.5 * torch.eye(d, dtype=torch.float64)])
    Y = torch.cat([Es @ W0.T, 0.1 ** 0.5 * P @ W0.T, 0.2 ** 0.5 * W0.T])
    torch.testing.assert_close(W, torch.linalg.lstsq(X, Y).solution.T, atol=1e-9, rtol=1e-9)
    f = _objective(W, W0, E, Es, P, 0.1, 0.2)
    for _ in range(5):  # any perturbation raises the objective
        assert _objective(W + 1e-3 * torch.randn(W.shape, generator=g, dtype=torch.float64), W0, E, Es, P, 0.1,
                          0.2) > f

def test_list_of_weights_share_one_solve_and_keep_dtype():
    g = make_generator(0)
    Ws = [torch.randn(o, 12, generator=g).to(dt)
          for o, dt in ((3, torch.float32), (7, torch.float16), (5, torch.bfloat16))]
    E, Es = torch.randn(4, 12, generator=g), torch.randn(4, 12, generator=g)
    out = solve_closed_form(Ws, E, Es)
    assert [w.dtype for w in out] == [torch.float32, torch.float16, torch.bfloat16]
    assert [w.shape for w in out] == [w.shape for w in Ws]
    M = ClosedFormFitter(12).update(E, Es).solve().M
    torch.testing.assert_close(out[0], (Ws[0].double() @ M).float())

def test_relative_ridge_is_scale_free_and_equals_its_absolute_value():
    g = make_generator(0)
    E, Es, P = (torch.randn(k, 16, generator=g, dtype=torch.float64) for k in (5, 5, 9))
    fit = ClosedFormFitter(16, ridge=0.3).update(E, Es, P)
    mean_sq = torch.cat([E, P]).pow(2).sum(1).mean().item()
    assert fit.lam == pytest.approx(0.3 * mean_sq)
    edit = fit.solve()
    assert edit.settings["ridge_unit"] == "norm" and edit.settings["ridge_abs"] == pytest.approx(fit.lam)
    torch.testing.assert_close(edit.M,
                               ClosedFormFitter(16, ridge=fit.lam, ridge_unit="abs").update(E, Es, P).solve().M)
    for c in (1e-3, 50.0):   # embeddings of any scale: the same M in units of "norm", not in absolute units
        torch.testing.assert_close(ClosedFormFitter(16, ridge=0.3).update(c * E, c * Es, c * P).solve().M, edit.M)
    assert not torch.allclose(ClosedFormFitter(16, ridge=0.3, ridge_unit="abs").update(50 * E, 50 * Es,
                                                                                       50 * P).solve().M, edit.M)
    with pytest.raises(ValueError, match="ridge_unit must be one of"): ClosedFormFitter(16, ridge_unit="relative")
    with pytest.raises(ValueError, match="ridge must be >= 0"): ClosedFormFitter(16, ridge=-1.0)

def test_ridge_sweep_trades_erase_against_drift():
    from realera.concept_edit import ridge_sweep
    rows = ridge_sweep(tiny_pipeline(), "airplane", ridges=(1e-4, 1e-2, 1.0, 100.0), mine=False, beyond=False)
    assert [r["ridge"] for r in rows] == [1e-4, 1e-2, 1.0, 100.0]
    er, dr, cond = ([r[k] for r in rows] for k in ("erase_residual", "held_out_drift", "cond_B"))
    assert er[0] < 0.05 < er[-1]             # small ridge: erased; huge ridge: the edit barely moves anything
    assert dr[-1] < dr[0] and cond == sorted(cond, reverse=True)

def test_preserved_vectors_stay_put():
    g = make_generator(0)
    W0 = torch.randn(6, 32, generator=g, dtype=torch.float64)
    E, Es, P = (
        torch.randn(3, 32, generator=g, dtype=torch.float64),
        torch.randn(3, 32, generator=g, dtype=torch.float64),
        torch.randn(10, 32, generator=g, dtype=torch.float64),
    )
    # preservation dominates: P held, E mapped in the rest
    W = solve_closed_form(W0, E, Es, P, lam1=1e6, ridge=1e-6, ridge_unit="abs")
    torch.testing.assert_close(W @ P.T, W0 @ P.T, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(W @ E.T, W0 @ Es.T, atol=1e-3, rtol=1e-3)

def _tiny_unet(width, seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return UNet2DConditionModel(sample_size=8, block_out_channels=(32, 64), layers_per_block=1, norm_num_groups=8,
                                    down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
                                    cross_attention_dim=width, attention_head_dim=8)

@pytest.mark.parametrize("width", [768, 1024])
def test_sd1_and_sd2_text_widths(width):
    unet = _tiny_unet(width)
    g = make_generator(0)
    E, Es = torch.randn(20, width, generator=g) * 28, torch.randn(20, width, generator=g) * 28
    edit = ClosedFormFitter(width, ridge=1e-6).update(E, Es).solve()
    W = edit.edited_weights(unet)
    assert len(W) == len(cross_attention_projections(unet)) > 0
    for n, w in W.items():
        W0 = cross_attention_projections(unet)[n].weight.detach()
        torch.testing.assert_close((w.double() @ E.double().T), (W0.double() @ Es.double().T), atol=1e-3, rtol=1e-3)
    other = _tiny_unet(768 if width == 1024 else 1024)
    with pytest.raises(ValueError, match=f"text width {width}"): edit.edited_weights(other)

def test_half_precision_unet_is_cast_back():
    pipe = tiny_pipeline()
    edit = closed_form_edit(pipe, ["cat"], generator=make_generator(0))
    p16 = tiny_pipeline(dtype=torch.float16)
    edit.apply(p16)
    assert all(m.weight.dtype == torch.float16 for m in cross_attention_projections(p16.unet).values())

def test_multi_concept_one_solve_and_errors():
    pipe = tiny_pipeline()
    edit = closed_form_edit(pipe, ["cat", "dog"], anchors=["an animal", "an animal"], preserve=[], mine=False,
                            beyond=False, ridge=1e-5)
    assert edit.settings["concepts"] == ["cat", "dog"]
    W0 = {n: m.weight.detach().clone() for n, m in cross_attention_projections(pipe.unet).items()}
    edit.apply(pipe)
    for c in ("cat", "dog"):
        e, es = encode_prompts(pipe, [c, "an animal"])
        pos = concept_span(pipe.tokenizer, c, c).positions()
        n, m = next(iter(cross_attention_projections(pipe.unet).items()))
        res = ((e[pos] @ m.weight.T - es[pos] @ W0[n].T).norm() / (es[pos] @ W0[n].T).norm()).item()
        assert res < 0.05, (c, res)
    with pytest.raises(ValueError, match="does not occur|at most 77"):
        closed_form_edit(pipe, ["cat " * 90])

def test_failed_apply_leaves_unet_untouched(tmp_path):
    pipe = tiny_pipeline()
    before = {n: w.clone() for n, w in pipe.unet.state_dict().items()}
    edit = closed_form_edit(tiny_pipeline(seed=5), ["cat"], generator=make_generator(0))   # another text encoder
    with pytest.raises(ValueError, match="computed with text encoder"): edit.apply(pipe)
    bad = {n: torch.full_like(w, float("nan")) for n, w in edit.edited_weights(pipe.unet).items()}
    with pytest.raises(ValueError, match="NaN"): load_edited_weights(pipe.unet, bad)
    some = dict(list(edit.edited_weights(pipe.unet).items())[:3])
    with pytest.raises(ValueError, match="missing"): load_edited_weights(pipe.unet, some)
    assert all(torch.equal(w, before[n]) for n, w in pipe.unet.state_dict().items())

def test_save_load_round_trip_is_bit_exact(tmp_path):
    pipe = tiny_pipeline()
    edit = closed_form_edit(pipe, ["airplane"], anchors=["the sky"], generator=make_generator(1))
    edit.save(tmp_path)
    back = ClosedFormEdit.load(tmp_path)
    assert torch.equal(back.M, edit.M) and back.fingerprint == edit.fingerprint == text_encoder_fingerprint(
        pipe.text_encoder)
    assert back.settings["anchors"] == ["the sky"] and back.settings["lam1"] == 0.1
    a, b = edit.apply(tiny_pipeline()), back.apply(tiny_pipeline())
    ia = a("a photo of the airplane", num_inference_steps=2, generator=make_generator(0), output_type="np").images
    ib = b("a photo of the airplane", num_inference_steps=2, generator=make_generator(0), output_type="np").images
    assert (ia == ib).all()
    assert (tmp_path / "closed_form.safetensors").stat().st_size < 40_000
    with pytest.raises(FileNotFoundError): ClosedFormEdit.load(tmp_path / "nope")

def test_fingerprint_ignores_precision_but_not_weights():
    assert text_encoder_fingerprint(tiny_pipeline().text_encoder) == text_encoder_fingerprint(tiny_pipeline(
        dtype=torch.float16).text_encoder)
    assert text_encoder_fingerprint(tiny_pipeline().text_encoder) != text_encoder_fingerprint(tiny_pipeline(
        seed=1).text_encoder)

def test_noise_prediction_of_preserved_prompt_changes_little():
    "On the UNet: the erased prompt's noise prediction moves towards the anchor's, a preserved prompt's stays put."
    pipe = tiny_pipeline()
    e_air, e_anchor, e_keep = encode_prompts(pipe, ["airplane", "", "a bowl of food"])
    z = torch.randn(1, 4, 16, 16, generator=make_generator(0))
    t = torch.tensor([500])
    eps = lambda e: pipe.unet(z, t, encoder_hidden_states=e[None]).sample
    with torch.no_grad():
        before = {k: eps(v) for k, v in dict(air=e_air, anchor=e_anchor, keep=e_keep).items()}
        closed_form_edit(pipe, ["airplane"], preserve=["a bowl of food"], mine=False, beyond=False).apply(pipe)
        after_air, after_keep = eps(e_air), eps(e_keep)
    rel = lambda a, b: ((a - b).norm() / b.norm()).item()
    assert rel(after_air, before["anchor"]) < 0.5 * rel(before["air"], before["anchor"])
    assert rel(after_keep, before["keep"]) < 0.5 * rel(before["air"], before["anchor"])
