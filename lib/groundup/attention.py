"""Scaled dot-product attention and multi-head attention (Chapter 3).

Vaswani et al. 2017, "Attention Is All You Need", sec. 3.2:

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V                 (eq. 1)

    MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O
        where head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)

The module is read top to bottom: masks, the written-out attention the chapter
teaches, the fast path through PyTorch's fused kernel (flash attention where the
hardware has it), and the multi-head layer that GPT-2 and BERT build on.

Dimension letters: B batch, T time (sequence length), C channels (n_embd = d_model),
nh number of heads (h in the paper), hs head size (C // nh = d_k = d_v).

Mask convention: a boolean mask is True where a query MAY attend to a key (as in
``torch.nn.functional.scaled_dot_product_attention``). Note that
``torch.nn.MultiheadAttention`` uses the opposite convention (True = blocked).
A float mask is an additive bias: 0 keeps a score, -inf removes it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from groundup.positions import PositionScheme

__all__ = [
    "causal_mask",
    "padding_mask",
    "banded_causal_mask",
    "scaled_dot_product_attention",
    "sdpa_fast",
    "cached_causal_mask",
    "LayerKVCache",
    "KVCache",
    "MultiHeadAttention",
]


# ---------------------------------------------------------------------------
# Masks
# ---------------------------------------------------------------------------


def causal_mask(T: int, device: torch.device | str | None = None) -> Tensor:
    """(T, T) boolean mask, True on and below the diagonal: token t sees tokens 0..t.

    >>> causal_mask(3).int().tolist()
    [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    """
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()  # (T, T)


def banded_causal_mask(
    T: int, window: int, device: torch.device | str | None = None
) -> Tensor:
    """(T, T) causal mask that also hides keys more than ``window - 1`` steps back.

    Token t sees tokens max(0, t - window + 1)..t: a fixed local window, like a
    convolution of width ``window``.

    >>> banded_causal_mask(4, window=2).int().tolist()
    [[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]
    """
    if window < 1:
        raise ValueError(f"window must be at least 1 (the token itself), got {window}.")
    ones = torch.ones(T, T, dtype=torch.bool, device=device)
    return ones.tril() & ones.triu(-(window - 1))  # (T, T)


def cached_causal_mask(
    T_q: int, T_k: int, device: torch.device | str | None = None
) -> Tensor:
    """(T_q, T_k) causal mask when the queries are the *last* T_q of T_k positions.

    With a KV cache the keys hold every token so far (T_k) but only the new tokens
    (T_q) ask queries: query i sits at position T_k - T_q + i and sees keys 0 up to
    that position. ``causal_mask(T)`` is the case T_q = T_k.

    >>> cached_causal_mask(2, 4).int().tolist()   # 2 new tokens after 2 cached ones
    [[1, 1, 1, 0], [1, 1, 1, 1]]
    """
    if T_q > T_k:
        raise ValueError(
            f"cannot have more queries ({T_q}) than keys ({T_k}): the keys include the "
            "queries' own tokens."
        )
    # tril(diagonal=d) keeps j <= i + d; query i is at position i + (T_k - T_q).
    return torch.ones(T_q, T_k, dtype=torch.bool, device=device).tril(
        diagonal=T_k - T_q
    )  # (T_q, T_k)


def padding_mask(
    lengths_or_attention_mask: Tensor | Sequence[int], T: int | None = None
) -> Tensor:
    """(B, 1, 1, T) boolean key mask that hides padding, broadcastable to (B, nh, T, T).

    Accepts either the true lengths of right-padded sequences (B,), or a
    Hugging Face style ``attention_mask`` (B, T) with 1 on real tokens and 0 on padding.

    >>> padding_mask([2, 3]).int().flatten(1).tolist()
    [[1, 1, 0], [1, 1, 1]]
    >>> # left padding
    >>> padding_mask(torch.tensor([[0, 1, 1]])).int().flatten(1).tolist()
    [[0, 1, 1]]
    """
    x = torch.as_tensor(lengths_or_attention_mask)
    if x.dim() == 1:  # lengths (B,)
        T = int(x.max()) if T is None else T
        keep = torch.arange(T, device=x.device)[None, :] < x[:, None]  # (B, T)
    elif x.dim() == 2:  # attention_mask (B, T)
        keep = x.bool()
    else:
        raise ValueError(
            "padding_mask expects lengths of shape (B,) or an attention_mask of shape "
            f"(B, T), got a tensor of shape {tuple(x.shape)}."
        )
    return keep[:, None, None, :]  # (B, 1, 1, T)


def _check_qkv(q: Tensor, k: Tensor, v: Tensor) -> None:
    if q.dim() < 2 or k.dim() < 2 or v.dim() < 2:
        raise ValueError(
            "q, k and v must have shape (..., T, hs); got "
            f"q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}."
        )
    if q.size(-1) != k.size(-1):
        raise ValueError(
            f"q and k must have the same head size to take dot products: q (..., {q.size(-1)}) vs "
            f"k (..., {k.size(-1)}). Did you split heads differently for q and k?"
        )
    if k.size(-2) != v.size(-2):
        raise ValueError(
            f"k and v must have one row per key: k has {k.size(-2)} rows, v has {v.size(-2)}."
        )


# ---------------------------------------------------------------------------
# Scaled dot-product attention, written out (sec. 3.2.1, eq. 1)
# ---------------------------------------------------------------------------


def scaled_dot_product_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None = None,
    *,
    dropout_p: float = 0.0,
    scale: float | None = None,
    return_weights: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V, step by step.

    Args:
        q: queries (..., T_q, hs); k: keys (..., T_k, hs); v: values (..., T_k, hs_v).
        mask: boolean (True = may attend) or additive float, broadcastable to (..., T_q,
        T_k). dropout_p: dropout on the attention weights (applied whenever > 0; pass 0
        at eval). scale: multiplies the scores; defaults to 1 / sqrt(d_k) with d_k = hs.
        return_weights: also return the weights (..., T_q, T_k) (before dropout).

    Scaling by 1/sqrt(d_k) keeps the scores' variance near 1 when q and k have unit
    variance entries; without it softmax saturates as d_k grows (sec. 3.2.1).
    A query whose keys are all masked gets zero weights and a zero output, as in
    PyTorch's fused kernel.

    >>> q = k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])   # (T=2, hs=2)
    >>> v = torch.tensor([[10.0], [20.0]])               # (T=2, 1)
    >>> y, w = scaled_dot_product_attention(
    ...     q, k, v, causal_mask(2), return_weights=True
    ... )
    >>> [[round(x, 2) for x in row] for row in w.tolist()]   # token 0 sees only itself
    [[1.0, 0.0], [0.33, 0.67]]
    >>> [round(x, 2) for x in y.flatten().tolist()]
    [10.0, 16.7]
    """
    _check_qkv(q, k, v)
    d_k = q.size(-1)
    scale = 1.0 / math.sqrt(d_k) if scale is None else scale
    # (..., T_q, hs) @ (..., hs, T_k) -> (..., T_q, T_k)
    scores = (q @ k.transpose(-2, -1)) * scale
    dead = None
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, float("-inf"))  # (..., T_q, T_k)
        else:
            scores = scores + mask  # (..., T_q, T_k)
        # A row with every key masked would be softmax(-inf, ..., -inf) = NaN: give it
        # zero weights instead (that is what F.scaled_dot_product_attention does).
        # (detach: only a yes/no per row, so autograd need not keep the scores for it)
        # No data-dependent Python branch here, so meta tensors and torch.compile
        # still work. (..., T_q, 1)
        dead = scores.detach().amax(dim=-1, keepdim=True) == float("-inf")
        scores = scores.masked_fill(dead, 0.0)
    weights = torch.softmax(scores, dim=-1)  # (..., T_q, T_k), each row sums to 1
    if dead is not None:
        weights = weights.masked_fill(dead, 0.0)
    dropped = (
        F.dropout(weights, p=dropout_p, training=True) if dropout_p > 0 else weights
    )
    y = dropped @ v  # (..., T_q, T_k) @ (..., T_k, hs_v) -> (..., T_q, hs_v)
    return (y, weights) if return_weights else y


def sdpa_fast(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None = None,
    *,
    dropout_p: float = 0.0,
    scale: float | None = None,
    is_causal: bool = False,
) -> Tensor:
    """The same attention through ``torch.nn.functional.scaled_dot_product_attention``.

    PyTorch picks a fused kernel (flash attention or memory-efficient attention on a
    GPU, a fused C++ kernel on CPU) that never stores the (T_q, T_k) weight matrix.
    ``is_causal=True`` asks for the causal mask without building it (then ``mask``
    must be None). Shapes and mask convention as in ``scaled_dot_product_attention``.
    """
    _check_qkv(q, k, v)
    if is_causal and mask is not None:
        raise ValueError(
            "Pass either is_causal=True or a mask, not both: fold the causal mask into "
            "`mask`."
        )
    if mask is not None and mask.dtype != torch.bool:
        mask = mask.to(q.dtype)
    return F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=is_causal, scale=scale
    )  # (..., T_q, hs_v)


