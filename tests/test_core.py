"Plumbing of realera.core and realera.testing: spans, encodings, loading, round trips."
import pytest, torch
from diffusers import StableDiffusionPipeline
from realera.core import cross_attention_projections, load_pipeline, make_generator
from realera.text import TokenSpan, concept_span, encode_prompts, tokenize
from realera.testing import tiny_pipeline, tiny_tokenizer

@pytest.mark.parametrize("prompt,concept,n", [("a portrait of Tom Cruise", "Tom Cruise", 2),
                                              ("An artwork by Van Gogh, oil", "van gogh", 2),
                                              ("Antonov An-225 Mriya taking off", "An-225", None),
                                              ("cat", "cat", 1)])
def test_span_finds_multi_token_concepts(prompt, concept, n):
    tok = tiny_tokenizer()
    span = concept_span(tok, prompt, concept)
    ids = tokenize(tok, prompt)[0]
    assert ids[span.start:span.stop].tolist() == tok(concept, add_special_tokens=False).input_ids
    if n: assert span.stop - span.start == n
    assert ids[span.eos] == tok.eos_token_id and span.length == 77
    assert span.positions("subsequent").tolist() == list(range(span.start, 77))

def test_span_first_occurrence_and_errors():
    tok = tiny_tokenizer()
    assert concept_span(tok, "a cat and a cat", "cat").start == 2
    with pytest.raises(ValueError, match="at most 77"): concept_span(tok, "a photo of the airplane " * 20, "airplane")
    with pytest.raises(ValueError, match="does not occur"): concept_span(tok, "a photo of cats", "cat")
    with pytest.raises(ValueError, match="non-empty"): concept_span(tok, "a photo", " ")
    with pytest.raises(ValueError, match="at most 77"): tokenize(tok, ["ok", "word " * 100])

def test_encode_shapes_and_dtypes(pipe):
    e = encode_prompts(pipe, ["a", "b", "c"])
    assert e.shape == (3, 77, 32) and e.dtype == torch.float32
    p16 = tiny_pipeline(dtype=torch.bfloat16)
    assert encode_prompts(p16, "a cat").dtype == torch.bfloat16
    torch.testing.assert_close(encode_prompts(p16, "a cat").float(), encode_prompts(pipe, "a cat"), atol=0.1,
                               rtol=0.05)

def test_tiny_pipeline_generates_and_is_deterministic(pipe):
    a = pipe("a photo of a cat", num_inference_steps=2, generator=make_generator(0), output_type="np").images
    b = pipe("a photo of a cat", num_inference_steps=2, generator=make_generator(0), output_type="np").images
    assert a.shape == (1, 32, 32, 3) and (a == b).all() and 0 <= a.min() and a.max() <= 1

def test_builds_leave_global_rng_alone():
    torch.manual_seed(123)
    x = torch.rand(1)
    torch.manual_seed(123)
    tiny_pipeline(seed=5)
    y = torch.rand(1)
    assert torch.equal(x, y)

def test_load_pipeline_default_and_local_round_trip(tmp_path, pipe, run_offline):
    from realera.world import load_world
    d = load_pipeline()   # the embedded default: the shipped world
    assert isinstance(d, StableDiffusionPipeline)
    assert torch.equal(encode_prompts(d, "a photo of a star"), encode_prompts(load_world(), "a photo of a star"))
    pipe.save_pretrained(tmp_path)
    # a fresh interpreter with the hub switched off loads the folder and generates the same image
    run_offline("import torch, numpy as np; from realera.core import load_pipeline, make_generator;"
                f"p = load_pipeline({str(tmp_path)!r}); p.set_progress_bar_config(disable=True);"
                "im = p('a photo of a cat', num_inference_steps=2, generator=make_generator(0), "
                "output_type='np').images;"
                f"np.save({str(tmp_path / 'im.npy')!r}, im)")
    import numpy as np
    again = np.load(tmp_path / "im.npy")
    ref = pipe("a photo of a cat", num_inference_steps=2, generator=make_generator(0), output_type="np").images
    assert np.array_equal(again, ref)

def test_load_pipeline_errors(tmp_path):
    with pytest.raises(ValueError, match="neither an existing local folder"): load_pipeline("no/such/thing")
    with pytest.raises(ValueError, match="no model_index.json"): load_pipeline(str(tmp_path))
    with pytest.raises(ValueError, match="dtype must be one of"): load_pipeline(dtype=torch.int32)

def test_attn2_projections_by_name(pipe):
    projs = cross_attention_projections(pipe.unet)
    named = dict(pipe.unet.named_modules())
    assert all(named[n] is m for n, m in projs.items())
    assert len(cross_attention_projections(pipe.unet, ("to_k",))) == len(projs) // 2
    with pytest.raises(ValueError, match="not cross-attention projections"):
        cross_attention_projections(pipe.unet, ("to_out",))

def test_token_policies():
    s = TokenSpan(start=4, stop=6, eos=7, length=77)
    assert s.positions("concept").tolist() == [4, 5]
    assert s.positions("all").tolist() == list(range(77))
