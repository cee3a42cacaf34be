"""Where is each token? Four ways to tell a transformer (Chapter 4).

Attention by itself does not know token order: it compares every query with every
key, so shuffling the input tokens shuffles the outputs the same way (the test
``test_attention_without_positions_is_permutation_equivariant`` checks this). A
position scheme breaks that symmetry. This module puts four of them behind one
small interface, ``PositionScheme``, with three hooks that do nothing by default:

======================  ======================================  ==================
hook                    who uses it                             paper
======================  ======================================  ==================
``add_to_input(x)``     ``LearnedPositions``,                   GPT-2; Vaswani et
                        ``SinusoidalPositions``                 al. 2017, sec. 3.5
``rotate_qk(q, k)``     ``RotaryPositions``                     Su et al. 2021
``attn_bias(Tq, Tk)``   ``ALiBiPositions``                      Press et al. 2022
======================  ======================================  ==================

A model calls ``add_to_input`` once after the token embedding, and every attention
layer calls ``rotate_qk`` on its queries and keys and adds ``attn_bias`` to its
scores. ``groundup.attention.MultiHeadAttention`` does the last two for you.

Dimension letters: B batch, T time (sequence length), C channels (n_embd),
nh number of heads, hs head size (C // nh).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch import Tensor

__all__ = [
    "PositionScheme",
    "NoPositions",
    "LearnedPositions",
    "SinusoidalPositions",
    "RotaryPositions",
    "ALiBiPositions",
    "sinusoidal_encoding",
    "rope_cos_sin",
    "rotate_half",
    "apply_rope",
    "alibi_slopes",
    "alibi_bias",
    "build_positions",
    "POSITION_KINDS",
]


# ---------------------------------------------------------------------------
# The interface
# ---------------------------------------------------------------------------


class PositionScheme(nn.Module):
    """Base class: every hook is a no-op, so a subclass overrides only the one it needs.

    >>> s = PositionScheme()
    >>> x = torch.zeros(2, 5, 8)
    >>> s.add_to_input(x) is x, s.attn_bias(5, 5)
    (True, None)
    """

    def add_to_input(self, x: Tensor, offset: int = 0) -> Tensor:
        """Return ``x`` (B, T, C) with the encoding of positions
        offset..offset+T-1 added."""
        return x

    def rotate_qk(self, q: Tensor, k: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``(q, k)``, each (B, nh, T, hs), rotated by their positions.

        When q is shorter than k (decoding with a cache) the queries are taken to be
        the *last* ``q.size(-2)`` positions of the keys.
        """
        return q, k

    def attn_bias(self, T_q: int, T_k: int) -> Tensor | None:
        """Return an additive bias (nh, T_q, T_k) for the attention scores, or None."""
        return None


class NoPositions(PositionScheme):
    """No position information at all ("NoPE"): the hooks stay no-ops."""


# ---------------------------------------------------------------------------
# 1. Learned absolute positions (GPT-2)
# ---------------------------------------------------------------------------


class LearnedPositions(PositionScheme):
    """One trained vector per position, added to the token embedding (GPT-2's ``wpe``).

    The table has ``block_size`` rows, so it simply has nothing to say about position
    ``block_size`` or later: a model with learned positions cannot run past the window
    it was trained on.

    >>> pos = LearnedPositions(block_size=4, n_embd=3)
    >>> pos.add_to_input(torch.zeros(1, 4, 3)).shape
    torch.Size([1, 4, 3])
    """

    def __init__(self, block_size: int, n_embd: int) -> None:
        super().__init__()
        self.block_size = block_size
        # Named ``wpe`` like GPT-2's checkpoint so its weights load directly.
        self.wpe = nn.Embedding(block_size, n_embd)

    def add_to_input(self, x: Tensor, offset: int = 0) -> Tensor:
        T = x.size(1)
        if offset + T > self.block_size:
            raise ValueError(
                f"LearnedPositions has {self.block_size} rows "
                f"(block_size={self.block_size}) but was asked for positions "
                f"{offset}..{offset + T - 1}. Learned positions cannot go past the "
                f"training window: crop the input to the last {self.block_size} "
                "tokens, or use a scheme that extrapolates ('sinusoidal', 'rope', "
                "'alibi')."
            )
        pos = torch.arange(offset, offset + T, device=x.device)  # (T,)
        return x + self.wpe(pos)  # (B, T, C) + (T, C) -> (B, T, C)


