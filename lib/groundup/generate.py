"""Generating text (Chapter 7): choosing the next token, and the KV cache that makes it fast.

A language model gives a distribution over the next token; *decoding* is how we pick
one, append it, and ask again. Read top to bottom:

1. the filters that reshape the distribution: temperature, top-k, nucleus (top-p,
   Holtzman et al. 2020, "The Curious Case of Neural Text Degeneration");
2. ``sample_next``: temperature, then top-k, then top-p, then one draw (the order of
   Hugging Face ``transformers``, so the two sample the same tokens from the same seed);
3. ``generate``: the decoding loop, with the KV cache of ``groundup.attention``
   (prefill the prompt once, then one token per forward pass);
4. the cost of it all: KV-cache memory and the token bill.

Dimension letters: B batch, T time (tokens), V vocabulary, C channels, L layers.
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Iterable

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from groundup.attention import KVCache

__all__ = [
    "check_sampling_args",
    "top_k_filter",
    "top_p_filter",
    "sample_next",
    "supports_kv_cache",
    "generate",
    "step_times",
    "kv_cache_bytes",
    "token_cost",
]


# ----------------------------------------------------------------------------- arguments
def check_sampling_args(temperature: float, top_k: int | None, top_p: float | None) -> None:
    """Refuse settings that have no meaning, with the reason.

    >>> check_sampling_args(-1.0, None, None)
    Traceback (most recent call last):
    ...
    ValueError: temperature must be >= 0 (0 = greedy), got -1.0. ...
    """
    if not isinstance(temperature, (int, float)) or math.isnan(temperature) or temperature < 0:
        raise ValueError(
            f"temperature must be >= 0 (0 = greedy), got {temperature!r}. The logits are divided by it: "
            "a negative temperature would make the least likely token the most likely."
        )
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be a whole number >= 1 (or None for no top-k), got {top_k!r}.")
    if top_p is not None and (not isinstance(top_p, (int, float)) or not 0.0 < top_p <= 1.0):
        raise ValueError(
            f"top_p must be in (0, 1] (or None for no nucleus filter), got {top_p!r}: it is the probability "
            "mass to keep, so 0.9 keeps the most likely tokens that together hold 90% of it."
        )


def _check_logits(logits: Tensor) -> None:
    if not isinstance(logits, Tensor) or logits.dim() != 2 or not logits.is_floating_point():
        shape = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ValueError(
            f"expected logits of shape (B, V) and a float dtype, got {shape}. From a model's output "
            "(B, T, V), take the last position: logits[:, -1, :]."
        )


# ----------------------------------------------------------------------------- filters
def top_k_filter(logits: Tensor, k: int) -> Tensor:
    """Keep the k largest logits of each row, set the rest to -inf (Fan et al. 2018).

    A token tied with the k-th largest is kept too, so more than k may survive a tie
    (as in ``transformers``' TopKLogitsWarper): which of two equal tokens to drop would
    otherwise depend on the sort's whims.

    >>> top_k_filter(torch.tensor([[1.0, 3.0, 2.0, 3.0]]), 2)
    tensor([[-inf, 3., -inf, 3.]])
    >>> # a tie at the k-th place
    >>> top_k_filter(torch.tensor([[1.0, 3.0, 2.0, 2.0]]), 2)
    tensor([[-inf, 3., 2., 2.]])
    """
    _check_logits(logits)
    k = min(k, logits.size(-1))
    # (B, 1) the k-th largest logit of each row
    kth = torch.topk(logits, k, dim=-1).values[:, -1:]
    return logits.masked_fill(logits < kth, float("-inf"))  # (B, V)


def top_p_filter(logits: Tensor, p: float) -> Tensor:
    """Nucleus filter (Holtzman et al. 2020, eq. 3): keep the smallest set of most
    likely tokens whose probabilities add up to at least p; set the rest to -inf.

        V(p) = smallest V' with sum_{x in V'} P(x | context) >= p

    Sorted from most to least likely, a token is kept when the mass *before* it is still
    below p, so the token that crosses the threshold is kept. Tokens tied with the last
    kept one are kept too (the order among equals is arbitrary, the answer must not be).

    >>> logits = torch.tensor([[0.5, 0.3, 0.2]]).log()
    >>> top_p_filter(logits, 0.6).exp()      # 0.5 < 0.6, so 0.3 crosses and stays
    tensor([[0.5000, 0.3000, 0.0000]])
    """
    _check_logits(logits)
    if p >= 1.0:
        return logits  # keep everything (and avoid a cumulative sum that rounds past 1)
    probs = F.softmax(logits.float(), dim=-1)  # (B, V)
    sorted_probs, _ = torch.sort(probs, dim=-1, descending=True)  # (B, V)
    # (B, V) mass of the tokens ahead in the sort
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
    # (B, 1) at least 1: the first has 0 before it
    n_keep = (mass_before < p).sum(dim=-1, keepdim=True)
    # (B, 1) probability of the last kept token
    threshold = sorted_probs.gather(-1, n_keep - 1)
    return logits.masked_fill(probs < threshold, float("-inf"))  # (B, V)


# ----------------------------------------------------------------------------- one step
def sample_next(
    logits: Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Pick the next token of each row of ``logits`` (B, V); returns ids (B, 1).

        P_T(x) = softmax(z / T)_x      (temperature T; T -> 0 is
        argmax, T = 1 the model itself)

    then top-k, then top-p on the tempered distribution, then one draw with
    ``torch.multinomial``. ``temperature=0`` is greedy decoding (argmax; the filters
    cannot change the argmax, so they are skipped).

    >>> sample_next(torch.tensor([[0.0, 5.0, 1.0]]), temperature=0)
    tensor([[1]])
    """
    check_sampling_args(temperature, top_k, top_p)
    _check_logits(logits)
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)  # (B, 1)
    # (B, V) temperature first: the filters see the tempered distribution
    z = logits.float() / temperature
    if top_k is not None:
        z = top_k_filter(z, top_k)
    if top_p is not None:
        z = top_p_filter(z, top_p)
    probs = F.softmax(z, dim=-1)  # (B, V)
    return torch.multinomial(probs, num_samples=1, generator=generator)  # (B, 1)


