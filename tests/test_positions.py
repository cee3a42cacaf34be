"""groundup.positions: the four schemes, against the papers' formulas and transformers."""

import math

import pytest
import torch

from groundup.attention import MultiHeadAttention
from groundup.positions import (
    POSITION_KINDS,
    ALiBiPositions,
    LearnedPositions,
    NoPositions,
    PositionScheme,
    RotaryPositions,
    SinusoidalPositions,
    alibi_bias,
    alibi_slopes,
    apply_rope,
    build_positions,
    rope_cos_sin,
    rotate_half,
    sinusoidal_encoding,
)

# --- sinusoidal (Vaswani et al. sec. 3.5) -------------------------------------


def test_sinusoidal_matches_the_papers_formula_entry_by_entry():
    T, d = 9, 6
    pe = sinusoidal_encoding(T, d)
    for pos in range(T):
        for i in range(d // 2):
            angle = pos / 10000 ** (2 * i / d)
            assert pe[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert pe[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_sinusoidal_positions_any_length_and_offset():
    pos = SinusoidalPositions(8, max_len=4)
    x = torch.zeros(2, 10, 8)
    out = pos.add_to_input(x)  # past the cached max_len
    torch.testing.assert_close(out[0], sinusoidal_encoding(10, 8))
    torch.testing.assert_close(pos.add_to_input(x[:, :3], offset=5)[0], sinusoidal_encoding(10, 8)[5:8])
    torch.testing.assert_close(pos.add_to_input(x[:, :2], offset=1)[0], sinusoidal_encoding(3, 8)[1:])
    assert len(pos.state_dict()) == 0  # nothing trained, nothing saved
    with pytest.raises(ValueError, match="even d_model"):
        sinusoidal_encoding(3, 5)


# --- learned (GPT-2) -----------------------------------------------------------


def test_learned_positions_wpe_and_window():
    pos = LearnedPositions(block_size=6, n_embd=4)
    assert list(pos.state_dict()) == ["wpe.weight"]  # GPT-2's name
    x = torch.zeros(1, 6, 4)
    torch.testing.assert_close(pos.add_to_input(x)[0], pos.wpe.weight)
    torch.testing.assert_close(pos.add_to_input(x[:, :2], offset=3)[0], pos.wpe.weight[3:5])
    with pytest.raises(ValueError, match="cannot go past the training window"):
        pos.add_to_input(torch.zeros(1, 7, 4))
    with pytest.raises(ValueError, match="block_size=6"):
        pos.add_to_input(torch.zeros(1, 2, 4), offset=5)


# --- RoPE (Su et al. 2021) vs transformers' Llama -------------------------------


def test_rope_matches_transformers_llama():
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import (
        LlamaRotaryEmbedding,
        apply_rotary_pos_emb,
    )
    from transformers.models.llama.modeling_llama import rotate_half as hf_rotate_half

    B, nh, T, hs, base = 2, 3, 11, 16, 500.0
    config = LlamaConfig(hidden_size=nh * hs, num_attention_heads=nh, head_dim=hs, rope_theta=base)
    cos_hf, sin_hf = LlamaRotaryEmbedding(config)(torch.zeros(B, T, nh * hs), torch.arange(T)[None].expand(B, T))
    cos, sin = rope_cos_sin(T, hs, base)
    torch.testing.assert_close(cos, cos_hf[0], atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(sin, sin_hf[0], atol=1e-6, rtol=1e-6)

    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(B, nh, T, hs, generator=g), torch.randn(B, nh, T, hs, generator=g)
    torch.testing.assert_close(rotate_half(q), hf_rotate_half(q))
    q_hf, k_hf = apply_rotary_pos_emb(q, k, cos_hf, sin_hf)
    q_ours, k_ours = RotaryPositions(hs, base=base).rotate_qk(q, k)
    torch.testing.assert_close(q_ours, q_hf, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(k_ours, k_hf, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(apply_rope(q, cos, sin), q_hf, atol=1e-5, rtol=1e-5)


def test_rope_position_interpolation_matches_transformers_linear_scaling():
    """Chen et al. 2023: position m read as m * scale; transformers' "linear" rope scaling, factor 1/scale."""
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    T, hs, base, offset, scale = 9, 8, 500.0, 20, 0.25
    config = LlamaConfig(hidden_size=2 * hs, num_attention_heads=2, head_dim=hs, rope_theta=base,
                         rope_scaling={"rope_type": "linear", "factor": 1 / scale})
    cos_hf, sin_hf = LlamaRotaryEmbedding(config)(torch.zeros(1, T, 2 * hs), torch.arange(offset, offset + T)[None])
    cos, sin = rope_cos_sin(T, hs, base, offset=offset, scale=scale)
    torch.testing.assert_close(cos, cos_hf[0], atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(sin, sin_hf[0], atol=1e-6, rtol=1e-6)
    # Position 4m with scale 1/4 turns exactly like position m without it.
    for a, b in zip(rope_cos_sin(3, hs, offset=8, scale=0.25), rope_cos_sin(3, hs, offset=2)):
        torch.testing.assert_close(a[0], b[0], atol=1e-6, rtol=1e-6)
    with pytest.raises(ValueError, match="scale > 0"):
        rope_cos_sin(4, hs, scale=0.0)
    # RotaryPositions follows a scale changed after its tables were cached.
    rope = RotaryPositions(hs)
    x = torch.randn(1, 1, 12, hs)
    unscaled, _ = rope.rotate_qk(x, x)
    rope.scale = 0.5
    scaled, _ = rope.rotate_qk(x, x)
    torch.testing.assert_close(scaled, RotaryPositions(hs, scale=0.5).rotate_qk(x, x)[0])
    assert not torch.allclose(scaled, unscaled)


def test_rope_scores_depend_only_on_relative_position():
    rope = RotaryPositions(8)
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(8, generator=g), torch.randn(8, generator=g)
    x = torch.stack([a, b] * 20)[None, None]  # (1, 1, 40, 8): a at even, b at odd positions
    q, k = rope.rotate_qk(x, x)
    s = (q @ k.transpose(-2, -1))[0, 0]  # (40, 40)
    # score(a at m, b at m+3) is the same for every m
    scores = torch.stack([s[m, m + 3] for m in range(0, 36, 2)])
    torch.testing.assert_close(scores, scores[0].expand_as(scores), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(q.norm(dim=-1), x.norm(dim=-1))  # a rotation keeps lengths


def test_rope_queries_shorter_than_keys_are_the_last_positions():
    rope = RotaryPositions(4)
    g = torch.Generator().manual_seed(2)
    q, k = torch.randn(1, 2, 9, 4, generator=g), torch.randn(1, 2, 9, 4, generator=g)
    q_full, k_full = rope.rotate_qk(q, k)
    q_last, k2 = rope.rotate_qk(q[:, :, -2:], k)
    torch.testing.assert_close(q_last, q_full[:, :, -2:])
    torch.testing.assert_close(k2, k_full)
    with pytest.raises(ValueError, match="head_size = n_embd // n_head"):
        rope.rotate_qk(torch.zeros(1, 1, 2, 8), torch.zeros(1, 1, 2, 8))


# --- ALiBi (Press et al. 2022) vs transformers' BLOOM -----------------------------


@pytest.mark.parametrize("n_head", [1, 2, 3, 4, 5, 6, 8, 12, 16, 20])
def test_alibi_slopes_match_bloom(n_head):
    from transformers.models.bloom.modeling_bloom import build_alibi_tensor

    # BLOOM's tensor at key position j is slope * j, so position 1 gives the slopes.
    ref = build_alibi_tensor(torch.ones(1, 4), n_head, torch.float32)[:, 0, 1]  # (nh,)
    torch.testing.assert_close(alibi_slopes(n_head), ref)


def test_alibi_slopes_power_of_two_are_geometric():
    assert alibi_slopes(8).tolist() == [2.0**-k for k in range(1, 9)]
    assert alibi_slopes(16)[0].item() == pytest.approx(2.0**-0.5, rel=1e-6)


def test_alibi_bias_is_minus_slope_times_distance():
    nh, T = 4, 6
    bias = ALiBiPositions(nh).attn_bias(T, T)
    m = alibi_slopes(nh)
    for i in range(T):
        for j in range(i + 1):
            torch.testing.assert_close(bias[:, i, j], -m * (i - j))
    # queries shorter than keys: the last rows
    torch.testing.assert_close(ALiBiPositions(nh).attn_bias(2, T), bias[:, -2:])
    torch.testing.assert_close(alibi_bias(nh, T, T), bias)


# --- the interface and the factory ------------------------------------------------


def test_factory_builds_each_kind_and_explains_unknown_ones():
    expected = {
        "learned": LearnedPositions,
        "sinusoidal": SinusoidalPositions,
        "rope": RotaryPositions,
        "alibi": ALiBiPositions,
        "none": NoPositions,
    }
    for kind in POSITION_KINDS:
        scheme = build_positions(kind, block_size=8, n_embd=12, n_head=3)
        assert isinstance(scheme, expected[kind]) and isinstance(scheme, PositionScheme)
    assert build_positions("rope", block_size=8, n_embd=12, n_head=3).head_size == 4
    with pytest.raises(ValueError, match="'learned', 'sinusoidal', 'rope', 'alibi', 'none'"):
        build_positions("relative", block_size=8, n_embd=12, n_head=3)


def _apply(scheme, attn, x):
    return attn(scheme.add_to_input(x))


def test_attention_without_positions_is_permutation_equivariant():
    torch.manual_seed(0)
    attn = MultiHeadAttention(16, 2, causal=False, positions=NoPositions()).eval()
    x = torch.randn(2, 9, 16)
    perm = torch.randperm(9)
    torch.testing.assert_close(attn(x[:, perm]), attn(x)[:, perm], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["learned", "sinusoidal", "rope", "alibi"])
def test_each_position_scheme_breaks_permutation_equivariance(kind):
    torch.manual_seed(0)
    scheme = build_positions(kind, block_size=9, n_embd=16, n_head=2)
    attn = MultiHeadAttention(16, 2, causal=False, positions=scheme).eval()
    x = torch.randn(2, 9, 16)
    perm = torch.randperm(9)
    gap = (_apply(scheme, attn, x[:, perm]) - _apply(scheme, attn, x)[:, perm]).abs().max().item()
    assert gap > 1e-3, f"{kind}: outputs still just permute (max gap {gap:.2e})"
