"""Retrieval quality from a score matrix: the rank of the gold answer, recall@k, MRR.

Dimension letters: Q queries, N passages.

Each query has exactly one relevant passage, ``gold[q]``. Its rank is 1 + the number of
passages that score strictly higher (so a tie is resolved in the gold's favour; with
float scores of real embeddings ties are vanishingly rare).

* recall@k: the share of queries whose gold passage is among the first k;
* MRR, mean reciprocal rank (Voorhees 1999): the mean of 1 / rank.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["gold_ranks", "recall_at_k", "mean_reciprocal_rank", "retrieval_report"]


def gold_ranks(scores: Tensor, gold: Tensor) -> Tensor:
    """The 1-based rank of each query's gold passage in its row of ``scores`` (Q, N): (Q,).

    >>> gold_ranks(torch.tensor([[0.1, 0.9, 0.5], [0.3, 0.2, 0.1]]), torch.tensor([2, 0]))
    tensor([2, 1])
    """
    if scores.dim() != 2 or gold.shape != (scores.shape[0],):
        raise ValueError(f"scores must be (Q, N) and gold (Q,), got {tuple(scores.shape)} and {tuple(gold.shape)}")
    gold_score = scores.gather(1, gold[:, None].long())  # (Q, 1)
    return (scores > gold_score).sum(dim=1) + 1  # (Q,)


def recall_at_k(scores: Tensor, gold: Tensor, k: int) -> float:
    """The share of queries whose gold passage ranks in the top ``k``."""
    return float((gold_ranks(scores, gold) <= k).double().mean())


def mean_reciprocal_rank(scores: Tensor, gold: Tensor) -> float:
    """MRR: mean over queries of 1 / rank of the gold passage."""
    return float((1.0 / gold_ranks(scores, gold).double()).mean())


def retrieval_report(scores: Tensor, gold: Tensor, ks: tuple[int, ...] = (1, 10)) -> dict[str, float]:
    """``{"R@1": ..., "R@10": ..., "MRR": ...}`` for one score matrix."""
    ranks = gold_ranks(scores, gold).double()  # (Q,)
    out = {f"R@{k}": float((ranks <= k).double().mean()) for k in ks}
    out["MRR"] = float((1.0 / ranks).mean())
    return out