# ---------------------------------------------------------------------------
# The KV cache (Chapter 7): keys and values of past tokens, kept between steps
# ---------------------------------------------------------------------------


class LayerKVCache:
    """The keys and values one attention layer has seen so far, each (B, nh, T_past, hs).

    Generating token t+1 needs the keys and values of tokens 0..t, but those of 0..t-1
    were already computed at the previous step and do not change (causal attention:
    a past token never looks at a later one). Keeping them turns every decoding step
    from a forward pass over all t+1 tokens into one over the single new token.

    Keys are stored *before* any rotary turn: ``rotate_qk`` then turns all of them
    at their positions 0..T_k-1 each step, which keeps every ``PositionScheme`` working
    unchanged (production code stores turned keys and saves those few multiplies).

    >>> cache = LayerKVCache()
    >>> k, v = cache.update(torch.zeros(1, 2, 3, 4), torch.zeros(1, 2, 3, 4))  # prefill 3 tokens
    >>> k, v = cache.update(torch.ones(1, 2, 1, 4), torch.ones(1, 2, 1, 4))    # then one more
    >>> tuple(k.shape), cache.length
    ((1, 2, 4, 4), 4)
    """

    def __init__(self) -> None:
        self.k: Tensor | None = None  # (B, nh, T_past, hs)
        self.v: Tensor | None = None  # (B, nh, T_past, hs)

    @property
    def length(self) -> int:
        """How many tokens are cached (T_past)."""
        return 0 if self.k is None else self.k.size(-2)

    def update(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Append the new tokens' k, v (B, nh, T_new, hs); return all of them
        (B, nh, T_past + T_new, hs)."""
        if self.k is not None and (
            k.shape[:2] != self.k.shape[:2] or k.size(-1) != self.k.size(-1)
        ):
            raise ValueError(
                f"the new keys {tuple(k.shape)} do not continue the cached ones "
                f"{tuple(self.k.shape)}: batch, heads and head size must match (a new "
                "prompt needs a new cache)."
            )
        # Concatenate along time, dim -2: (B, nh, T_past, hs) + (B, nh, T_new, hs).
        self.k = k if self.k is None else torch.cat([self.k, k], dim=-2)
        self.v = v if self.v is None else torch.cat([self.v, v], dim=-2)
        return self.k, self.v


class KVCache:
    """One ``LayerKVCache`` per Transformer block: what ``GPT.forward(idx, cache=...)`` takes.

    Its size is the KV-cache memory of Chapter 7: 2 (k and v) x n_layer x T x C values
    per sequence, since nh x hs = C.

    >>> cache = KVCache(n_layer=2)
    >>> cache.length, cache.nbytes
    (0, 0)
    """

    def __init__(self, n_layer: int) -> None:
        if n_layer < 1:
            raise ValueError(f"KVCache needs one entry per layer, got n_layer={n_layer}.")
        self.layers = [LayerKVCache() for _ in range(n_layer)]

    @property
    def length(self) -> int:
        """Tokens cached so far: the position of the next token."""
        return self.layers[0].length

    @property
    def nbytes(self) -> int:
        """Bytes held by all cached keys and values."""
        return sum(t.numel() * t.element_size() for c in self.layers for t in (c.k, c.v) if t is not None)


# ---------------------------------------------------------------------------
# Multi-head attention (sec. 3.2.2)
# ---------------------------------------------------------------------------


def _combine_masks(masks: list[Tensor], dtype: torch.dtype) -> Tensor | None:
    """AND boolean masks together; if any mask is a float bias, add them all as biases."""
    masks = [m for m in masks if m is not None]
    if not masks:
        return None
    if all(m.dtype == torch.bool for m in masks):
        out = masks[0]
        for m in masks[1:]:
            out = out & m  # broadcasts, e.g. (T, T) & (B, 1, 1, T) -> (B, 1, T, T)
        return out
    out = None
    for m in masks:
        if m.dtype == torch.bool:  # True/False -> 0/-inf
            m = torch.zeros(m.shape, dtype=dtype, device=m.device).masked_fill(~m, float("-inf"))
        out = m.to(dtype) if out is None else out + m.to(dtype)
    return out


class MultiHeadAttention(nn.Module):
    """Causal (or bidirectional) multi-head self-attention with GPT-2's layer names.

    One linear layer ``c_attn`` computes Q, K and V for all heads at once (the
    paper's W^Q, W^K, W^V for every head, stacked); ``c_proj`` is W^O.

    Args:
        n_embd: model width C (d_model).
        n_head: number of heads nh (h); head size hs = n_embd // n_head.
        dropout: dropout on the attention weights and on the output.
        bias: whether the two linear layers have biases (GPT-2: yes).
        causal: hide future tokens (GPT) or not (BERT).
        positions: an optional ``PositionScheme``; its ``rotate_qk`` and ``attn_bias``
            are applied here (``add_to_input`` is the model's job).
        fast: use PyTorch's fused kernel; ``need_weights=True`` always takes the
            written-out path, since the fused kernel never forms the weights.

    >>> attn = MultiHeadAttention(n_embd=8, n_head=2)
    >>> y, w = attn(torch.randn(3, 5, 8), need_weights=True)
    >>> tuple(y.shape), tuple(w.shape)     # (B, T, C), (B, nh, T, T)
    ((3, 5, 8), (3, 2, 5, 5))
    """

    def __init__(
        self,
        n_embd: int,
        n_head: int,
        *,
        dropout: float = 0.0,
        bias: bool = True,
        causal: bool = True,
        positions: PositionScheme | None = None,
        fast: bool = True,
    ) -> None:
        super().__init__()
        if n_embd % n_head != 0:
            raise ValueError(
                f"n_embd={n_embd} is not divisible by n_head={n_head}: every head needs the same "
                f"head size n_embd // n_head. Try n_head in {[h for h in range(1, n_embd + 1) if n_embd % h == 0][:8]}."
            )
        self.n_embd = n_embd
        self.n_head = n_head
        self.head_size = n_embd // n_head
        self.dropout = dropout
        self.causal = causal
        self.fast = fast
        self.positions = positions
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)  # x -> [q | k | v]
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)  # W^O
        self.attn_dropout = nn.Dropout(dropout)
        self.resid_dropout = nn.Dropout(dropout)

    def forward(
        self,
        x: Tensor,
        *,
        attn_mask: Tensor | None = None,
        need_weights: bool = False,
        cache: LayerKVCache | None = None,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """x (B, T, C) -> y (B, T, C), or (y, weights (B, nh, T, T_k)) if
        ``need_weights``.

        ``attn_mask``: boolean (True = may attend) or additive float, broadcastable to
        (B, nh, T, T_k), e.g. ``padding_mask(lengths)`` of shape (B, 1, 1, T). It is
        combined with the causal mask and the position bias.

        ``cache``: a ``LayerKVCache`` holding the keys and values of earlier tokens. The
        T new tokens attend to those and to themselves (T_k = cached + T), and their own
        keys and values are appended to the cache.
        """
        if x.dim() != 3 or x.size(-1) != self.n_embd:
            raise ValueError(
                f"MultiHeadAttention expects x of shape (B, T, n_embd={self.n_embd}), "
                f"got {tuple(x.shape)}. A single sequence needs a batch dimension: "
                "x[None]."
            )
        B, T, C = x.shape
        nh, hs = self.n_head, self.head_size
        q, k, v = self.c_attn(x).split(C, dim=2)  # each (B, T, C)
        q = q.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        if cache is not None:
            k, v = cache.update(k, v)  # (B, nh, T_k, hs) with T_k = T_past + T
        T_k = k.size(-2)

        bias = None
        if self.positions is not None:
            # Queries are the last T of the T_k positions (the interface's convention).
            q, k = self.positions.rotate_qk(q, k)  # (B, nh, T, hs), (B, nh, T_k, hs)
            bias = self.positions.attn_bias(T, T_k)  # (nh, T, T_k) or None

        p = self.attn_dropout.p if self.training else 0.0
        weights = None
        if (
            self.fast
            and not need_weights
            and self.causal
            and attn_mask is None
            and bias is None
            and T_k == T
        ):
            # The common GPT case: let the kernel apply the causal
            # mask without building it.
            y = sdpa_fast(q, k, v, dropout_p=p, is_causal=True)  # (B, nh, T, hs)
        else:
            # With a cache, a single new token sees every key: no causal mask to build.
            causal = (
                None
                if not self.causal or T == 1
                else cached_causal_mask(T, T_k, x.device)
            )  # (T, T_k)
            # broadcasts to (B, nh, T, T_k)
            mask = _combine_masks([causal, attn_mask, bias], q.dtype)
            if self.fast and not need_weights:
                y = sdpa_fast(q, k, v, mask, dropout_p=p)  # (B, nh, T, hs)
            else:
                y, weights = scaled_dot_product_attention(
                    q, k, v, mask, dropout_p=p, return_weights=True
                )
        # (B, nh, T, hs) -> (B, T, nh, hs) -> (B, T, C)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        y = self.resid_dropout(self.c_proj(y))  # (B, T, C)
        return (y, weights) if need_weights else y
