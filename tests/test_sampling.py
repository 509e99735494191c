"Dense checks of neighbor mining and beyond sampling (the notebook 01_sampling keeps the lessons)."
import pytest, torch
from scipy import stats
from realera.core import make_generator
from realera.config import SAMPLERS
from realera.sampling import (SamplingConfig, beyond_prompts, mine_neighbor_pairs, mine_neighbors, neighbor_prompts,
                              sample_beyond, _cos_floor)

each_sampler = pytest.mark.parametrize("sampler", SAMPLERS)   # 'fixed' (the stored tables' stream) and 'sized'

def _cos(p, e): return torch.nn.functional.cosine_similarity(p, e.expand_as(p), dim=-1)

@pytest.mark.parametrize("d,scale,d1,s1,s2",
                         [(768, 1.0, 10.0, 0.99, 0.95), (768, 1.0, 30.0, 1.0, -1.0), (32, 3.0, 8.0, 0.98, 0.6),
                          (32, 1.0, 2.0, 0.999, 0.3), (4, 1.0, 3.0, 0.9, 0.0)])
@each_sampler
def test_neighbors_satisfy_eqs_3_to_6(d, scale, d1, s1, s2, sampler):
    e = torch.randn(d, generator=make_generator(d)) * scale
    pts = mine_neighbors(e, 257, d1, s1, s2, generator=make_generator(1), sampler=sampler)
    assert pts.shape == (257, d)
    assert ((pts - e).norm(dim=-1) <= d1 * (1 + 1e-5)).all()
    c = _cos(pts, e)
    assert (c >= s2 - 1e-6).all() and (c <= s1 + 1e-6).all()

@each_sampler
def test_radii_uniform_when_window_does_not_bind(sampler):
    e = torch.randn(64, generator=make_generator(0))
    r = (mine_neighbors(e, 2000, 5.0, s1=1.0, s2=-1.0, generator=make_generator(3), sampler=sampler) - e).norm(dim=-1)
    assert stats.kstest(r.double().numpy(), stats.uniform(loc=0, scale=5.0).cdf).pvalue > 0.01
    # and a binding window changes the distribution: the KS test must be able to fail
    r2 = mine_neighbors(e, 2000, 5.0, s1=0.99, s2=-1.0, generator=make_generator(3), sampler=sampler)
    r2 = (r2 - e).norm(dim=-1)
    assert stats.kstest(r2.double().numpy(), stats.uniform(loc=0, scale=5.0).cdf).pvalue < 1e-6

@each_sampler
def test_directions_follow_eq_5(sampler):
    "eta points from e towards a N(0, I) draw: its mean component along e is -|e|/sqrt(d + |e|^2)."
    e = torch.randn(512, generator=make_generator(0)) * 2
    eta = mine_neighbors(e, 4000, 1.0, 1.0, -1.0, generator=make_generator(1), sampler=sampler) - e
    along = (torch.nn.functional.normalize(eta, dim=-1) @ torch.nn.functional.normalize(e, dim=0)).mean()
    expected = -e.norm() / (512 + e.norm() ** 2).sqrt()
    assert abs(along - expected) < 0.01

@each_sampler
def test_span_rows_are_independent_and_per_row_radii(sampler):
    e = torch.randn(7, 16, generator=make_generator(0)) * torch.arange(1, 8)[:, None]
    d1 = 0.4 * e.norm(dim=-1)
    pts = mine_neighbors(e, 50, d1, 0.999, 0.5, generator=make_generator(2), sampler=sampler)
    assert pts.shape == (50, 7, 16)
    assert ((pts - e).norm(dim=-1) <= d1 * (1 + 1e-5)).all()
    assert not torch.allclose(pts[:, 0] - e[0], pts[:, 1] - e[1])