# ---------------------------------------------------------------------------
# 2. Sinusoidal absolute positions (Vaswani et al. 2017, sec. 3.5)
# ---------------------------------------------------------------------------


def sinusoidal_encoding(T: int, d_model: int, *, offset: int = 0) -> Tensor:
    """The fixed encoding of "Attention Is All You Need", sec. 3.5, for
    positions offset..offset+T-1.

        PE(pos, 2i)   = sin(pos / 10000^(2i / d_model))
        PE(pos, 2i+1) = cos(pos / 10000^(2i / d_model))

    Each pair of channels is a clock of its own frequency, from one turn every 2*pi
    positions (i = 0) down to one every 10000 * 2*pi positions.

    >>> pe = sinusoidal_encoding(3, 4)  # (T=3, d_model=4)
    >>> pe[0].tolist()                  # pos 0: sin 0 = 0, cos 0 = 1
    [0.0, 1.0, 0.0, 1.0]
    >>> round(pe[1, 0].item(), 4)       # sin(1 / 10000^0)
    0.8415
    """
    if d_model % 2 != 0:
        raise ValueError(
            "sinusoidal_encoding needs an even d_model (sin/cos pairs), got "
            f"d_model={d_model}."
        )
    pos = torch.arange(offset, offset + T, dtype=torch.float32)[:, None]  # (T, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)  # (d_model/2,)
    angle = pos / (10000.0 ** (two_i / d_model))  # (T, d_model/2)
    pe = torch.empty(T, d_model)
    pe[:, 0::2] = torch.sin(angle)  # even channels 2i
    pe[:, 1::2] = torch.cos(angle)  # odd channels 2i+1
    return pe  # (T, d_model)


class SinusoidalPositions(PositionScheme):
    """The paper's fixed sin/cos encoding added to the input; nothing is trained.

    It is defined for any position. The first ``max_len`` rows are cached; longer
    inputs are computed on demand. (The paper also multiplies the token embeddings by
    sqrt(d_model) before adding; that belongs to the embedding, not to this module.)

    >>> pos = SinusoidalPositions(n_embd=4, max_len=8)
    >>> pos.add_to_input(torch.zeros(1, 20, 4)).shape   # past max_len is fine
    torch.Size([1, 20, 4])
    """

    def __init__(self, n_embd: int, max_len: int = 1024) -> None:
        super().__init__()
        self.n_embd = n_embd
        # Not persistent: it is a function of the shape, not a learned weight.
        self.register_buffer("pe", sinusoidal_encoding(max_len, n_embd), persistent=False)

    def add_to_input(self, x: Tensor, offset: int = 0) -> Tensor:
        T = x.size(1)
        if offset + T <= self.pe.size(0):
            pe = self.pe[offset : offset + T]  # (T, C)
        else:
            pe = sinusoidal_encoding(T, self.n_embd, offset=offset).to(x.device)  # (T, C)
        return x + pe.to(x.dtype)  # (B, T, C)


# ---------------------------------------------------------------------------
# 3. Rotary positions, RoPE (Su et al. 2021)
# ---------------------------------------------------------------------------


