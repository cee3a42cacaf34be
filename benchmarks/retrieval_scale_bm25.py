"""The scale run's sparse half: BM25 over the course's judged queries with up to ~510,000 distractors.

`benchmarks/retrieval_scale.py` needs every passage embedded first (hours on a CPU); BM25
needs none, so this runs the "irrelevant results at high volume" measurement at full size
on any machine in minutes: the same 400 judged queries of the course collection, the same
nested distractor samples (10k inside 100k inside all), BM25 (Lucene, k1 1.5, b 0.75) built
on each, then quality, index build time, index memory and per-query latency.

    python -m benchmarks.retrieval_scale_bm25            # writes benchmarks/results/retrieval_scale_bm25.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.retrieval_scale import log, machine, percentiles, timed_each


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.retrieval_scale_bm25", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,all", help="distractor counts ('all': the whole pool)")
    ap.add_argument("--latency-queries", type=int, default=200, help="queries timed one at a time")
    ap.add_argument("--out", default="benchmarks/results/retrieval_scale_bm25.json")
    args = ap.parse_args(argv)

    from groundup.retrieval.bm25 import BM25
    from groundup.retrieval.collections import course_collection
    from groundup.retrieval.evaluation import evaluate
    from groundup.retrieval.scale import distractor_pool, judged_modules, scale_collection, scale_passages

    results: dict = {"machine": machine(), "args": vars(args), "quality": []}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    corpus = scale_passages(progress=True)
    base = course_collection()
    queries, qids = list(base.queries.values()), list(base.queries)
    pool = distractor_pool(corpus, queries + base.doc_texts(), judged_modules(base))
    results["corpus"] = {"passages": len(corpus.passages), "words": corpus.n_words, "distractor_pool": len(pool),
                         "build_or_load_s": time.perf_counter() - t}
    log("corpus", results["corpus"])
    sizes = [len(pool) if s == "all" else int(s) for s in args.sizes.split(",")]
    if max(sizes) > len(pool):
        sys.exit(f"the distractor pool has {len(pool)} passages; ask for at most that many")
    for n in [0] + sizes:
        col = scale_collection(n, base=base, pool=pool)
        bm25 = BM25()
        t = time.perf_counter()
        bm25.index(col.doc_ids, col.doc_texts())
        index_s = time.perf_counter() - t
        w = bm25.W  # (V, N) the inverted index
        memory = int(w.data.nbytes + w.indices.nbytes + w.indptr.nbytes)
        t = time.perf_counter()
        hits = bm25.search(queries, 100)  # batched, as the evaluate command runs it
        batch_s = time.perf_counter() - t
        _, times = timed_each(lambda q: bm25.search([q], 10), queries[:args.latency_queries])
        run = {q: dict(h) for q, h in zip(qids, hits)}
        row = {"distractors": n, "passages": len(col.doc_ids), "index_s": index_s, "index_bytes": memory,
               "vocabulary": int(w.shape[0]), "batch_queries_per_s": len(queries) / batch_s,
               "one_query": percentiles(times),
               "quality": evaluate(run, base.qrels, ["ndcg@10", "recall@10", "recall@100", "mrr@10"])}
        results["quality"].append(row)
        log("bm25", {k: v for k, v in row.items()})
        out.write_text(json.dumps(results, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
