"""Decoding (Chapter 7): the filters, sampling distributions, the KV cache, and transformers."""
import pytest
import torch
import torch.nn.functional as F

from groundup.attention import KVCache, LayerKVCache, MultiHeadAttention, cached_causal_mask, causal_mask
from groundup.generate import (generate, kv_cache_bytes, sample_next, supports_kv_cache, token_cost,
                               top_k_filter, top_p_filter)
from groundup.gpt import GPT, GPTConfig
from groundup.positions import POSITION_KINDS


def tiny(**kw) -> GPTConfig:
    base = dict(block_size=16, vocab_size=50, n_layer=2, n_head=2, n_embd=32)
    return GPTConfig(**{**base, **kw})


# ----------------------------------------------------------------------------- filters
def test_top_k_keeps_the_k_largest_and_ties_at_the_boundary():
    z = torch.tensor([[1.0, 4.0, 3.0, 2.0], [0.0, 0.0, 1.0, 0.0]])
    out = top_k_filter(z, 2)
    assert torch.isfinite(out).tolist() == [[False, True, True, False], [True, True, True, True]]
    assert torch.equal(out[0, [1, 2]], z[0, [1, 2]])  # kept logits are unchanged
    assert torch.equal(top_k_filter(z, 10), z)  # k past V keeps everything
    assert torch.isfinite(top_k_filter(z, 1)).sum(dim=1).tolist() == [1, 1]


def test_top_p_keeps_the_crossing_token_and_ties():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    z = probs.log()
    kept = lambda p: torch.isfinite(top_p_filter(z, p))[0].tolist()  # noqa: E731
    assert kept(0.5) == [True, False, False, False]  # 0.5 reaches p exactly: done
    assert kept(0.51) == [True, True, False, False]  # 0.3 crosses 0.51 and is kept
    assert kept(0.8) == [True, True, False, False]
    assert kept(0.81) == [True, True, True, False]
    assert kept(1.0) == [True] * 4
    assert kept(1e-9) == [True, False, False, False]  # the most likely token always survives
    # two tokens tied at the crossing point: both kept, whatever the sort does
    tied = torch.tensor([[0.4, 0.2, 0.2, 0.2]]).log()
    assert torch.isfinite(top_p_filter(tied, 0.5))[0].tolist() == [True, True, True, True]
    tied2 = torch.tensor([[0.2, 0.2, 0.5, 0.1]]).log()
    assert torch.isfinite(top_p_filter(tied2, 0.6))[0].tolist() == [True, True, True, False]


@pytest.mark.parametrize("seed", range(5))
def test_filters_match_transformers_warpers(seed):
    from transformers.generation.logits_process import (TemperatureLogitsWarper, TopKLogitsWarper,
                                                        TopPLogitsWarper)

    g = torch.Generator().manual_seed(seed)
    z = torch.randn(4, 300, generator=g) * 3
    ids = torch.zeros(4, 1, dtype=torch.long)
    for k in (1, 5, 50, 300):
        torch.testing.assert_close(top_k_filter(z, k), TopKLogitsWarper(k)(ids, z.clone()))
    for p in (0.1, 0.5, 0.9, 0.99):
        ours = torch.isfinite(top_p_filter(z, p))
        theirs = torch.isfinite(TopPLogitsWarper(p)(ids, z.clone()))
        assert torch.equal(ours, theirs), f"top_p={p}"
    torch.testing.assert_close(z / 0.7, TemperatureLogitsWarper(0.7)(ids, z.clone()))


def _frequencies(logits, n=40_000, **kw):
    g = torch.Generator().manual_seed(0)
    draws = sample_next(logits.expand(n, -1), generator=g, **kw)[:, 0]  # (n,)
    return torch.bincount(draws, minlength=logits.size(-1)).double() / n


def _expected(logits, temperature=1.0, keep=None):
    p = F.softmax(logits[0].double() / temperature, dim=-1)
    if keep is not None:
        p = p * torch.tensor(keep, dtype=torch.double)
    return p / p.sum()


def test_temperature_sampling_distribution():
    z = torch.tensor([[2.0, 1.0, 0.0, -1.0]])
    for t in (0.5, 1.0, 2.0):
        freq = _frequencies(z, temperature=t)
        torch.testing.assert_close(freq, _expected(z, t), atol=0.01, rtol=0)
    assert torch.equal(sample_next(z.expand(3, -1), temperature=0), torch.zeros(3, 1, dtype=torch.long))


