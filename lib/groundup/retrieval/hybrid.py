"""Hybrid retrieval: fusing the rankings of several retrievers (Chapter 12).

BM25 and a bi-encoder fail on different queries (exact rare words vs paraphrase), so a
fusion of the two is often better than either. Two ways to fuse:

* **Reciprocal rank fusion** (Cormack, Clarke & Buettcher 2009) uses ranks only:

      RRF(d) = sum_r 1 / (k + rank_r(d)),    rank starting at 1, k = 60

  summed over the rankings r that contain d (a document missing from a ranking gets
  nothing from it). The constant k damps the weight of the very top ranks; the paper
  found k = 60 good across collections. Ranks need no calibration between systems whose
  scores live on different scales (BM25 scores are unbounded, cosines are in [-1, 1]).
* **Score fusion**: normalise each system's scores over its own top list (min-max to
  [0, 1], or z-scores), then take a weighted sum, ``w * dense + (1 - w) * sparse``
  (the "CombSUM" of Fox & Shaw 1994 with normalisation). A document missing from a list
  gets that list's minimum normalised score (0 for min-max).

Results are sorted by fused score, ties broken by doc id, so fusion is deterministic.
"""
from __future__ import annotations

import math
from typing import Literal, Sequence

from groundup.retrieval.base import Hit, check_queries

__all__ = ["rrf", "rrf_naive", "normalize_scores", "score_fusion", "HybridRetriever"]


def rrf_naive(rankings: Sequence[Sequence[str]], k: int = 60) -> list[tuple[str, float]]:
    """The formula as written, for reading: every document, every ranking, 1-based ranks.

    >>> rrf_naive([["a", "b"], ["b", "c"]], k=60)[:2]
    [('b', 0.03252247488101534), ('a', 0.01639344262295082)]
    """
    docs = sorted({d for r in rankings for d in r})
    fused = []
    for d in docs:
        score = 0.0
        for ranking in rankings:
            if d in ranking:
                score += 1.0 / (k + ranking.index(d) + 1)  # rank 1 is the first place
        fused.append((d, score))
    return sorted(fused, key=lambda t: (-t[1], t[0]))


def rrf(
    rankings: Sequence[Sequence[str] | Sequence[Hit]],
    k: int = 60,
    *,
    weights: Sequence[float] | None = None,
    limit: int | None = None,
) -> list[tuple[str, float]]:
    """Reciprocal rank fusion of ``rankings`` (each a list of doc ids, or of (doc
    id, score), best first).

    ``weights`` multiplies each ranking's contribution (all 1 in the paper); ``limit``
    keeps the best ``limit`` fused documents. A doc id repeated within one ranking
    counts at its first (best) place only.

    >>> rrf([["a", "b"], ["b", "c"]])[0][0]
    'b'
    """
    if isinstance(k, bool) or not isinstance(k, (int, float)) or k < 0:
        raise ValueError(
            f"the RRF constant k must be a number >= 0 (the paper uses 60), got {k!r}"
        )
    if weights is not None and len(weights) != len(rankings):
        raise ValueError(f"{len(rankings)} rankings but {len(weights)} weights")
    fused: dict[str, float] = {}
    for r, ranking in enumerate(rankings):
        w = 1.0 if weights is None else float(weights[r])
        seen = set()
        for position, item in enumerate(ranking):
            doc = item[0] if isinstance(item, tuple) else item
            if doc in seen:
                continue
            seen.add(doc)
            # position 0 is rank 1
            fused[doc] = fused.get(doc, 0.0) + w / (k + position + 1)
    out = sorted(fused.items(), key=lambda t: (-t[1], t[0]))
    return out if limit is None else out[:limit]


def normalize_scores(hits: Sequence[Hit], method: Literal["minmax", "zscore"] = "minmax") -> dict[str, float]:
    """One system's scores on its top list, made comparable with another's.

    min-max: (s - min) / (max - min), so the best is 1 and the last 0 (all 1 if every
    score is equal); z-score: (s - mean) / std (all 0 if the std is 0).

    >>> normalize_scores([("a", 12.0), ("b", 8.0), ("c", 4.0)])
    {'a': 1.0, 'b': 0.5, 'c': 0.0}
    """
    if not hits:
        return {}
    scores = [float(s) for _, s in hits]
    if method == "minmax":
        lo, hi = min(scores), max(scores)
        return {d: (s - lo) / (hi - lo) if hi > lo else 1.0 for (d, _), s in zip(hits, scores)}
    if method == "zscore":
        mean = sum(scores) / len(scores)
        std = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
        return {d: (s - mean) / std if std > 0 else 0.0 for (d, _), s in zip(hits, scores)}
    raise ValueError(f"method must be 'minmax' or 'zscore', got {method!r}")


