"""Measuring a retriever against relevance judgements (Chapter 11).

A *run* gives, per query, documents with scores; *qrels* give, per query, judged
documents with a graded relevance (0 = judged not relevant, 1, 2, ... = more relevant).
A document the run returns that the qrels do not mention counts as not relevant: that is
the assumption behind every number below, and the source of *pooling bias* (the page
shows it by experiment).

For one query, with the run's documents ranked by score (``ranking``) and ``rel(d)`` the
judged grade (0 if unjudged):

* recall@k    = |relevant documents in the top k| / |relevant documents|
* precision@k = |relevant documents in the top k| / k
* RR@k        = 1 / rank of the first relevant document in the top k, 0 if none (MRR: its mean)
* nDCG@k      = DCG@k / IDCG@k, with DCG@k = sum_{i=1..k} rel(d_i) / log2(i + 1)
  (Järvelin & Kekäläinen 2002) and IDCG@k the DCG@k of the *ideal* ranking: all judged
  documents sorted by grade, taken from the judgements, not from what the run retrieved.

"Relevant" means a grade >= 1. These are ``trec_eval``'s definitions (and
``pytrec_eval``'s, which the tests compare against): linear gains, ranks ordered by score
and ties broken by document id in *descending* order, as ``trec_eval`` does, so that a run
written as a dict of scores has one ranking on every machine.

A query with no relevant judgement has nothing to find: ``evaluate`` leaves it out of the
means (and says how many it left out). A judged query the run has no entry for scores 0.
"""

from __future__ import annotations

import math
import re
from typing import Iterable, Mapping, Sequence

from groundup.retrieval.base import Qrels, Run

__all__ = ["rank", "dcg", "ndcg_at_k", "recall_at_k", "precision_at_k", "reciprocal_rank_at_k", "evaluate",
           "METRICS", "parse_metric"]


def rank(scores: Mapping[str, float]) -> list[str]:
    """Document ids by score, highest first; ties by id, descending (``trec_eval``'s order).

    >>> rank({"d1": 0.5, "d2": 0.9, "d3": 0.5})
    ['d2', 'd3', 'd1']
    """
    return [d for d, _ in sorted(scores.items(), key=lambda x: (x[1], x[0]), reverse=True)]


def dcg(gains: Iterable[float]) -> float:
    """Discounted cumulative gain: ``sum_i gain_i / log2(i + 1)``, ranks i from 1.

    >>> round(dcg([3, 2, 0, 1]), 4)   # 3/1 + 2/log2(3) + 0 + 1/log2(5)
    4.6925
    """
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at_k(ranking: Sequence[str], judgments: Mapping[str, int], k: int) -> float:
    """nDCG@k of one ranked list: its DCG@k over the DCG@k of the ideal
    ranking of the judgements.

    The ideal ranking sorts *every judged document* by grade, so a relevant document the
    run failed to retrieve still raises the bar. 0 when nothing is judged relevant.

    >>> ndcg_at_k(["a", "b", "c"], {"a": 1, "c": 2, "z": 2}, k=3)  # doctest: +ELLIPSIS
    0.5...
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    ideal = dcg(sorted((g for g in judgments.values() if g > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg(max(judgments.get(d, 0), 0) for d in ranking[:k]) / ideal


def recall_at_k(ranking: Sequence[str], judgments: Mapping[str, int], k: int) -> float:
    """Share of the relevant documents (grade >= 1) found in the top k; 0 when none is relevant."""
    relevant = {d for d, g in judgments.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranking[:k])) / len(relevant)


def precision_at_k(ranking: Sequence[str], judgments: Mapping[str, int], k: int) -> float:
    """Share of the top k that is relevant; a list shorter than k counts its missing places as misses."""
    return sum(1 for d in ranking[:k] if judgments.get(d, 0) > 0) / k


def reciprocal_rank_at_k(ranking: Sequence[str], judgments: Mapping[str, int], k: int) -> float:
    """1 / rank of the first relevant document within the top k, else 0."""
    for i, d in enumerate(ranking[:k]):
        if judgments.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


METRICS = {"ndcg": ndcg_at_k, "recall": recall_at_k, "precision": precision_at_k, "mrr": reciprocal_rank_at_k}


def parse_metric(name: str) -> tuple[str, int]:
    """``"ndcg@10" -> ("ndcg", 10)``; a clear error for anything else."""
    m = re.fullmatch(r"(ndcg|recall|precision|mrr)@([1-9][0-9]*)", str(name).strip().lower())
    if m is None:
        raise ValueError(f"unknown metric {name!r}: use one of ndcg@k, recall@k, precision@k, mrr@k "
                         "with k a positive integer, e.g. 'ndcg@10'")
    return m.group(1), int(m.group(2))


def evaluate(run: Run, qrels: Qrels, metrics: Sequence[str] = ("ndcg@10", "recall@100", "mrr@10"), *,
             per_query: bool = False) -> dict:
    """Mean of each metric over the judged queries that have at least one relevant document.

    Returns ``{"ndcg@10": 0.41, ..., "queries": 300, "skipped": 0}`` (``skipped``: judged
    queries without a relevant document); with ``per_query=True``, each metric maps to
    ``{query id: value}`` instead of the mean.

    >>> qrels = {"q1": {"a": 1}, "q2": {"b": 2, "c": 1}}
    >>> run = {"q1": {"a": 0.9, "x": 0.5}, "q2": {"x": 0.8, "c": 0.7}}
    >>> evaluate(run, qrels, ["mrr@10", "recall@1"])
    {'mrr@10': 0.75, 'recall@1': 0.5, 'queries': 2, 'skipped': 0}
    """
    parsed = [(m, *parse_metric(m)) for m in metrics]
    if not parsed:
        raise ValueError("evaluate() needs at least one metric, e.g. ['ndcg@10']")
    scored = {q: j for q, j in qrels.items() if any(g > 0 for g in j.values())}
    values: dict[str, dict[str, float]] = {name: {} for name, _, _ in parsed}
    for q, judgments in scored.items():
        ranking = rank(run.get(q, {}))
        for name, kind, k in parsed:
            values[name][q] = METRICS[kind](ranking, judgments, k)
    if per_query:
        return values
    n = len(scored)
    out: dict = {name: (sum(v.values()) / n if n else 0.0) for name, v in values.items()}
    out["queries"], out["skipped"] = n, len(qrels) - n
    return out