def test_top_k_and_top_p_sampling_distributions():
    z = torch.tensor([[0.5, 0.3, 0.15, 0.05]]).log()
    torch.testing.assert_close(_frequencies(z, top_k=2), _expected(z, keep=[1, 1, 0, 0]), atol=0.01, rtol=0)
    # p = 0.7: 0.5 is not enough, 0.3 crosses and is kept: renormalised 0.625 / 0.375
    freq = _frequencies(z, top_p=0.7)
    torch.testing.assert_close(freq, _expected(z, keep=[1, 1, 0, 0]), atol=0.01, rtol=0)
    # Temperature acts first: at T=0.5 the probabilities become (0.68, 0.25, 0.06, 0.01), so
    # p=0.6 is reached by the first token alone; at T=1 the nucleus of p=0.6 has two tokens.
    assert _expected(z, 0.5)[0] > 0.6 > _expected(z, 1.0)[0]
    torch.testing.assert_close(_frequencies(z, temperature=0.5, top_p=0.6), _expected(z, 0.5, [1, 0, 0, 0]),
                               atol=0.01, rtol=0)
    torch.testing.assert_close(_frequencies(z, temperature=1.0, top_p=0.6), _expected(z, 1.0, [1, 1, 0, 0]),
                               atol=0.01, rtol=0)


@pytest.mark.parametrize("kw,words", [
    (dict(temperature=-0.5), "temperature must be >= 0"),
    (dict(temperature=float("nan")), "temperature"),
    (dict(top_k=0), "top_k must be"),
    (dict(top_k=2.5), "top_k must be"),
    (dict(top_p=0.0), "top_p must be in (0, 1]"),
    (dict(top_p=1.5), "top_p must be in (0, 1]"),
])
def test_bad_sampling_arguments_are_refused(kw, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace("]", r"\]")):
        sample_next(torch.zeros(1, 5), **kw)
    model = GPT(tiny()).eval()
    with pytest.raises(ValueError):
        generate(model, torch.zeros(1, 2, dtype=torch.long), 3, **kw)


def test_bad_inputs_are_refused_with_the_fix():
    model = GPT(tiny()).eval()
    with pytest.raises(ValueError, match=r"idx\[None\]"):
        generate(model, torch.zeros(4, dtype=torch.long), 3)
    with pytest.raises(ValueError, match="at least one"):
        generate(model, torch.zeros(1, 0, dtype=torch.long), 3)
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate(model, torch.zeros(1, 2, dtype=torch.long), -1)
    with pytest.raises(ValueError, match=r"logits\[:, -1, :\]"):
        sample_next(torch.zeros(1, 3, 5))


# ----------------------------------------------------------------------------- KV cache
def test_cached_causal_mask_is_the_last_rows_of_the_full_mask():
    full = causal_mask(7)
    for T_q in range(1, 8):
        assert torch.equal(cached_causal_mask(T_q, 7), full[7 - T_q:])
    with pytest.raises(ValueError, match="more queries"):
        cached_causal_mask(3, 2)


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("position", ["none", "rope", "alibi"])
def test_attention_with_cache_equals_full_attention_in_chunks(fast, position):
    from groundup.positions import build_positions

    torch.manual_seed(0)
    pos = build_positions(position, block_size=32, n_embd=16, n_head=4)
    attn = MultiHeadAttention(16, 4, positions=pos, fast=fast).eval()
    x = torch.randn(3, 11, 16)
    full = attn(x)
    cache, outs, start = LayerKVCache(), [], 0
    for size in (4, 1, 1, 3, 2):  # prefill, two single tokens, then chunks
        outs.append(attn(x[:, start:start + size], cache=cache))
        start += size
    assert cache.length == 11
    torch.testing.assert_close(torch.cat(outs, dim=1), full, rtol=0, atol=1e-6)


@pytest.mark.parametrize("position", [p for p in POSITION_KINDS])
@pytest.mark.parametrize("B", [1, 3])
def test_cached_generation_gives_the_same_logits_at_every_step(position, B):
    torch.manual_seed(0)
    model = GPT(tiny(position=position)).eval()
    idx = torch.randint(0, 50, (B, 5), generator=torch.Generator().manual_seed(1))
    with_cache, logits_c = generate(model, idx, 11, temperature=0, use_cache=True, return_logits=True)
    without, logits_u = generate(model, idx, 11, temperature=0, use_cache=False, return_logits=True)
    assert logits_c.shape == (B, 11, 50)
    torch.testing.assert_close(logits_c, logits_u, rtol=0, atol=1e-5)
    assert torch.equal(with_cache, without)
    # and step by step through the model itself: prefill, then one token at a time
    cache = KVCache(model.config.n_layer)
    with torch.no_grad():
        model(without[:, :5], cache=cache)
        for t in range(5, without.size(1)):
            step = model(without[:, t:t + 1], cache=cache)[0][:, -1]
            torch.testing.assert_close(step, model(without[:, :t + 1])[0][:, -1], rtol=0, atol=1e-5)


