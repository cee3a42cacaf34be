"""Replay: mix a fraction of the pretraining data back into every fine-tuning batch.

Catastrophic forgetting (McCloskey & Cohen 1989) happens because nothing in the fine-tuning
loss asks the network to keep doing the old task. The oldest remedy is to keep asking:
rehearse old examples among the new ones (Robins 1995's "rehearsal"; "replay" in continual
learning, and the usual practice when LLMs are further trained). A batch of Bsz sequences with
replay fraction f holds k = round(f * Bsz) sequences of corpus A and Bsz - k of corpus B, so
the loss is

    L = (k / Bsz) L_A + (1 - k / Bsz) L_B

and its gradient pulls the shared weights back towards A at every step.

Dimension letters: Bsz sequences per batch, T tokens per sequence.
"""
from __future__ import annotations

from typing import Callable

import torch

Batch = tuple[torch.Tensor, torch.Tensor]


def replay_count(fraction: float, batch_size: int) -> int:
    """k = round(fraction * batch_size) sequences of A per batch (Python's round: halves to even).

    >>> replay_count(0.25, 12), replay_count(0.3, 12), replay_count(0.0, 8)
    (3, 4, 0)
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"the replay fraction is the share of each batch taken from corpus A, between 0 and 1; "
                         f"got {fraction}.")
    return round(fraction * batch_size)


def replay_batch(
    batch_b: Batch, batch_a: Batch, fraction: float, generator: torch.Generator
) -> Batch:
    """One fine-tuning batch with ``fraction`` of its sequences replayed from corpus A.

    ``batch_b`` = (x_b, y_b) and ``batch_a`` = (x_a, y_a), each of shape (Bsz, T). Takes
    the first Bsz - k rows of B and the first k rows of A, k =
    ``replay_count(fraction, Bsz)``, and shuffles the rows with
    ``torch.randperm(Bsz, generator=generator)``, the same permutation for x and y, so
    each target row stays with its input row. (The shuffle matters when a batch is cut
    into micro-batches or shared out across GPUs: every slice then holds A's share, not
    all of A in one slice.)

    >>> xb, xa = torch.zeros(4, 3, dtype=torch.long), torch.ones(4, 3, dtype=torch.long)
    >>> g = torch.Generator().manual_seed(3)
    >>> x, y = replay_batch((xb, xb + 10), (xa, xa + 10), 0.5, g)
    >>> x[:, 0].tolist(), (y - x).unique().tolist()
    ([1, 1, 0, 0], [10])
    """
    (x_b, y_b), (x_a, y_a) = batch_b, batch_a
    if (
        x_b.shape != y_b.shape
        or x_a.shape != y_a.shape
        or x_b.shape[1:] != x_a.shape[1:]
    ):
        raise ValueError(
            "replay_batch needs (x, y) pairs of equal shapes (Bsz, T) with the same T, "
            f"got B: {tuple(x_b.shape)}, {tuple(y_b.shape)}; A: {tuple(x_a.shape)}, "
            f"{tuple(y_a.shape)}."
        )
    n = x_b.shape[0]
    k = replay_count(fraction, n)
    if k > x_a.shape[0]:
        raise ValueError(
            f"fraction {fraction} of {n} rows needs {k} rows of A, the A batch has "
            f"{x_a.shape[0]}."
        )
    perm = torch.randperm(n, generator=generator)  # (Bsz,)
    x = torch.cat([x_b[:n - k], x_a[:k]])[perm]  # (Bsz, T)
    y = torch.cat([y_b[:n - k], y_a[:k]])[perm]  # (Bsz, T): same rows, same order as x
    return x, y


def replay_stream(next_b: Callable[[], Batch], next_a: Callable[[], Batch], fraction: float,
                  seed: int = 0) -> Callable[[], Batch]:
    """A ``next_batch()`` for the training loop: each call draws one batch from each corpus and
    mixes them with ``replay_batch``. With fraction 0 it is ``next_b`` itself (A is not read)."""
    if fraction == 0:
        return next_b
    generator = torch.Generator().manual_seed(seed)
    return lambda: replay_batch(next_b(), next_a(), fraction, generator)


__all__ = ["replay_count", "replay_batch", "replay_stream"]
