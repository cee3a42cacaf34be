"""Retrieval (Part V): sparse retrieval and how to measure it (Chapter 11), dense, approximate
and hybrid search (Chapter 12).

One concept per module:

* :mod:`~groundup.retrieval.base` — the shapes every retriever shares (Collection, Qrels, Run,
  the ``Retriever`` protocol: ``index(doc_ids, texts)``, ``search(queries, k)``);
* :mod:`~groundup.retrieval.text` — the analyser: lowercase, bm25s's token pattern, stop words, stemmer;
* :mod:`~groundup.retrieval.bm25` — the inverted index as a scipy sparse matrix, BM25 and TF-IDF;
* :mod:`~groundup.retrieval.bm25_numba` — the same scoring as one compiled loop over postings (``backend=``);
* :mod:`~groundup.retrieval.evaluation` — recall@k, precision@k, MRR@k, nDCG@k, ``evaluate``;
* :mod:`~groundup.retrieval.collections` — BEIR-layout folders, BEIR downloads, the course collection;
* :mod:`~groundup.retrieval.cli` — ``python -m groundup.retrieval evaluate PATH --method bm25``;
* :mod:`~groundup.retrieval.dense` — exact k-NN by dot product of unit vectors, ``DenseRetriever`` (MiniLM);
* :mod:`~groundup.retrieval.ann` — IVF from scratch (k-means cells, nprobe), ``IVFIndex``;
* :mod:`~groundup.retrieval.hybrid` — reciprocal rank fusion, score fusion, ``HybridRetriever``;
* :mod:`~groundup.retrieval.chunking` — fixed, sentence and paragraph chunks with character offsets;
* :mod:`~groundup.retrieval.engine` — the same interface on Qdrant (embedded local mode or a server);
* :mod:`~groundup.retrieval.scale` — the 500,000-passage scale corpus, built offline.

>>> from groundup.retrieval import BM25
>>> bm25 = BM25()
>>> bm25.index(["a", "b"], ["open a file for reading", "sort a list in place"])
>>> [doc for doc, _ in bm25.search(["how do I read a file"], k=2)[0]]
['a']
"""

from groundup.retrieval.base import Collection, Hit, Qrels, Retriever, Run, run_from_hits
from groundup.retrieval.bm25 import BM25, TFIDF, SparseRetriever, bm25_scores_naive, bm25_term_weight, lucene_idf
from groundup.retrieval.collections import (
    BEIR_COLLECTIONS,
    CollectionError,
    course_collection,
    download_beir,
    load_beir,
    load_collection,
    write_beir,
)
from groundup.retrieval.evaluation import (
    dcg,
    evaluate,
    ndcg_at_k,
    precision_at_k,
    rank,
    recall_at_k,
    reciprocal_rank_at_k,
)
from groundup.retrieval.text import STOPWORDS_EN, TOKEN_PATTERN, Analyzer, tokenize
# Chapter 12's dense and IVF modules need torch; they load on first use, so that BM25 and the
# metrics (and `python -m groundup.retrieval evaluate --method bm25`) start without it.
_LAZY = {"DenseRetriever": "dense", "exact_search": "dense", "exact_search_naive": "dense",
         "IVFIndex": "ann", "IVFRetriever": "ann", "kmeans": "ann"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"groundup.retrieval.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'groundup.retrieval' has no attribute {name!r}")


from groundup.retrieval.hybrid import HybridRetriever, normalize_scores, rrf, rrf_naive, score_fusion
from groundup.retrieval.chunking import Chunk, chunk_text

__all__ = [
    "Collection", "Hit", "Qrels", "Retriever", "Run", "run_from_hits",
    "Analyzer", "tokenize", "STOPWORDS_EN", "TOKEN_PATTERN",
    "BM25", "TFIDF", "SparseRetriever", "bm25_scores_naive", "bm25_term_weight", "lucene_idf",
    "evaluate", "rank", "dcg", "ndcg_at_k", "recall_at_k", "precision_at_k", "reciprocal_rank_at_k",
    "CollectionError", "load_beir", "write_beir", "course_collection", "download_beir", "load_collection",
    "BEIR_COLLECTIONS",
    "DenseRetriever", "exact_search", "exact_search_naive", "IVFIndex", "IVFRetriever", "kmeans",
    "HybridRetriever", "rrf", "rrf_naive", "normalize_scores", "score_fusion", "Chunk", "chunk_text",
]
