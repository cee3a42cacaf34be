"""Language modelling from the bottom: softmax, cross-entropy, and the bigram model (Chapter 2).

A language model assigns a probability to the next token given the ones before it.
This module builds the pieces every later model reuses, then the simplest model
there is, two ways:

1. ``BigramCounts``: count how often token b follows token a, add k to every count
   (add-k smoothing), divide by the row sum. No training, just counting.
2. ``BigramLM``: the same table, but of logits, learned by gradient descent on the
   cross-entropy. It should end up where the counts are; the chapter watches it get
   there.

Dimension letters: B batch, T time, V vocabulary size, N = B*T rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.nn as nn
from torch import Tensor

__all__ = [
    "softmax",
    "log_softmax",
    "cross_entropy",
    "perplexity",
    "BigramCounts",
    "BigramLM",
    "get_batch",
    "make_batches",
    "BigramTrainConfig",
    "train_bigram",
]


# ---------------------------------------------------------------------------
# Softmax and cross-entropy
# ---------------------------------------------------------------------------


def softmax(logits: Tensor, dim: int = -1) -> Tensor:
    """softmax(z)_i = exp(z_i) / sum_j exp(z_j), computed stably.

    Subtracting the maximum first changes nothing mathematically (it cancels in the
    ratio) but keeps exp() from overflowing: exp(1000) is inf in float32.

    >>> softmax(torch.tensor([1000.0, 1000.0])).tolist()
    [0.5, 0.5]
    """
    z = logits - logits.amax(dim=dim, keepdim=True)  # largest entry is now 0
    e = torch.exp(z)
    return e / e.sum(dim=dim, keepdim=True)


def log_softmax(logits: Tensor, dim: int = -1) -> Tensor:
    """log softmax(z)_i = z_i - log sum_j exp(z_j), with the same
    max trick (log-sum-exp)."""
    m = logits.amax(dim=dim, keepdim=True)
    return logits - m - torch.log(torch.exp(logits - m).sum(dim=dim, keepdim=True))


def cross_entropy(logits: Tensor, targets: Tensor, ignore_index: int = -100) -> Tensor:
    """Mean negative log-likelihood of the targets: -(1/N) sum_n log p(target_n).

    ``logits`` is (B, T, V) with ``targets`` (B, T), or (N, V) with targets (N,).
    Targets equal to ``ignore_index`` (padding) are left out of the mean, as in
    ``torch.nn.functional.cross_entropy``.

    >>> cross_entropy(torch.zeros(2, 4), torch.tensor([0, 3]))   # uniform over 4: ln 4
    tensor(1.3863)
    """
    if logits.dim() == 3:
        B, T, V = logits.shape
        if targets.shape != (B, T):
            raise ValueError(
                f"For logits of shape (B, T, V)={tuple(logits.shape)} the targets must "
                f"be (B, T)=({B}, {T}), got {tuple(targets.shape)}. Targets are the "
                "inputs shifted by one position."
            )
        # (N, V), (N,)
        logits, targets = logits.reshape(B * T, V), targets.reshape(B * T)
    elif logits.dim() != 2 or targets.shape != logits.shape[:1]:
        raise ValueError(
            "cross_entropy expects logits (N, V) with targets (N,) or logits (B, T, V) "
            f"with targets (B, T); got logits {tuple(logits.shape)} and targets "
            f"{tuple(targets.shape)}."
        )
    if targets.dtype not in (torch.int64, torch.int32):
        raise TypeError(
            "targets must be integer token ids (torch.long), got dtype "
            f"{targets.dtype}."
        )
    keep = targets != ignore_index  # (N,)
    logp = log_softmax(logits, dim=-1)  # (N, V)
    # (N_kept,) log p(target)
    picked = logp[keep].gather(1, targets[keep].long()[:, None])[:, 0]
    return -picked.mean()


def perplexity(loss: float | Tensor) -> float:
    """exp(mean NLL): the size of a uniform choice that is just as uncertain.

    >>> # a model that is uniform over 65 characters
    >>> round(perplexity(math.log(65)), 6)
    65.0
    """
    return math.exp(float(loss))


# ---------------------------------------------------------------------------
# The counting bigram model
# ---------------------------------------------------------------------------


def _as_ids(ids: Sequence[int] | Tensor) -> Tensor:
    t = torch.as_tensor(ids, dtype=torch.long)
    if t.dim() != 1:
        raise ValueError(f"Expected a 1-D sequence of token ids, got shape {tuple(t.shape)}.")
    return t


class BigramCounts:
    """P(b | a) = (count(a, b) + k) / (count(a, .) + k V): a bigram model by counting.

    Add-k smoothing gives every pair a pseudo-count k, so a pair never seen in
    training still gets a small probability instead of zero (and infinite NLL).

    >>> m = BigramCounts(k=0.0).fit([0, 1, 0, 1, 0, 2], vocab_size=3)
    >>> m.counts.tolist()          # 0->1 twice, 1->0 twice, 0->2 once
    [[0.0, 2.0, 1.0], [2.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    >>> [round(p, 3) for p in m.probs[0].tolist()]
    [0.0, 0.667, 0.333]
    """

    def __init__(self, k: float = 1.0) -> None:
        if k < 0:
            raise ValueError(f"The smoothing constant k must be >= 0, got {k}.")
        self.k = k
        self.counts: Tensor | None = None  # (V, V) counts[a, b] = times b followed a

    def fit(self, ids: Sequence[int] | Tensor, vocab_size: int) -> "BigramCounts":
        """Count the pairs (ids[t], ids[t+1]) of one token stream."""
        ids = _as_ids(ids)
        if ids.numel() and int(ids.max()) >= vocab_size:
            raise ValueError(
                f"Token id {int(ids.max())} is out of range for "
                f"vocab_size={vocab_size}."
            )
        pair = ids[:-1] * vocab_size + ids[1:]  # (n-1,) each pair as one number a*V + b
        self.counts = (
            torch.bincount(pair, minlength=vocab_size * vocab_size)
            .view(vocab_size, vocab_size)
            .float()
        )
        return self

    def _require_fit(self) -> Tensor:
        if self.counts is None:
            raise RuntimeError(
                "This BigramCounts has not been fitted yet: call .fit(ids, vocab_size) "
                "first."
            )
        return self.counts

    @property
    def probs(self) -> Tensor:
        """(V, V) row-stochastic matrix P[a, b] = P(b | a). A row never seen
        (and k=0) is uniform."""
        counts = self._require_fit() + self.k  # (V, V)
        rows = counts.sum(dim=1, keepdim=True)  # (V, 1)
        V = counts.size(0)
        return torch.where(
            rows > 0, counts / rows.clamp_min(1e-30), torch.full_like(counts, 1.0 / V)
        )

    def nll(self, ids: Sequence[int] | Tensor) -> float:
        """Mean negative log-likelihood (nats per token) of the
        next tokens of a stream."""
        ids = _as_ids(ids)
        p = self.probs[ids[:-1], ids[1:]]  # (n-1,) P(ids[t+1] | ids[t])
        return float(-torch.log(p).mean())

    def sample(
        self, n: int, start: int = 0, generator: torch.Generator | None = None
    ) -> list[int]:
        """Draw ``n`` tokens after ``start``, one at a time from P(. | previous)."""
        probs = self.probs
        out = [start]
        for _ in range(n):
            out.append(int(torch.multinomial(probs[out[-1]], 1, generator=generator)))
        return out


# ---------------------------------------------------------------------------
# The learned bigram model
# ---------------------------------------------------------------------------


class BigramLM(nn.Module):
    """A V x V table of logits: row a holds the scores of every next token after a.

    It is ``BigramCounts`` with the division replaced by gradient descent: the
    logits table that minimises the cross-entropy on a corpus has
    softmax(row a) = the observed frequencies after a.

    >>> model = BigramLM(vocab_size=5)
    >>> logits, loss = model(torch.tensor([[1, 2]]), torch.tensor([[2, 3]]))
    >>> tuple(logits.shape)      # (B, T, V)
    (1, 2, 5)
    """

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        # row a: logits of the next token
        self.token_logits = nn.Embedding(vocab_size, vocab_size)
        # start near uniform: loss ~ ln V
        nn.init.normal_(self.token_logits.weight, std=0.01)

    def forward(
        self, idx: Tensor, targets: Tensor | None = None
    ) -> tuple[Tensor, Tensor | None]:
        """idx (B, T) -> logits (B, T, V), and the mean cross-entropy if
        targets (B, T) are given."""
        if idx.dim() != 2:
            raise ValueError(
                f"BigramLM expects token ids of shape (B, T), got {tuple(idx.shape)}."
            )
        logits = self.token_logits(idx)  # (B, T, V)
        loss = None if targets is None else cross_entropy(logits, targets)
        return logits, loss

    @torch.no_grad()
    def generate(
        self, idx: Tensor, max_new_tokens: int, generator: torch.Generator | None = None
    ) -> Tensor:
        """Extend idx (B, T) by sampling one token at a time ->
        (B, T + max_new_tokens)."""
        for _ in range(max_new_tokens):
            # (B, 1, V): a bigram only needs the last token
            logits, _ = self(idx[:, -1:])
            probs = softmax(logits[:, -1], dim=-1)  # (B, V)
            nxt = torch.multinomial(probs, 1, generator=generator)  # (B, 1)
            idx = torch.cat([idx, nxt], dim=1)  # (B, T+1)
        return idx


# ---------------------------------------------------------------------------
# Batches and the training loop
# ---------------------------------------------------------------------------


def get_batch(
    data: Tensor,
    block_size: int,
    batch_size: int,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Random windows of a token stream: x (B, T) and y (B, T) = x shifted left by one.

    >>> g = torch.Generator().manual_seed(0)
    >>> x, y = get_batch(torch.arange(10), block_size=3, batch_size=2, generator=g)
    >>> bool((y[:, :-1] == x[:, 1:]).all()) and bool((y == x + 1).all())
    True
    """
    data = _as_ids(data)
    if data.numel() <= block_size:
        raise ValueError(
            f"The data has {data.numel()} tokens, too few for windows of "
            f"block_size={block_size} plus one target; use a longer text or a smaller "
            "block_size."
        )
    starts = torch.randint(
        data.numel() - block_size, (batch_size,), generator=generator
    )  # (B,)
    offsets = torch.arange(block_size)  # (T,)
    x = data[starts[:, None] + offsets]  # (B, T)
    y = data[starts[:, None] + offsets + 1]  # (B, T)
    return x, y


def make_batches(data: Tensor, block_size: int, batch_size: int) -> Iterator[tuple[Tensor, Tensor]]:
    """Every non-overlapping window of the stream once, in order (for evaluation).

    >>> [x.tolist() for x, _ in make_batches(torch.arange(8), block_size=2, batch_size=2)]
    [[[0, 1], [2, 3]], [[4, 5]]]
    """
    data = _as_ids(data)
    n_windows = (data.numel() - 1) // block_size
    starts = torch.arange(n_windows) * block_size  # (n_windows,)
    offsets = torch.arange(block_size)  # (T,)
    for i in range(0, n_windows, batch_size):
        s = starts[i : i + batch_size, None]  # (B, 1)
        yield data[s + offsets], data[s + offsets + 1]  # (B, T), (B, T)


@dataclass(frozen=True)
class BigramTrainConfig:
    """Settings for ``train_bigram``."""

    steps: int = 1000  # optimizer steps
    batch_size: int = 32  # windows per step (B)
    block_size: int = 64  # tokens per window (T)
    lr: float = 0.1  # AdamW learning rate; a lone table of logits tolerates a large one
    seed: int = 0  # seeds the batch sampler


def train_bigram(
    model: BigramLM,
    data: Tensor,
    config: BigramTrainConfig = BigramTrainConfig(),
    progress: bool = True,
) -> list[float]:
    """Fit ``model`` to a token stream with AdamW; returns the
    training loss at every step."""
    from tqdm.auto import tqdm

    g = torch.Generator().manual_seed(config.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.0)
    losses = []
    model.train()
    for _ in tqdm(range(config.steps), disable=not progress, desc="bigram"):
        x, y = get_batch(data, config.block_size, config.batch_size, g)  # (B, T) each
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
