"""Case family 2: latency spikes under load.

* ``kv-cache``: each token takes longer than the one before, and the slowest tokens of a
  long answer are many times the median. Cause: decoding without the KV cache
  (Chapter 7): step t recomputes all t positions. Measured: p99 time per token over one
  generation. Fix: ``use_cache=True``.
* ``long-context``: a long prompt's first token takes far longer than its length
  suggests. Cause: attention written out (Chapter 3) materialises the (T, T) weight
  matrix of every head. Measured: the prefill time of a long prompt, and the bytes of
  the weights. Fix: the fused kernel (``GPTConfig(fast=True)``, ``sdpa_fast``), which
  never stores that matrix (its work is still quadratic: only a shorter context cuts that).
* ``padding``: a batch of requests takes far longer than their tokens justify. Cause:
  requests batched in arrival order, each padded to the longest in its batch (Chapters 5
  and 9): the model computes the padding too. Measured: wall time and the share of
  computed positions that are padding. Fix: sort requests by length before batching.

Dimension letters: B batch, T time (tokens), C channels, nh heads.
"""

from __future__ import annotations

import random
import statistics
import time

import torch

from groundup.casebook.base import CaseResult, check_size

__all__ = ["wide_model", "percentile", "case_kv_cache", "prefill_seconds", "attention_weight_bytes",
           "case_long_context", "make_batches", "padded_share", "run_batches", "case_padding"]


def wide_model(*, block_size: int = 512, fast: bool = True, seed: int = 0):
    """Chapter 7's timing model: 4 layers, 256 channels, random weights (speed does not
    depend on what a model knows)."""
    from groundup.gpt import GPT, GPTConfig

    torch.manual_seed(seed)
    return GPT(GPTConfig(n_layer=4, n_head=4, n_embd=256, block_size=block_size, vocab_size=256, fast=fast)).eval()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation, as ``numpy.percentile``.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.5
    """
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def case_kv_cache(size: str = "small") -> CaseResult:
    """p99 ms per token of one greedy generation, without and with the cache."""
    from groundup.generate import step_times

    check_size(size)
    n_new = {"tiny": 48, "small": 150, "full": 480}[size]
    model = wide_model()
    prompt = torch.randint(0, 256, (1, 16), generator=torch.Generator().manual_seed(0))
    uncached = step_times(model, prompt, n_new, use_cache=False)[1:]  # entry 0 is the prefill
    cached = step_times(model, prompt, n_new, use_cache=True)[1:]
    ms = lambda xs, q: 1e3 * percentile(xs, q)  # noqa: E731
    return CaseResult(
        "kv-cache", f"p99 ms per token over {n_new} tokens", ms(uncached, 99), ms(cached, 99), False,
        cause="decoding without the KV cache: step t runs all t tokens through the model again",
        fix="generate(..., use_cache=True): keep each layer's keys and values, feed one token per step",
        details={"p50_before": ms(uncached, 50), "p50_after": ms(cached, 50), "uncached": uncached,
                 "cached": cached, "total_before": sum(uncached), "total_after": sum(cached)})


@torch.no_grad()
def prefill_seconds(model, T: int, *, repeats: int = 1) -> float:
    """Best-of-``repeats`` seconds for one forward pass over a random (1, T) prompt."""
    idx = torch.randint(0, model.config.vocab_size, (1, T), generator=torch.Generator().manual_seed(T))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        model(idx, last_only=True)
        best = min(best, time.perf_counter() - t0)
    return best


def attention_weight_bytes(n_head: int, T: int, *, batch: int = 1, bytes_per_value: int = 4) -> int:
    """Bytes of one layer's attention weights (B, nh, T, T), which written-out attention stores.

    >>> attention_weight_bytes(12, 8192) / 2**30   # GPT-2's 12 heads at 8k tokens, fp32: GiB per layer
    3.0
    """
    return batch * n_head * T * T * bytes_per_value


def case_long_context(size: str = "small") -> CaseResult:
    """Prefill time of the longest prompt with written-out attention vs the fused kernel."""
    check_size(size)
    lengths = {"tiny": (128, 256), "small": (256, 512, 1024), "full": (512, 1024, 2048, 4096, 8192)}[size]
    block = max(lengths)
    naive, fused = wide_model(block_size=block, fast=False), wide_model(block_size=block, fast=True)
    t_naive = [prefill_seconds(naive, T, repeats=3) for T in lengths]  # best of 3: less scheduler noise
    t_fused = [prefill_seconds(fused, T, repeats=3) for T in lengths]
    return CaseResult(
        "long-context", f"ms to prefill a {lengths[-1]}-token prompt", 1e3 * t_naive[-1], 1e3 * t_fused[-1], False,
        cause="written-out attention builds every head's (T, T) weight matrix: memory and time grow as T^2",
        fix="the fused kernel (sdpa_fast): the same result without storing the (T, T) matrix",
        details={"lengths": list(lengths), "naive": t_naive, "fused": t_fused,
                 "weight_bytes": [4 * attention_weight_bytes(4, T) for T in lengths]})  # 4 layers


def make_batches(lengths: list[int], batch_size: int, *, sort: bool) -> list[list[int]]:
    """Indices of requests grouped into batches: in arrival order, or sorted by length.

    >>> make_batches([5, 1, 4, 2], 2, sort=True)
    [[1, 3], [2, 0]]
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i]) if sort else list(range(len(lengths)))
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def padded_share(lengths: list[int], batches: list[list[int]]) -> float:
    """Share of the computed positions that are padding (each batch padded to its longest).

    >>> padded_share([4, 1], [[0, 1]])   # 8 positions computed, 5 real
    0.375
    """
    computed = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    return 1 - sum(lengths) / computed


