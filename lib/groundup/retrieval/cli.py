"""Evaluate a retriever on a judged collection from the command line.

    python -m groundup.retrieval evaluate course --method bm25
    python -m groundup.retrieval evaluate path/to/scifact --method hybrid --split test
    python -m groundup.retrieval evaluate scifact --method bm25 --k 1000   # downloads once (online)

``PATH`` is a BEIR-layout folder, ``course`` (the course's own collection, offline), or the
name of a BEIR collection in ``groundup.retrieval.BEIR_COLLECTIONS``. Prints the collection's
size, the index time, queries per second, and nDCG@10, recall@100 and MRR@10 (or the
``--metrics`` asked for); ``--json`` prints the same as one JSON object. ``bm25`` is this
chapter's ``BM25``; ``dense`` and ``hybrid`` are Chapter 12's ``DenseRetriever`` and
``HybridRetriever`` with their defaults.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

__all__ = ["main", "make_retriever", "evaluate_retriever"]

METHODS = ("bm25", "dense", "hybrid")


def make_retriever(method: str, *, k1: float = 1.5, b: float = 0.75):
    """A fresh retriever for ``method``; Chapter 12's are imported only when asked for."""
    if method == "bm25":
        from groundup.retrieval.bm25 import BM25

        return BM25(k1=k1, b=b)
    if method == "dense":
        from groundup.retrieval.dense import DenseRetriever

        return DenseRetriever()
    if method == "hybrid":
        from groundup.retrieval.hybrid import HybridRetriever

        return HybridRetriever()
    raise ValueError(f"unknown method {method!r}: choose one of {', '.join(METHODS)}")


def _call(fn, *args, progress: bool, **kwargs):
    """Call ``fn`` with ``progress=`` when it takes it (a learner's retriever may not)."""
    try:
        return fn(*args, progress=progress, **kwargs)
    except TypeError as exc:
        if "progress" not in str(exc):
            raise
        return fn(*args, **kwargs)


def evaluate_retriever(
    retriever,
    collection,
    *,
    k: int = 100,
    metrics=("ndcg@10", "recall@100", "mrr@10"),
    progress: bool = False,
) -> dict:
    """Index ``collection`` with ``retriever``, search every
    judged query, score the run.

    Returns the metrics (as ``evaluation.evaluate``), plus ``index_seconds``,
    ``search_seconds``, ``queries_per_second``, ``documents`` and ``queries``.
    """
    from groundup.retrieval.base import run_from_hits
    from groundup.retrieval.evaluation import evaluate, parse_metric

    for m in metrics:
        parse_metric(m)  # a typo fails before the index is built, not after
    t0 = time.perf_counter()
    _call(
        retriever.index, collection.doc_ids, collection.doc_texts(), progress=progress
    )
    index_seconds = time.perf_counter() - t0
    qids = list(collection.queries)
    t0 = time.perf_counter()
    hits = _call(
        retriever.search, [collection.queries[q] for q in qids], k, progress=progress
    )
    search_seconds = time.perf_counter() - t0
    out = evaluate(run_from_hits(qids, hits), collection.qrels, metrics)
    out.update(
        documents=len(collection.corpus),
        index_seconds=index_seconds,
        search_seconds=search_seconds,
        queries_per_second=len(qids) / search_seconds
        if search_seconds > 0
        else float("inf"),
    )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m groundup.retrieval", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("evaluate", help="index a judged collection, search its queries, print the metrics")
    ev.add_argument("path", help="a BEIR-layout folder, 'course', or a BEIR collection name (e.g. scifact)")
    ev.add_argument("--method", choices=METHODS, default="bm25")
    ev.add_argument("--split", default="test", help="which qrels/<split>.tsv to judge with (default: test)")
    ev.add_argument("--k", type=int, default=100, help="results retrieved per query (default: 100)")
    ev.add_argument("--metrics", nargs="+", default=["ndcg@10", "recall@100", "mrr@10"],
                    help="metrics as name@k: ndcg, recall, precision, mrr (default: ndcg@10 recall@100 mrr@10)")
    ev.add_argument("--k1", type=float, default=1.5, help="BM25 k1 (default 1.5)")
    ev.add_argument("--b", type=float, default=0.75, help="BM25 b (default 0.75)")
    ev.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ev.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)

    from groundup.data.download import DatasetError
    from groundup.retrieval.collections import CollectionError, load_collection

    progress = not args.no_progress and not args.json
    try:
        if args.k < 1:
            raise ValueError(f"--k must be a positive integer, got {args.k}")
        collection = load_collection(args.path, args.split, progress=progress)
        retriever = make_retriever(args.method, k1=args.k1, b=args.b)
        result = evaluate_retriever(retriever, collection, k=args.k, metrics=args.metrics, progress=progress)
    except (CollectionError, DatasetError, ValueError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = {"collection": collection.name, "split": collection.split, "method": args.method, **result}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{collection.name} ({collection.split}): {result['documents']:,} documents, {result['queries']:,} judged "
          f"queries" + (f" ({result['skipped']} without a relevant document left out)" if result["skipped"] else ""))
    print(f"method {args.method}: index {result['index_seconds']:.2f} s, "
          f"{result['queries_per_second']:,.0f} queries/s ({result['search_seconds']:.2f} s, top {args.k})")
    for m in args.metrics:
        print(f"  {m:<14} {result[m]:.4f}")
    return 0