@pytest.mark.parametrize("position", ["learned", "rope"])
def test_past_block_size_the_cache_gives_way_to_a_sliding_window(position):
    torch.manual_seed(0)
    model = GPT(tiny(position=position, block_size=8)).eval()
    idx = torch.randint(0, 50, (2, 5))
    a, la = generate(model, idx, 20, temperature=0, return_logits=True)
    b, lb = generate(model, idx, 20, temperature=0, use_cache=False, return_logits=True)
    torch.testing.assert_close(la, lb, rtol=0, atol=1e-5)
    assert torch.equal(a, b) and a.shape == (2, 25)
    assert torch.equal(a, model.generate(idx, 20, temperature=0))  # the Chapter 5 loop crops the same way
    long_prompt = torch.randint(0, 50, (1, 12))  # longer than the window from the start
    assert torch.equal(generate(model, long_prompt, 4, temperature=0),
                       generate(model, long_prompt, 4, temperature=0, use_cache=False))
    if position == "learned":  # the position table ends at block_size, with or without a cache
        with pytest.raises(ValueError, match="block_size"):
            model(torch.zeros(1, 9, dtype=torch.long))
        cache = KVCache(2)
        with torch.no_grad():
            model(torch.zeros(1, 8, dtype=torch.long), cache=cache)
        with pytest.raises(ValueError, match="block_size"):
            model(torch.zeros(1, 1, dtype=torch.long), cache=cache)


def test_cache_memory_is_2_L_T_C_values():
    model = GPT(tiny(n_layer=3, n_embd=32, block_size=64)).eval()
    cache = KVCache(3)
    with torch.no_grad():
        model(torch.zeros(4, 20, dtype=torch.long), cache=cache)
    assert cache.length == 20
    assert cache.nbytes == kv_cache_bytes(3, 32, 20, batch=4) == 2 * 3 * 20 * 32 * 4 * 4
    with pytest.raises(ValueError, match="do not continue"):
        model(torch.zeros(2, 1, dtype=torch.long), cache=cache)
    with pytest.raises(ValueError, match="KVCache"):
        model(torch.zeros(4, 1, dtype=torch.long), cache=KVCache(2))