@torch.no_grad()
def run_batches(model, requests: list[torch.Tensor], batches: list[list[int]]) -> float:
    """Seconds to run every batch through ``model`` (a prefill), each right-padded with token 0.

    In a causal model right padding changes no real position's output (a token never
    attends to a later one), so no mask is needed; the padding is computed all the same."""
    t0 = time.perf_counter()
    for b in batches:
        T = max(len(requests[i]) for i in b)
        idx = torch.zeros(len(b), T, dtype=torch.long)  # (B, T), right-padded
        for row, i in enumerate(b):
            idx[row, :len(requests[i])] = requests[i]
        model(idx)  # (B, T, V) logits: every position, padding included, is computed
    return time.perf_counter() - t0


def case_padding(size: str = "small") -> CaseResult:
    """Wall time to encode a stream of requests of long-tailed lengths, arrival order vs sorted."""
    check_size(size)
    n = {"tiny": 32, "small": 64, "full": 1024}[size]
    batch = 8  # requests per batch
    rng = random.Random(0)
    # Long-tailed lengths, as real prompts: most short, a few near the window.
    lengths = [min(512, max(4, int(rng.lognormvariate(3.2, 0.9)))) for _ in range(n)]
    g = torch.Generator().manual_seed(0)
    requests = [torch.randint(1, 256, (L,), generator=g) for L in lengths]
    model = wide_model()
    arrival, by_length = make_batches(lengths, batch, sort=False), make_batches(lengths, batch, sort=True)
    run_batches(model, requests, by_length[:1])  # warm-up
    t_before = run_batches(model, requests, arrival)
    t_after = run_batches(model, requests, by_length)
    return CaseResult(
        "padding", f"seconds to run {n} requests in batches of {batch}", t_before, t_after, False,
        cause="requests batched in arrival order: each is padded to the longest in its batch, and the "
              "model computes the padding",
        fix="sort (or bucket) requests by length before batching, so each batch pads to a similar length",
        details={"padding_before": padded_share(lengths, arrival), "padding_after": padded_share(lengths, by_length),
                 "median_length": statistics.median(lengths), "max_length": max(lengths)})
