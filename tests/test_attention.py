"""groundup.attention against PyTorch's own attention (fp32, explicit tolerances)."""

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from groundup.attention import (
    MultiHeadAttention,
    banded_causal_mask,
    causal_mask,
    padding_mask,
    scaled_dot_product_attention,
    sdpa_fast,
)
from groundup.positions import build_positions

ATOL = 1e-5
RTOL = 1e-5


def qkv(B=2, nh=3, T=7, hs=8, T_k=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    T_k = T if T_k is None else T_k
    q = torch.randn(B, nh, T, hs, generator=g)
    k = torch.randn(B, nh, T_k, hs, generator=g)
    v = torch.randn(B, nh, T_k, hs, generator=g)
    return q, k, v


# --- masks -----------------------------------------------------------------


def test_causal_mask_is_lower_triangular():
    m = causal_mask(5)
    assert m.dtype == torch.bool and m.shape == (5, 5)
    assert torch.equal(m, torch.tril(torch.ones(5, 5)).bool())


def test_banded_mask_window():
    m = banded_causal_mask(10, window=3)
    for i in range(10):
        for j in range(10):
            assert bool(m[i, j]) == (0 <= i - j < 3)
    assert torch.equal(banded_causal_mask(6, window=6), causal_mask(6))


def test_padding_mask_from_lengths_and_attention_mask():
    m = padding_mask([1, 3], T=4)
    assert m.shape == (2, 1, 1, 4)
    assert m.flatten(1).int().tolist() == [[1, 0, 0, 0], [1, 1, 1, 0]]
    hf = torch.tensor([[1, 1, 0], [0, 1, 1]])
    assert torch.equal(padding_mask(hf).flatten(1), hf.bool())
    with pytest.raises(ValueError, match=r"\(B,\)"):
        padding_mask(torch.zeros(1, 2, 3))


# --- written-out vs PyTorch --------------------------------------------------


def test_sdpa_matches_torch_without_mask():
    q, k, v = qkv()
    ref = F.scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(scaled_dot_product_attention(q, k, v), ref, atol=ATOL, rtol=RTOL)
    torch.testing.assert_close(sdpa_fast(q, k, v), ref, atol=ATOL, rtol=RTOL)


def test_sdpa_matches_torch_with_causal_bool_mask():
    q, k, v = qkv(T=9)
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    ours = scaled_dot_product_attention(q, k, v, causal_mask(9))
    torch.testing.assert_close(ours, ref, atol=ATOL, rtol=RTOL)
    torch.testing.assert_close(sdpa_fast(q, k, v, is_causal=True), ref, atol=ATOL, rtol=RTOL)
    torch.testing.assert_close(sdpa_fast(q, k, v, causal_mask(9)), ref, atol=ATOL, rtol=RTOL)


def test_sdpa_matches_torch_with_float_bias_padding_and_scale():
    q, k, v = qkv(T=6, T_k=6)
    g = torch.Generator().manual_seed(1)
    bias = torch.randn(3, 6, 6, generator=g)  # (nh, T, T) like ALiBi
    pad = padding_mask([4, 6])  # (B, 1, 1, T)
    float_mask = bias + torch.zeros(2, 1, 1, 6).masked_fill(~pad, float("-inf"))  # (B, nh, T, T)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=float_mask, scale=0.3)
    torch.testing.assert_close(
        scaled_dot_product_attention(q, k, v, float_mask, scale=0.3), ref, atol=ATOL, rtol=RTOL
    )
    torch.testing.assert_close(sdpa_fast(q, k, v, float_mask, scale=0.3), ref, atol=ATOL, rtol=RTOL)
    ref_pad = F.scaled_dot_product_attention(q, k, v, attn_mask=pad)
    torch.testing.assert_close(scaled_dot_product_attention(q, k, v, pad), ref_pad, atol=ATOL, rtol=RTOL)


def test_sdpa_cross_attention_lengths_and_gradients_match():
    q, k, v = qkv(T=3, T_k=11)
    for t in (q, k, v):
        t.requires_grad_(True)
    mask = torch.rand(3, 11, generator=torch.Generator().manual_seed(2)) > 0.3
    mask[:, 0] = True
    ours = scaled_dot_product_attention(q, k, v, mask)
    grads_ours = torch.autograd.grad(ours.square().sum(), (q, k, v))
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    grads_ref = torch.autograd.grad(ref.square().sum(), (q, k, v))
    torch.testing.assert_close(ours, ref, atol=ATOL, rtol=RTOL)
    for a, b in zip(grads_ours, grads_ref):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_fully_masked_row_gives_zeros_like_torch_and_finite_gradients():
    q, k, v = qkv(B=1, nh=1, T=3)
    q.requires_grad_(True)
    mask = causal_mask(3).clone()
    mask[0, 0] = False  # query 0 sees nothing
    ours = scaled_dot_product_attention(q, k, v, mask)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(ours, ref, atol=ATOL, rtol=RTOL)
    assert torch.all(ours[..., 0, :] == 0)
    (g,) = torch.autograd.grad(ours.sum(), q)
    assert torch.isfinite(g).all()


def test_weights_are_a_distribution_and_scale_is_one_over_sqrt_dk():
    q, k, v = qkv(hs=16)
    _, w = scaled_dot_product_attention(q, k, v, causal_mask(7), return_weights=True)
    torch.testing.assert_close(w.sum(-1), torch.ones(w.shape[:-1]))
    assert torch.all(w.triu(1) == 0)
    manual = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(16), dim=-1)
    _, w2 = scaled_dot_product_attention(q, k, v, return_weights=True)
    torch.testing.assert_close(w2, manual)