def score_fusion(runs: Sequence[Sequence[Hit]], weights: Sequence[float] | None = None,
                 method: Literal["minmax", "zscore"] = "minmax", limit: int | None = None) -> list[tuple[str, float]]:
    """Weighted sum of normalised scores; a doc missing from a list gets that list's lowest normalised score.

    >>> score_fusion([[("a", 12.0), ("b", 8.0), ("c", 4.0)], [("c", 0.9), ("a", 0.5)]], weights=[0.5, 0.5])
    [('a', 0.5), ('c', 0.5), ('b', 0.25)]
    """
    weights = [1.0 / len(runs)] * len(runs) if weights is None else list(weights)
    if len(weights) != len(runs):
        raise ValueError(f"{len(runs)} result lists but {len(weights)} weights")
    normed = [normalize_scores(h, method) for h in runs]
    docs = {d for n in normed for d in n}
    floor = [min(n.values()) if n else 0.0 for n in normed]
    fused = {d: sum(w * n.get(d, f) for w, n, f in zip(weights, normed, floor)) for d in docs}
    out = sorted(fused.items(), key=lambda t: (-t[1], t[0]))
    return out if limit is None else out[:limit]


class HybridRetriever:
    """BM25 and dense retrieval, fused: the ``Retriever`` interface over both.

    ``HybridRetriever()`` is Chapter 11's ``BM25()`` and Chapter 12's ``DenseRetriever()``
    (MiniLM) fused by RRF with k = 60, each asked for its top ``depth`` (100) documents.
    ``fusion="minmax"`` or ``"zscore"`` uses weighted score fusion with ``weight`` on the
    dense side instead. Any two (or more) retrievers can be passed as ``retrievers``.
    """

    def __init__(self, retrievers: Sequence | None = None, *, fusion: Literal["rrf", "minmax", "zscore"] = "rrf",
                 k_rrf: int = 60, weights: Sequence[float] | None = None, depth: int = 100):
        if retrievers is None:
            from groundup.retrieval.bm25 import BM25
            from groundup.retrieval.dense import DenseRetriever

            retrievers = [BM25(), DenseRetriever()]
        if fusion not in ("rrf", "minmax", "zscore"):
            raise ValueError(f"fusion must be 'rrf', 'minmax' or 'zscore', got {fusion!r}")
        self.retrievers = list(retrievers)
        self.fusion = fusion
        self.k_rrf = k_rrf
        self.weights = weights
        self.depth = depth  # how many results each retriever contributes before fusion
        self.n_docs = 0

    def index(self, doc_ids: list[str], texts: list[str]) -> None:
        for r in self.retrievers:
            r.index(doc_ids, texts)
        self.n_docs = len(doc_ids)

    def search_each(self, queries: list[str], k: int) -> list[list[list[Hit]]]:
        """Each retriever's own top ``max(k, depth)`` for each query: [retriever][query] -> hits."""
        depth = min(max(k, self.depth), self.n_docs)
        return [r.search(list(queries), depth) for r in self.retrievers]

    def fuse(self, per_retriever: list[list[Hit]], k: int) -> list[Hit]:
        if self.fusion == "rrf":
            return rrf(per_retriever, self.k_rrf, weights=self.weights, limit=k)
        return score_fusion(per_retriever, self.weights, self.fusion, limit=k)

    def search(self, queries: list[str], k: int = 10) -> list[list[Hit]]:
        queries = check_queries(queries, self.n_docs > 0)
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= self.n_docs:
            raise ValueError(f"k must be an int in [1, {self.n_docs}], got {k!r}")
        each = self.search_each(queries, k)
        return [self.fuse([hits[q] for hits in each], k) for q in range(len(queries))]
