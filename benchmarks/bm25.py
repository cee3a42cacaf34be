"""BM25 indexing and query speed: ``groundup.retrieval.BM25`` vs ``bm25s`` vs ``rank_bm25``, one thread, one run.

    python -m benchmarks.bm25                          # the course collection: 4,000 passages, 400 queries
    python -m benchmarks.bm25 --passages 8000 --query-repeats 5
    python -m benchmarks.bm25 --collection path/to/beir/folder --split test

Every side gets the same documents and the same tokens (our analyser is ``bm25s``'s default,
checked equal token for token in the tests), Lucene's BM25 with k1 = 1.5, b = 0.75, and one
thread (``OMP_NUM_THREADS=1``, ``NUMBA_NUM_THREADS=1``, ``bm25s``'s ``n_threads=1``).
Tokenising is part of every side's time, at indexing and for queries:

* ours, ``search``: the ``Retriever`` protocol's output, ``(doc_id, score)`` tuples per query;
* ours, ``search_arrays``: (Q, k) NumPy arrays of document positions and scores;
* ours with ``backend="numba"`` (the compiled loop of ``groundup.retrieval.bm25_numba``,
  JIT compiled before timing; its compile time is printed), ``search`` and ``search_arrays``,
  on the same index;
* ``bm25s`` with its numba backend (what ``bm25s`` recommends for speed; JIT compiled before
  timing) and with its default numpy backend: (Q, k) arrays of document positions;
* ``rank_bm25`` ``BM25Okapi`` (Robertson's IDF, the same ranking wherever the IDFs are
  positive): ``get_scores`` per query and an ``argpartition`` for the top k, on the first
  ``--rank-bm25-queries`` queries only (it scans every document for every query term).

Each side runs ``--repeats`` times, sides alternating so that a change in the machine's
speed hits all of them; the median is reported. The top-k lists of ours and ``bm25s`` are
checked equal (up to the order of exact ties), and ours with numba equal to ours with scipy.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import copy
import platform
import statistics
import time

import numpy as np


def timed(fn):
    """(wall seconds, CPU seconds of this process, fn's result): on a shared machine the CPU time
    moves less with the load; everything here runs on one thread, so it is comparable."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--collection", default="course",
                    help="'course', 'scale:N' (the course collection plus N real distractor passages of the "
                         "scale corpus; 'scale:all' for all ~509k) or a BEIR-layout folder")
    ap.add_argument("--split", default="test")
    ap.add_argument("--passages", type=int, default=4000, help="course collection size (400 + up to 7,856)")
    ap.add_argument("--query-repeats", type=int, default=3, help="the judged queries, this many times over")
    ap.add_argument("--k", type=int, nargs="+", default=[10, 100])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rank-bm25-queries", type=int, default=100)
    args = ap.parse_args(argv)

    import bm25s
    import rank_bm25

    from groundup.retrieval import BM25, course_collection, load_beir, tokenize

    if args.collection == "course":
        c = course_collection(n_passages=args.passages)
    elif args.collection.startswith("scale:"):
        from groundup.retrieval.scale import distractor_pool, judged_modules, scale_collection, scale_passages

        base = course_collection(n_passages=args.passages)
        pool = distractor_pool(scale_passages(), list(base.queries.values()) + base.doc_texts(), judged_modules(base))
        n = args.collection.split(":", 1)[1]
        c = scale_collection(len(pool) if n == "all" else int(n), base=base, pool=pool)
    else:
        c = load_beir(args.collection, args.split)
    ids, texts = c.doc_ids, c.doc_texts()
    queries = list(c.queries.values()) * args.query_repeats
    n_tokens = sum(len(tokenize(t)) for t in texts)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared), Python "
          f"{platform.python_version()}, numpy {np.__version__}, bm25s {bm25s.__version__}, one thread, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"collection {c.name}: {len(texts):,} documents ({n_tokens / len(texts):.1f} terms each after analysis), "
          f"{len(queries):,} queries ({len(c.queries)} x {args.query_repeats})")

    def index_ours():
        r = BM25(backend="scipy")
        r.index(ids, texts)
        return r

    def index_bm25s(backend):
        def run():
            r = bm25s.BM25(method="lucene", k1=1.5, b=0.75, backend=backend)
            r.index(bm25s.tokenize(texts, show_progress=False), show_progress=False)
            return r
        return run

    def index_rank_bm25():
        return rank_bm25.BM25Okapi([tokenize(t) for t in texts], k1=1.5, b=0.75)

    indexers = {"ours": index_ours, "bm25s (numba)": index_bm25s("numba"), "bm25s (numpy)": index_bm25s("numpy"),
                "rank_bm25": index_rank_bm25}
    index_times = {name: [] for name in indexers}
    built = {}
    for _ in range(args.repeats):
        for name, fn in indexers.items():
            seconds, _, built[name] = timed(fn)
            index_times[name].append(seconds)
    ours, numba_side, numpy_side, okapi = (built[n] for n in indexers)
    numba_side.retrieve(bm25s.tokenize(queries[:20], show_progress=False, return_ids=False), k=10,
                        show_progress=False, n_threads=1)  # JIT compile before timing
    ours_numba = copy.copy(ours)  # the same index, scored by the compiled loop
    ours_numba.backend = "numba"
    wall, cpu = time.perf_counter(), time.process_time()
    ours_numba.search_arrays(queries[:20], k=10)  # JIT compile (or load from the cache) before timing
    print(f"ours, numba: first call (compile or cache load, 20 queries) {time.perf_counter() - wall:.2f} s wall, "
          f"{time.process_time() - cpu:.2f} s CPU")

    def okapi_search(qs, k):
        out = []
        for q in qs:
            s = okapi.get_scores(tokenize(q))
            top = np.argpartition(-s, k - 1)[:k]
            out.append(top[np.argsort(-s[top], kind="stable")])
        return out

    rows = []
    for k in args.k:
        sides = {
            "ours, search (ids, scores)": lambda: ours.search(queries, k=k),
            "ours, search_arrays": lambda: ours.search_arrays(queries, k=k),
            "ours numba, search (ids, scores)": lambda: ours_numba.search(queries, k=k),
            "ours numba, search_arrays": lambda: ours_numba.search_arrays(queries, k=k),
            "bm25s, numba backend": lambda: numba_side.retrieve(
                bm25s.tokenize(queries, show_progress=False, return_ids=False), k=k, show_progress=False, n_threads=1),
            "bm25s, numpy backend (default)": lambda: numpy_side.retrieve(
                bm25s.tokenize(queries, show_progress=False, return_ids=False), k=k, show_progress=False, n_threads=1),
            "rank_bm25": lambda: okapi_search(queries[:args.rank_bm25_queries], k),
        }
        times = {name: [] for name in sides}
        cpu_times = {name: [] for name in sides}
        outputs = {}
        for _ in range(args.repeats):
            for name, fn in sides.items():
                seconds, cpu, outputs[name] = timed(fn)
                times[name].append(seconds)
                cpu_times[name].append(cpu)
        # Agreement: our top k against bm25s's, query by query (ties may be ordered differently).
        docs, scores = outputs["ours, search_arrays"]
        numba_docs, numba_scores = outputs["ours numba, search_arrays"]
        assert np.array_equal(numba_docs, docs) and np.allclose(numba_scores, scores, rtol=1e-6, atol=0), \
            "the numba backend's results differ from scipy's"
        theirs, their_scores = outputs["bm25s, numba backend"]
        same = np.mean([set(d[d >= 0].tolist()) == set(t[s > 0].tolist()) or
                        np.isclose(s[s > 0].min(), s[s > 0][-1]) for d, t, s in zip(docs, theirs, their_scores)])
        for name, ts in times.items():
            n = args.rank_bm25_queries if name == "rank_bm25" else len(queries)
            rows.append((k, name, n / statistics.median(ts), n / statistics.median(cpu_times[name])))
        print(f"k = {k}: top-k sets equal to bm25s's (up to ties at the k-th score) for {same:.1%} of queries")

    base_index = statistics.median(index_times["bm25s (numba)"])
    print("\nindexing (tokenising included), documents per second, median of", args.repeats)
    for name, ts in index_times.items():
        med = statistics.median(ts)
        print(f"  {name:16s} {len(texts) / med:10,.0f} docs/s   {med:6.3f} s   ours/this {med / statistics.median(index_times['ours']):5.2f}x")
    print(f"\nqueries per second (tokenising included), median of {args.repeats}; ratios = ours numba "
          "(search_arrays) / this, ours scipy (search_arrays) / this, ours scipy (search) / this")
    for label, col in (("wall time", 2), ("CPU time of the process (less moved by the machine's load)", 3)):
        print(f" by {label}:")
        for k in args.k:
            qps = {row[1]: row[col] for row in rows if row[0] == k}
            for name, v in qps.items():
                print(f"  k = {k:3d}  {name:32s} {v:10,.0f} queries/s   {qps['ours numba, search_arrays'] / v:6.2f}x"
                      f"  {qps['ours, search_arrays'] / v:6.2f}x  {qps['ours, search (ids, scores)'] / v:6.2f}x")
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}; process CPU time {time.process_time():.0f} s")
    del base_index


if __name__ == "__main__":
    main()