def test_dropout_in_sdpa_keeps_expectation():
    q, k, v = qkv(B=1, nh=1, T=4)
    torch.manual_seed(0)
    n = 4000  # n independent draws of the dropout mask, as one batch
    outs = scaled_dot_product_attention(q.expand(n, -1, -1, -1), k.expand(n, -1, -1, -1), v.expand(n, -1, -1, -1), dropout_p=0.5)
    assert not torch.allclose(outs[0], outs[1])
    torch.testing.assert_close(outs.mean(0, keepdim=True), scaled_dot_product_attention(q, k, v), atol=0.15, rtol=0)


def test_sdpa_errors_name_shapes():
    q, k, v = qkv()
    with pytest.raises(ValueError, match="same head size"):
        scaled_dot_product_attention(q, k[..., :4], v)
    with pytest.raises(ValueError, match="one row per key"):
        scaled_dot_product_attention(q, k, v[..., :3, :])
    with pytest.raises(ValueError, match="either is_causal"):
        sdpa_fast(q, k, v, causal_mask(7), is_causal=True)


# --- multi-head attention ----------------------------------------------------


def copy_into_torch_mha(ours: MultiHeadAttention) -> nn.MultiheadAttention:
    ref = nn.MultiheadAttention(ours.n_embd, ours.n_head, bias=True, batch_first=True)
    with torch.no_grad():
        # nn.Linear stores (out, in); c_attn.weight is (3C, C) with rows [q | k | v], the
        # same layout as in_proj_weight.
        ref.in_proj_weight.copy_(ours.c_attn.weight)
        ref.in_proj_bias.copy_(ours.c_attn.bias)
        ref.out_proj.weight.copy_(ours.c_proj.weight)
        ref.out_proj.bias.copy_(ours.c_proj.bias)
    return ref.eval()


@pytest.mark.parametrize("fast", [True, False])
def test_mha_matches_torch_multihead_attention_causal(fast):
    torch.manual_seed(0)
    ours = MultiHeadAttention(32, 4, fast=fast).eval()
    ref = copy_into_torch_mha(ours)
    x = torch.randn(3, 10, 32)
    blocked = ~causal_mask(10)  # nn.MultiheadAttention: True = NOT allowed
    y_ref, w_ref = ref(x, x, x, attn_mask=blocked, need_weights=True, average_attn_weights=False)
    torch.testing.assert_close(ours(x), y_ref, atol=ATOL, rtol=RTOL)
    y, w = ours(x, need_weights=True)
    torch.testing.assert_close(y, y_ref, atol=ATOL, rtol=RTOL)
    torch.testing.assert_close(w, w_ref, atol=ATOL, rtol=RTOL)


def test_mha_matches_torch_bidirectional_with_padding():
    torch.manual_seed(1)
    ours = MultiHeadAttention(16, 2, causal=False).eval()
    ref = copy_into_torch_mha(ours)
    x = torch.randn(2, 5, 16)
    lengths = torch.tensor([3, 5])
    key_padding = ~padding_mask(lengths).flatten(1)  # (B, T), True = padding for torch
    y_ref, _ = ref(x, x, x, key_padding_mask=key_padding)
    torch.testing.assert_close(ours(x, attn_mask=padding_mask(lengths)), y_ref, atol=ATOL, rtol=RTOL)
    y_slow, _ = ours(x, attn_mask=padding_mask(lengths), need_weights=True)
    torch.testing.assert_close(y_slow, y_ref, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("kind", ["learned", "sinusoidal", "rope", "alibi", "none"])
def test_mha_fast_and_written_out_agree_with_each_position_scheme(kind):
    torch.manual_seed(2)
    pos = build_positions(kind, block_size=16, n_embd=24, n_head=3)
    fast = MultiHeadAttention(24, 3, positions=pos, fast=True).eval()
    slow = MultiHeadAttention(24, 3, positions=pos, fast=False).eval()
    slow.load_state_dict(fast.state_dict())
    x = torch.randn(2, 12, 24)
    torch.testing.assert_close(fast(x), slow(x), atol=ATOL, rtol=RTOL)
    pad = padding_mask([12, 7])
    torch.testing.assert_close(fast(x, attn_mask=pad), slow(x, attn_mask=pad), atol=ATOL, rtol=RTOL)


def test_mha_is_causal_future_tokens_do_not_change_the_past():
    torch.manual_seed(3)
    attn = MultiHeadAttention(16, 4).eval()
    x = torch.randn(1, 8, 16)
    x2 = x.clone()
    x2[:, 5:] = torch.randn(1, 3, 16)
    torch.testing.assert_close(attn(x)[:, :5], attn(x2)[:, :5], atol=ATOL, rtol=RTOL)


def test_mha_dropout_only_in_training():
    torch.manual_seed(4)
    attn = MultiHeadAttention(16, 2, dropout=0.5)
    x = torch.randn(2, 6, 16)
    attn.eval()
    torch.testing.assert_close(attn(x), attn(x))
    attn.train()
    assert not torch.allclose(attn(x), attn(x))


def test_mha_errors_speak_to_the_learner():
    with pytest.raises(ValueError, match="not divisible by n_head=5"):
        MultiHeadAttention(32, 5)
    attn = MultiHeadAttention(32, 4)
    with pytest.raises(ValueError, match=r"\(B, T, n_embd=32\).*\(10, 32\)"):
        attn(torch.randn(10, 32))
    with pytest.raises(ValueError, match=r"\(B, T, n_embd=32\).*\(2, 10, 16\)"):
        attn(torch.randn(2, 10, 16))
