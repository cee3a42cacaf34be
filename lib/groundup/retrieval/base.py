"""The shapes every retriever in the course shares (Chapters 11–13).

A *collection* is what BEIR (Thakur et al. 2021) standardised: documents with ids, queries
with ids, and relevance judgements (*qrels*) saying which documents answer which query.
A *run* is a retriever's answer: for each query id, the ids of the documents it returned,
each with a score (higher is better). Runs and qrels are plain nested dicts, the format
``pytrec_eval`` and ``ranx`` read, so our metrics can be checked against theirs.

Every retriever — BM25 (Chapter 11), dense, IVF, hybrid, a vector engine (Chapter 12) —
has the same two methods, so the evaluation command, the RAG pipeline (Chapter 13) and
the casebook (Chapter 14) take any of them, a learner's own included:

* ``index(doc_ids, texts)`` builds the index over the collection;
* ``search(queries, k)`` returns, per query, the top ``k`` ``(doc_id, score)`` pairs,
  best first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["Qrels", "Run", "Hit", "Collection", "Retriever", "run_from_hits", "check_queries"]

Qrels = dict[str, dict[str, int]]  # query id -> {doc id: graded relevance (0 = judged not relevant)}
Run = dict[str, dict[str, float]]  # query id -> {doc id: score}, the retriever's top k
Hit = tuple[str, float]  # (doc id, score)


@dataclass(frozen=True)
class Collection:
    """A judged collection in memory, as loaded from a BEIR-layout folder."""

    name: str  # the folder name, or a registered collection's name
    corpus: dict[str, dict[str, str]]  # doc id -> {"title": ..., "text": ...}
    queries: dict[str, str]  # query id -> query text (only queries judged in this split)
    qrels: Qrels  # the judgements of one split
    split: str = "test"  # which qrels/<split>.tsv the judgements came from
    metadata: dict[str, str] = field(default_factory=dict)  # e.g. where it came from, its SHA-256

    @property
    def doc_ids(self) -> list[str]:
        return list(self.corpus)

    def doc_texts(self) -> list[str]:
        """Each document as one string: title and text, as BEIR's baselines index them."""
        return [(d.get("title", "") + " " + d.get("text", "")).strip() for d in self.corpus.values()]


@runtime_checkable
class Retriever(Protocol):
    """What the evaluation command, RAG and the casebook need from a retriever."""

    def index(self, doc_ids: list[str], texts: list[str]) -> None: ...

    def search(self, queries: list[str], k: int = 10) -> list[list[Hit]]: ...


def run_from_hits(query_ids: list[str], hits: list[list[Hit]]) -> Run:
    """Turn ``search``'s output into a run keyed by query id."""
    if len(query_ids) != len(hits):
        raise ValueError(f"{len(query_ids)} query ids but {len(hits)} result lists")
    return {qid: {doc: float(score) for doc, score in h} for qid, h in zip(query_ids, hits)}


def check_queries(queries: list[str], indexed: bool) -> list[str]:
    """What every ``search`` checks first: a list (not one string), not empty, an index built."""
    if isinstance(queries, str):
        raise TypeError("search expects a list of queries; for one query pass [query]")
    if len(queries) == 0:
        raise ValueError("search got an empty list of queries")
    if not indexed:
        raise RuntimeError("call index(doc_ids, texts) before search")
    return list(queries)