# ----------------------------------------------------------------------------- the loop
def supports_kv_cache(model: nn.Module) -> bool:
    """True when every block and its attention accept a ``cache`` argument.

    The library's ``Block`` and ``MultiHeadAttention`` do; an attention module you wrote
    in Chapter 3 does not, and then ``generate(..., use_cache=False)`` is the way."""
    blocks = getattr(getattr(model, "transformer", None), "h", None)
    if blocks is None:
        return False

    def takes_cache(module: nn.Module) -> bool:
        return "cache" in inspect.signature(module.forward).parameters

    return all(takes_cache(b) and takes_cache(b.attn) for b in blocks)


def _stop_ids(stop: int | Iterable[int] | None) -> list[int]:
    if stop is None:
        return []
    ids = [stop] if isinstance(stop, int) else list(stop)
    if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ids):
        raise ValueError(f"stop must be a token id or a list of token ids (ints >= 0), got {stop!r}.")
    return ids


@torch.no_grad()
def generate(
    model: nn.Module,
    idx: Tensor,
    max_new_tokens: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    use_cache: bool = True,
    generator: torch.Generator | None = None,
    stop: int | Iterable[int] | None = None,
    progress: bool = False,
    return_logits: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Append up to ``max_new_tokens`` tokens to the prompts idx
    (B, T); returns (B, T + n).

    Each step runs the model, takes the last position's logits
    and calls ``sample_next``.

    * ``use_cache=True``: the first step (*prefill*) runs the whole prompt and fills a
      ``KVCache``; every later step (*decode*) feeds only the token just chosen. The
      logits are those of the plain loop, to float rounding.
    * Past ``block_size`` the model sees only the last ``block_size`` tokens (a sliding
      window). The cache cannot slide (every kept token's keys depend on the tokens that
      fell out of the window), so from there on each step is recomputed in full: same
      logits as without the cache, at the cost of the uncached loop.
    * ``stop``: a token id or ids. A row ends after emitting one and is padded with that
      id while the other rows go on; the loop ends when every row has stopped.
    * ``return_logits``: also return the logits each step sampled from, (B, n, V).

    The model is put in eval mode (no dropout) for the call and restored after.
    """
    if (
        not isinstance(idx, Tensor)
        or idx.dim() != 2
        or idx.dtype not in (torch.int64, torch.int32)
    ):
        shape = tuple(idx.shape) if isinstance(idx, Tensor) else type(idx).__name__
        raise ValueError(
            f"idx must be token ids of shape (B, T), got {shape}. One prompt needs a "
            "batch dimension: idx[None]."
        )
    if idx.size(1) == 0:
        raise ValueError(
            "idx has no tokens: a prompt needs at least one (e.g. <|endoftext|> or a "
            "newline)."
        )
    if not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be an int >= 0, got {max_new_tokens!r}.")
    check_sampling_args(temperature, top_k, top_p)
    stops = _stop_ids(stop)
    if use_cache and not supports_kv_cache(model):
        raise ValueError(
            "this model's blocks or attention take no `cache` argument, so it cannot "
            "decode with a KV cache: pass use_cache=False (your own attention module, "
            "for instance)."
        )
    block_size = model.config.block_size
    was_training = model.training
    model.eval()
    idx = idx.long()
    B = idx.size(0)
    cache = KVCache(len(model.transformer.h)) if use_cache else None
    finished = torch.zeros(B, 1, dtype=torch.bool, device=idx.device)  # (B, 1)
    # (B, 1) the stop id each row ended on
    pad = torch.zeros(B, 1, dtype=torch.long, device=idx.device)
    stop_t = torch.tensor(stops, dtype=torch.long, device=idx.device)
    all_logits = []
    steps = range(max_new_tokens)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="generating", unit="tok")
    try:
        for _ in steps:
            if cache is not None and idx.size(1) <= block_size:
                fed = idx[:, cache.length:]  # (B, T) the prompt at prefill, then (B, 1)
                logits = model(fed, cache=cache, last_only=True)[0][:, -1, :]  # (B, V)
            else:
                # past the window: free the cache, recompute over
                # the last block_size tokens
                cache = None
                # (B, V)
                logits = model(idx[:, -block_size:], last_only=True)[0][:, -1, :]
            if return_logits:
                all_logits.append(logits.float())
            nxt = sample_next(
                logits,
                temperature=temperature,
                top_k=top_k,
                top_p=top_p,
                generator=generator,
            )
            if stops:
                # (B, 1) rows that stopped repeat their stop id
                nxt = torch.where(finished, pad, nxt)
                newly = torch.isin(nxt, stop_t) & ~finished
                pad = torch.where(newly, nxt, pad)
                finished |= newly
            idx = torch.cat([idx, nxt], dim=1)  # (B, T + 1)
            if stops and bool(finished.all()):
                break
    finally:
        model.train(was_training)
    if return_logits:
        V = model.config.vocab_size
        logits_out = (
            torch.stack(all_logits, dim=1)
            if all_logits
            else idx.new_zeros(B, 0, V, dtype=torch.float)
        )
        return idx, logits_out  # (B, T + n), (B, n, V)
    return idx


# ----------------------------------------------------------------------------- costs
@torch.no_grad()
def step_times(model: nn.Module, idx: Tensor, max_new_tokens: int, *, use_cache: bool = True) -> list[float]:
    """Wall time (s) of each greedy decoding step; entry 0 is the prefill of the prompt.

    The same work as ``generate(..., temperature=0)``, one step at a time with a clock
    around each forward pass, to see how a step's cost grows with the position."""
    import time

    if idx.size(1) + max_new_tokens > model.config.block_size:
        raise ValueError(f"prompt ({idx.size(1)}) + new tokens ({max_new_tokens}) must fit in block_size "
                         f"{model.config.block_size}: past it every step is a full recompute anyway.")
    model.eval()
    cache = KVCache(len(model.transformer.h)) if use_cache else None
    times = []
    for _ in range(max_new_tokens):
        t0 = time.perf_counter()
        fed = idx[:, cache.length:] if cache is not None else idx  # (B, T_new) or the whole (B, T)
        logits = model(fed, cache=cache, last_only=True)[0][:, -1, :]  # (B, V); cache=None is the plain pass
        idx = torch.cat([idx, logits.argmax(dim=-1, keepdim=True)], dim=1)  # (B, T + 1)
        times.append(time.perf_counter() - t0)
    return times


def kv_cache_bytes(n_layer: int, n_embd: int, T: int, *, batch: int = 1, bytes_per_value: int = 4) -> int:
    """Memory of the KV cache: 2 (k and v) x L x T x C values per sequence.

    GPT-2 small (L=12, C=768) at its full 1,024-token window in fp32:

    >>> kv_cache_bytes(12, 768, 1024) / 2**20   # MiB per sequence
    72.0
    """
    return 2 * n_layer * T * n_embd * batch * bytes_per_value


def token_cost(
    prompt_tokens: int,
    output_tokens: int,
    *,
    price_in: float,
    price_out: float,
    turns: int = 1,
    history: bool = False,
) -> float:
    """What a conversation costs when an API bills per token (prices per token).

    With ``history=True`` every turn resends the whole conversation so far (the model
    has no memory between calls): turn i pays for i prompts and i-1 earlier answers as
    input, so the input bill grows with the square of the number of turns.

    >>> token_cost(100, 50, price_in=1.0, price_out=2.0)  # 100 + 2*50
    200.0
    >>> # (100+250+400) + 3*100
    >>> token_cost(100, 50, price_in=1.0, price_out=2.0, turns=3, history=True)
    1050.0
    """
    total = 0.0
    for i in range(1, turns + 1):
        sent = i * prompt_tokens + (i - 1) * output_tokens if history else prompt_tokens
        total += sent * price_in + output_tokens * price_out
    return total