def rope_cos_sin(
    T: int,
    head_size: int,
    base: float = 10000.0,
    *,
    offset: int = 0,
    scale: float = 1.0,
) -> tuple[Tensor, Tensor]:
    """cos and sin tables (T, hs) for RoPE, in the "half-split" layout of Llama.

    Channel pair (j, j + hs/2) of position m turns by the angle m * theta_j with
    theta_j = base^(-2j / hs) (RoFormer eq. 15). Both halves of each row repeat the
    same hs/2 angles so that ``apply_rope`` is two elementwise products.

    ``scale`` multiplies every position: position interpolation (Chen et al. 2023,
    sec. 2.2) reads a window L' longer than the trained L with scale = L / L', so that
    the angles stay inside the range seen in training (``transformers``' "linear"
    rope scaling with factor = 1 / scale).

    >>> cos, sin = rope_cos_sin(T=2, head_size=4)
    >>> cos[0].tolist(), sin[0].tolist()   # position 0: no turn
    ([1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0])
    """
    if head_size % 2 != 0:
        raise ValueError(
            f"RoPE turns channels in pairs, so head_size must be even; got {head_size}."
        )
    theta = 1.0 / (
        base ** (torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
    )  # (hs/2,)
    if not scale > 0:
        raise ValueError(
            "rope_cos_sin needs scale > 0 (positions are multiplied by it), got "
            f"scale={scale}."
        )
    m = torch.arange(offset, offset + T, dtype=torch.float32) * scale  # (T,)
    angle = torch.outer(m, theta)  # (T, hs/2)
    angle = torch.cat([angle, angle], dim=-1)  # (T, hs)
    return angle.cos(), angle.sin()


def rotate_half(x: Tensor) -> Tensor:
    """(x1, x2) -> (-x2, x1) on the two halves of the last dim: a
    90-degree turn of each pair.

    >>> rotate_half(torch.tensor([1., 2., 3., 4.])).tolist()
    [-3.0, -4.0, 1.0, 2.0]
    """
    x1, x2 = x.chunk(2, dim=-1)  # each (..., hs/2)
    return torch.cat([-x2, x1], dim=-1)  # (..., hs)


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Turn each channel pair of ``x`` (..., T, hs) by its position's angle.

    For a pair (a, b) at angle phi this is the 2-D rotation
    (a cos phi - b sin phi, b cos phi + a sin phi). Because q_m . k_n then depends
    only on m - n, attention sees relative positions.
    """
    return x * cos + rotate_half(x) * sin  # (..., T, hs)


class RotaryPositions(PositionScheme):
    """RoPE: rotate queries and keys by their positions before the dot product.

    Nothing is added to the input and nothing is trained. Tables are cached and
    regrown on demand, so any length works. ``scale`` < 1 is position interpolation
    (Chen et al. 2023): position m is read as m * scale; it may be changed after
    construction (the cached tables follow).

    >>> rope = RotaryPositions(head_size=4)
    >>> q = k = torch.ones(1, 1, 3, 4)        # (B, nh, T, hs)
    >>> q2, k2 = rope.rotate_qk(q, k)
    >>> torch.allclose(q2[..., 0, :], q[..., 0, :])   # position 0 is not turned
    True
    """

    def __init__(self, head_size: int, base: float = 10000.0, scale: float = 1.0) -> None:
        super().__init__()
        self.head_size = head_size
        self.base = base
        self.scale = scale  # position interpolation: position m turns by (m * scale) * theta_j
        self._tables_scale = scale  # the scale the cached tables were built with
        cos, sin = rope_cos_sin(0, head_size, base, scale=scale)
        self.register_buffer("cos", cos, persistent=False)  # (T_cached, hs)
        self.register_buffer("sin", sin, persistent=False)  # (T_cached, hs)

    def _tables(self, T: int, device: torch.device) -> tuple[Tensor, Tensor]:
        if self.cos.size(0) < T or self.cos.device != device or self._tables_scale != self.scale:
            cos, sin = rope_cos_sin(max(T, 2 * self.cos.size(0)), self.head_size, self.base, scale=self.scale)
            self.cos, self.sin, self._tables_scale = cos.to(device), sin.to(device), self.scale
        return self.cos[:T], self.sin[:T]  # each (T, hs)

    def rotate_qk(self, q: Tensor, k: Tensor) -> tuple[Tensor, Tensor]:
        if q.size(-1) != self.head_size or k.size(-1) != self.head_size:
            raise ValueError(
                f"RotaryPositions was built for head_size={self.head_size}, but got q (..., {q.size(-1)}) "
                f"and k (..., {k.size(-1)}). Pass head_size = n_embd // n_head, not n_embd."
            )
        T_q, T_k = q.size(-2), k.size(-2)
        cos, sin = self._tables(T_k, q.device)  # (T_k, hs)
        cos, sin = cos.to(q.dtype), sin.to(q.dtype)
        # Queries are the last T_q positions (equal to T_k unless decoding with a cache).
        q = apply_rope(q, cos[T_k - T_q :], sin[T_k - T_q :])  # (B, nh, T_q, hs)
        k = apply_rope(k, cos, sin)  # (B, nh, T_k, hs)
        return q, k


# ---------------------------------------------------------------------------
# 4. ALiBi: attention with linear biases (Press et al. 2022)
# ---------------------------------------------------------------------------


def alibi_slopes(n_head: int) -> Tensor:
    """The head slopes m of ALiBi (Press et al. 2022, sec. 3).

    For a power of two n the slopes are the geometric sequence 2^(-8/n), 2^(-16/n),
    ..., 2^(-8): head h (1-based) gets m_h = 2^(-8h/n). For other n the paper takes
    the 2^floor(log2 n) slopes of the nearest lower power of two, then fills the rest
    with every other slope of the next power of two (slopes that interleave).

    >>> alibi_slopes(4).tolist()         # 2^-2, 2^-4, 2^-6, 2^-8
    [0.25, 0.0625, 0.015625, 0.00390625]
    >>> len(alibi_slopes(6))             # 4 from n=4, then 2 more from n=8
    6
    """

    def power_of_two(n: int) -> list[float]:
        return [2.0 ** (-8.0 * h / n) for h in range(1, n + 1)]

    if n_head < 1:
        raise ValueError(f"ALiBi needs at least one head, got n_head={n_head}.")
    lower = 2 ** int(math.floor(math.log2(n_head)))
    slopes = power_of_two(lower)
    if lower < n_head:
        slopes += power_of_two(2 * lower)[0::2][: n_head - lower]
    return torch.tensor(slopes)  # (nh,)


def alibi_bias(n_head: int, T_q: int, T_k: int) -> Tensor:
    """The additive ALiBi bias (nh, T_q, T_k): -m_h * |i - j| for query i, key j.

    Queries are the last T_q of T_k positions. For causal attention (j <= i) this is
    the paper's -m * (i - j); keys in the future are masked anyway.

    >>> alibi_bias(1, 3, 3)[0]   # one head, slope 2^-8
    tensor([[ 0.0000, -0.0039, -0.0078],
            [-0.0039,  0.0000, -0.0039],
            [-0.0078, -0.0039,  0.0000]])
    """
    i = torch.arange(T_k - T_q, T_k)[:, None]  # (T_q, 1) query positions
    j = torch.arange(T_k)[None, :]  # (1, T_k) key positions
    distance = (i - j).abs().float()  # (T_q, T_k)
    # 0 - x rather than -x so that the diagonal prints as 0, not -0.
    return 0.0 - alibi_slopes(n_head)[:, None, None] * distance  # (nh, T_q, T_k)


class ALiBiPositions(PositionScheme):
    """ALiBi: no embedding at all; each head's scores get a penalty linear in distance.

    >>> alibi = ALiBiPositions(n_head=2)
    >>> alibi.attn_bias(4, 4).shape        # (nh, T_q, T_k)
    torch.Size([2, 4, 4])
    """

    def __init__(self, n_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.register_buffer("slopes", alibi_slopes(n_head), persistent=False)  # (nh,)
        self._cache: tuple[int, int, Tensor] | None = None  # last (T_q, T_k, bias)

    def attn_bias(self, T_q: int, T_k: int) -> Tensor:
        # Every layer asks for the same bias in a forward pass: keep the last one.
        if self._cache is not None:
            cq, ck, bias = self._cache
            if (cq, ck) == (T_q, T_k) and bias.device == self.slopes.device:
                return bias
        i = torch.arange(T_k - T_q, T_k, device=self.slopes.device)[:, None]  # (T_q, 1)
        j = torch.arange(T_k, device=self.slopes.device)[None, :]  # (1, T_k)
        bias = 0.0 - self.slopes[:, None, None] * (i - j).abs().to(self.slopes.dtype)  # (nh, T_q, T_k)
        self._cache = (T_q, T_k, bias)
        return bias


# ---------------------------------------------------------------------------
# Factory
# ---------------------------------------------------------------------------

POSITION_KINDS = ("learned", "sinusoidal", "rope", "alibi", "none")


def build_positions(kind: str, *, block_size: int, n_embd: int, n_head: int) -> PositionScheme:
    """Build a position scheme by name: one of ``POSITION_KINDS``.

    >>> type(build_positions("rope", block_size=64, n_embd=32, n_head=4)).__name__
    'RotaryPositions'
    """
    if kind == "learned":
        return LearnedPositions(block_size, n_embd)
    if kind == "sinusoidal":
        return SinusoidalPositions(n_embd, max_len=block_size)
    if kind == "rope":
        if n_embd % n_head != 0:
            raise ValueError(f"n_embd={n_embd} must be divisible by n_head={n_head} for RoPE's head size.")
        return RotaryPositions(n_embd // n_head)
    if kind == "alibi":
        return ALiBiPositions(n_head)
    if kind == "none":
        return NoPositions()
    raise ValueError(f"Unknown position scheme {kind!r}; expected one of {', '.join(map(repr, POSITION_KINDS))}.")