def test_custom_attention_without_a_cache_argument_gets_a_clear_error():
    class Plain(torch.nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.inner = MultiHeadAttention(cfg.n_embd, cfg.n_head)

        def forward(self, x):
            return self.inner(x)

    model = GPT(tiny(), attention_factory=Plain).eval()
    assert not supports_kv_cache(model) and supports_kv_cache(GPT(tiny()))
    idx = torch.zeros(1, 3, dtype=torch.long)
    with pytest.raises(ValueError, match="use_cache=False"):
        generate(model, idx, 2)
    assert generate(model, idx, 2, use_cache=False, temperature=0).shape == (1, 5)


def test_stop_tokens_end_each_row_and_pad_it():
    torch.manual_seed(0)
    model = GPT(tiny()).eval()
    idx = torch.randint(0, 50, (3, 4), generator=torch.Generator().manual_seed(0))
    free = generate(model, idx, 12, temperature=0)
    stop = int(free[0, 6])  # the third generated token of row 0
    out = generate(model, idx, 12, temperature=0, stop=stop)
    for row in range(3):
        gen = free[row, 4:].tolist()
        if stop in gen:
            cut = gen.index(stop) + 1
            assert out[row, 4:4 + cut].tolist() == gen[:cut]
            assert set(out[row, 4 + cut:].tolist()) <= {stop}
        else:
            assert out[row, 4:].tolist() == gen[:out.size(1) - 4]
    if all(stop in free[r, 4:].tolist() for r in range(3)):
        assert out.size(1) < free.size(1)
    with pytest.raises(ValueError, match="stop must be"):
        generate(model, idx, 2, stop="\n")


def test_generate_restores_training_mode_and_is_seeded():
    model = GPT(tiny(dropout=0.5)).train()
    idx = torch.zeros(2, 3, dtype=torch.long)
    a = generate(model, idx, 8, generator=torch.Generator().manual_seed(3), top_k=10)
    b = generate(model, idx, 8, generator=torch.Generator().manual_seed(3), top_k=10)
    assert torch.equal(a, b) and model.training  # dropout was off during the call, and is back on


def test_chapter5_loop_and_generate_agree_when_sampling():
    torch.manual_seed(0)
    model = GPT(tiny()).eval()
    idx = torch.randint(0, 50, (2, 3))
    for kw in (dict(temperature=0.8, top_k=5), dict(temperature=1.3)):
        ours = generate(model, idx, 10, generator=torch.Generator().manual_seed(5), **kw)
        plain = model.generate(idx, 10, generator=torch.Generator().manual_seed(5), **kw)
        assert torch.equal(ours, plain)


# ----------------------------------------------------------------------------- transformers
def _hf_model(tmp_path, **kw):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(kw.pop("seed", 0))
    hf = GPT2LMHeadModel(GPT2Config(bos_token_id=0, eos_token_id=0, **kw)).eval()
    hf.save_pretrained(tmp_path)
    return hf


def test_greedy_and_top_k_match_transformers_generate(tmp_path):
    hf = _hf_model(tmp_path, n_layer=2, n_head=4, n_embd=64, n_positions=64, vocab_size=100)
    ours = GPT.from_hf(tmp_path)
    idx = torch.randint(1, 100, (2, 5), generator=torch.Generator().manual_seed(3))
    common = dict(attention_mask=torch.ones_like(idx), max_new_tokens=20, pad_token_id=0, eos_token_id=None)
    ref = hf.generate(idx, do_sample=False, **common)
    assert torch.equal(generate(ours, idx, 20, temperature=0), ref)
    # Sampling: transformers draws with torch.multinomial from the global generator, after
    # temperature then top-k then top-p, as sample_next does: the same seed gives the same tokens.
    for kw in (dict(temperature=0.9, top_k=10), dict(temperature=1.0, top_k=50, top_p=0.8)):
        torch.manual_seed(11)
        ref = hf.generate(idx, do_sample=True, top_p=kw.get("top_p", 1.0), top_k=kw["top_k"],
                          temperature=kw["temperature"], **common)
        torch.manual_seed(11)
        assert torch.equal(generate(ours, idx, 20, **kw), ref), kw


def test_cached_logits_match_transformers_cached_logits(tmp_path):
    hf = _hf_model(tmp_path, n_layer=3, n_head=2, n_embd=48, n_positions=40, vocab_size=257, seed=1)
    ours = GPT.from_hf(tmp_path)
    idx = torch.randint(0, 257, (3, 6), generator=torch.Generator().manual_seed(0))
    out = hf.generate(idx, attention_mask=torch.ones_like(idx), max_new_tokens=15, do_sample=False,
                      pad_token_id=0, eos_token_id=None, output_logits=True, return_dict_in_generate=True)
    ids, logits = generate(ours, idx, 15, temperature=0, return_logits=True)
    assert torch.equal(ids, out.sequences)
    torch.testing.assert_close(logits, torch.stack(out.logits, dim=1), rtol=0, atol=1e-4)


# ----------------------------------------------------------------------------- costs
def test_token_cost_grows_quadratically_with_history():
    one = token_cost(200, 100, price_in=1.0, price_out=1.0)
    flat = token_cost(200, 100, price_in=1.0, price_out=1.0, turns=10)
    chat = token_cost(200, 100, price_in=1.0, price_out=1.0, turns=10, history=True)
    assert flat == 10 * one
    # input: sum_i (200 i + 100 (i-1)) = 200*55 + 100*45; output 10 * 100
    assert chat == 200 * 55 + 100 * 45 + 1000


def test_cache_benchmark_runs_and_all_sides_agree(capsys):
    from benchmarks import generate as bench

    assert bench.main(["--layers", "1", "--new", "4", "--prompt", "3", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "cache speed-up" in out and "same tokens: True" in out


def test_step_times_does_the_work_of_greedy_generate():
    from groundup.generate import step_times

    model = GPT(tiny(block_size=32)).eval()
    idx = torch.zeros(2, 4, dtype=torch.long)
    for use_cache in (True, False):
        times = step_times(model, idx, 6, use_cache=use_cache)
        assert len(times) == 6 and all(t > 0 for t in times)
    with pytest.raises(ValueError, match="block_size"):
        step_times(model, idx, 40)