def test_determinism_and_seeds():
    e = torch.randn(32, generator=make_generator(0))
    a = mine_neighbors(e, 20, 2.0, 0.99, 0.5, generator=make_generator(7))
    b = mine_neighbors(e, 20, 2.0, 0.99, 0.5, generator=make_generator(7))
    c = mine_neighbors(e, 20, 2.0, 0.99, 0.5, generator=make_generator(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(sample_beyond(e, 9, 2.0, 4.0, 0.9, generator=make_generator(1)),
                       sample_beyond(e, 9, 2.0, 4.0, 0.9, generator=make_generator(1)))

@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
@each_sampler
def test_dtypes_are_kept(dtype, sampler):
    e = torch.randn(5, 32, generator=make_generator(0)).to(dtype)
    pts = mine_neighbors(e, 6, 2.0, 0.999, 0.5, generator=make_generator(0), sampler=sampler)
    far = sample_beyond(e, 6, 2.0, 5.0, 0.9, generator=make_generator(0), sampler=sampler)
    assert pts.dtype == dtype and far.dtype == dtype and pts.shape == far.shape == (6, 5, 32)

@pytest.mark.parametrize("n", [1, 100, 1000])
@each_sampler
def test_beyond_constraints_and_counts(n, sampler):
    e = torch.randn(5, 32, generator=make_generator(0))
    far = sample_beyond(e, n, 3.0, 6.0, 0.8, generator=make_generator(4), sampler=sampler)
    r = (far - e).norm(dim=-1)
    assert far.shape == (n, 5, 32)
    assert (r >= 3.0 * (1 - 1e-5)).all() and (r < 6.0).all() and (_cos(far, e) < 0.8).all()

def test_zero_samples():
    e = torch.randn(8)
    assert mine_neighbors(e, 0, 1.0, 1.0, -1.0).shape == (0, 8)
    assert sample_beyond(e, 0, 1.0, 2.0, 0.9).shape == (0, 8)

@pytest.mark.parametrize("call,msg", [
    (lambda e: mine_neighbors(e, 3, 1.0, s1=0.2, s2=0.5), "s2=0.5 > s1=0.2"),
    (lambda e: mine_neighbors(e, 3, 1.0, s1=1.5, s2=0.5), "must lie in [-1, 1]"),
    (lambda e: mine_neighbors(e, 3, -0.1, 0.9, 0.5), "d1 must be finite and >= 0"),
    (lambda e: mine_neighbors(e, 3, float("nan"), 0.9, 0.5), "d1 must be finite"),
    (lambda e: mine_neighbors(e, 3, 0.1, s1=0.5, s2=0.2), "unreachable within d1"),
    (lambda e: mine_neighbors(e, 2.5, 1.0, 0.9, 0.5), "m must be an int"),
    (lambda e: mine_neighbors(e, 3, torch.ones(3), 0.9, 0.5), "one value per row"),
    (lambda e: sample_beyond(e, 3, 2.0, 1.0, 0.5), "must exceed d1"),
    (lambda e: sample_beyond(e, 3, 0.1, 0.2, 0.5), "unreachable below d2"),
    (lambda e: sample_beyond(e, -1, 0.1, 0.2, 0.5), "n must be an int"),
    (lambda e: mine_neighbors(e.long(), 3, 1.0, 0.9, 0.5), "floating tensor"),
    (lambda e: mine_neighbors(e[None, None], 3, 1.0, 0.9, 0.5), "shape (d,) or (k, d)"),
])
def test_infeasible_thresholds_raise(call, msg):
    e = torch.randn(16, generator=make_generator(0)) * 4
    with pytest.raises(ValueError, match=None) as err: call(e)
    assert msg in str(err.value)

@each_sampler
def test_bounded_tries_instead_of_looping_forever(sampler):
    e = torch.randn(768, generator=make_generator(0))
    with pytest.raises(ValueError, match="samples met the thresholds"):
        mine_neighbors(e, 10, 40.0, s1=0.9999, s2=0.9998, generator=make_generator(0), max_rounds=2, sampler=sampler)

def test_cos_floor_is_the_true_minimum():
    "Tangent directions reach _cos_floor; no direction goes below it."
    torch.manual_seed(0)
    e = torch.tensor([3.0, 0.0])
    rho = e.norm()
    for r in [0.5, 2.9, 3.0, 4.0, 9.0]:
        ang = torch.linspace(0, 2 * torch.pi, 20001)
        p = e + r * torch.stack([ang.cos(), ang.sin()], -1)
        assert abs(_cos(p, e).min() - _cos_floor(torch.tensor(r), rho)) < 1e-4

@each_sampler
def test_pairs_share_direction_and_anchor_radius(sampler):
    e, es = torch.randn(4, 64, generator=make_generator(0)), torch.randn(4, 64, generator=make_generator(1))
    nb, tg = mine_neighbor_pairs(e, es, 30, 2.0, 0.999, 0.3, 0.5, generator=make_generator(2), sampler=sampler)
    assert ((tg - es).norm(dim=-1) < 0.5).all()
    cos_dirs = torch.nn.functional.cosine_similarity(nb - e, tg - es, dim=-1)
    assert (cos_dirs > 0.999).all()
    with pytest.raises(ValueError, match="must match"):
        mine_neighbor_pairs(e, es[:2], 3, 2.0, 0.999, 0.3, 0.5)

def test_prompt_level_functions(pipe):
    from realera.text import encode_prompts, concept_span
    emb, anc = encode_prompts(pipe, ["a portrait of tom cruise", "a portrait of a man"])
    pos = concept_span(pipe.tokenizer, "a portrait of tom cruise", "tom cruise").positions()
    cfg = SamplingConfig(m=5, n=4)
    er, an = neighbor_prompts(emb, pos, cfg, anchor=anc, generator=make_generator(0))
    be = beyond_prompts(emb, pos, cfg, generator=make_generator(0))
    assert er.shape == an.shape == (5, 77, emb.shape[-1]) and be.shape == (4, 77, emb.shape[-1])
    keep = torch.ones(77, dtype=torch.bool)
    keep[pos] = False
    assert torch.equal(er[:, keep], emb[keep].expand(5, -1, -1)) and torch.equal(an[:, keep],
                                                                                 anc[keep].expand(5, -1, -1))
    rel = (er[:, pos] - emb[pos]).norm(dim=-1) / emb[pos].norm(dim=-1)
    assert (rel <= cfg.d1 * (1 + 1e-5)).all()
    with pytest.raises(ValueError, match="positions must be"):
        neighbor_prompts(emb, torch.tensor([80]), cfg)
    with pytest.raises(ValueError, match="one prompt embedding"):
        neighbor_prompts(emb[None], pos, cfg)

def test_absolute_radius_unit():
    cfg = SamplingConfig(d1=2.0, d2=4.0, radius_unit="absolute")
    rows = torch.randn(3, 8) * 10
    assert torch.equal(cfg.radii(rows, "d1"), torch.full((3,), 2.0))
    assert torch.allclose(SamplingConfig(d1=0.5).radii(rows, "d1"), 0.5 * rows.norm(dim=-1))

@each_sampler
def test_paper_gamma_preset_is_feasible(sampler):
    e = torch.randn(3, 768, generator=make_generator(0))
    cfg = SamplingConfig.paper_gamma(m=8, n=8)
    pts = mine_neighbors(e, cfg.m, cfg.radii(e, "d1"), cfg.s1, cfg.s2, generator=make_generator(0),
                         sampler=sampler)
    c = _cos(pts, e)
    assert (c >= 0.3).all() and (c <= 0.7).all()

def test_sampling_runs_on_the_tensor_device():
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    e = torch.randn(3, 32, device=dev)
    pts = mine_neighbors(e, 4, 2.0, 0.999, 0.5, generator=make_generator(0, dev))
    assert pts.device == e.device
