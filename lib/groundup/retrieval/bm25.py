"""BM25 and TF-IDF on an inverted index stored as a scipy sparse matrix (Chapter 11).

Dimension letters: N documents, V terms in the vocabulary, Q queries, k results per query.

The **inverted index** maps each term to its *postings*: the documents that contain it and
a weight for each. Stored as a CSR matrix ``W`` of shape (V, N), row ``t`` *is* the
posting list of term ``t`` (``W.indices`` the documents, ``W.data`` the weights), and
scoring a batch of queries is one sparse product: ``(Q, V) @ (V, N) -> (Q, N)``, whose
non-zeros are exactly the documents that share a term with the query. Nothing is
computed for a document that shares none.

BM25 (Robertson & Zaragoza 2009, eq. 3.15, with Lucene's IDF) scores a document d for a
query q as a sum over the query's terms t:

    score(q, d) = sum_t  IDF(t) * tf(t, d) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
    IDF(t)      = log(1 + (N - df(t) + 0.5) / (df(t) + 0.5))

``tf`` is how often t occurs in d, ``|d|`` the number of terms of d, ``avgdl`` their mean
over the collection, ``df(t)`` how many documents contain t. ``k1`` sets how fast repeated
occurrences saturate, ``b`` how much a long document is discounted. The textbook form
multiplies each term by ``(k1 + 1)``; Lucene (since 8.0) and ``bm25s`` drop that constant,
which changes no ranking, and so do we, so scores equal ``bm25s``'s. The ``+ 1`` inside
Lucene's log keeps the IDF positive even for a term in more than half the documents, where
Robertson's ``log((N - df + 0.5) / (df + 0.5))`` turns negative.

All the weights are computed once at indexing (an "eager" index, as in ``bm25s``), so a
query costs one sparse row times the matrix. ``bm25_scores_naive`` is the same formula in
plain Python, one document at a time, for reading and for the test that they agree.

Two ways to score a batch, same results (``backend=``): ``"scipy"``, the sparse product
above and ``top_k_csr``, which a reader can follow line by line; and ``"numba"``, the
compiled loop of ``bm25_numba``, which is faster on a large index: one pass over the
postings into a dense (N,) buffer, no intermediate sparse matrix (scipy's product builds one,
sizing it in a first pass), and the top k kept in a heap of size k instead of a partition and
a sort. ``"auto"`` (the default) takes numba only where it pays for its few seconds of
compiling: numba installed and an index of ``NUMBA_MIN_POSTINGS`` postings or more.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from groundup.retrieval.base import Hit
from groundup.retrieval.text import Analyzer

__all__ = ["lucene_idf", "robertson_idf", "bm25_term_weight", "bm25_scores_naive", "SparseRetriever", "BM25",
           "TFIDF", "top_k_sparse", "top_k_csr", "NUMBA_MIN_POSTINGS"]

# ---------------------------------------------------------------------------
# The formula, one term at a time
# ---------------------------------------------------------------------------


def lucene_idf(df: np.ndarray | float, n_docs: int) -> np.ndarray | float:
    """Lucene's BM25 IDF, ``log(1 + (N - df + 0.5) / (df + 0.5))``:
    positive for every df <= N.

    >>> round(float(lucene_idf(1, 1000)), 4), round(float(lucene_idf(1000, 1000)), 4)
    (6.5033, 0.0005)
    """
    return np.log1p((n_docs - df + 0.5) / (df + 0.5))


def robertson_idf(df: np.ndarray | float, n_docs: int) -> np.ndarray | float:
    """Robertson–Spärck Jones IDF, ``log((N - df + 0.5) / (df + 0.5))``: negative when df > N/2.

    >>> round(float(robertson_idf(1, 1000)), 4), round(float(robertson_idf(900, 1000)), 4)
    (6.5018, -2.1928)
    """
    return np.log((n_docs - df + 0.5) / (df + 0.5))


def bm25_term_weight(tf, doc_len, avgdl: float, k1: float = 1.5, b: float = 0.75):
    """The term-frequency part of BM25:
    ``tf / (tf + k1 * (1 - b + b * |d| / avgdl))``, in [0, 1).

    It saturates: the first occurrence counts most, each further one less, and it never
    reaches 1. A document longer than average needs more occurrences for the same
    weight.

    >>> [round(bm25_term_weight(tf, 100, 100.0), 3) for tf in (1, 2, 5, 50)]
    [0.4, 0.571, 0.769, 0.971]
    """
    return tf / (tf + k1 * (1.0 - b + b * doc_len / avgdl))


def bm25_scores_naive(
    query_terms: Sequence[str],
    docs_terms: Sequence[Sequence[str]],
    k1: float = 1.5,
    b: float = 0.75,
) -> list[float]:
    """BM25 (Lucene's variant) of one query against every document, in plain Python.

    ``query_terms`` and each of ``docs_terms`` are lists of terms, already analysed. A
    term repeated in the query counts once per occurrence, as in ``bm25s`` and Lucene.

    >>> docs = [["cat", "sat", "mat"], ["dog", "sat"], ["cat", "cat", "cat", "cat"]]
    >>> [round(s, 4) for s in bm25_scores_naive(["cat"], docs)]
    [0.188, 0.0, 0.32]
    """
    N = len(docs_terms)
    avgdl = sum(len(d) for d in docs_terms) / N
    df = Counter(t for d in docs_terms for t in set(d))
    scores = []
    for d in docs_terms:
        tf = Counter(d)
        s = 0.0
        for t in query_terms:
            if tf[t]:
                idf = math.log(1 + (N - df[t] + 0.5) / (df[t] + 0.5))
                s += idf * tf[t] / (tf[t] + k1 * (1 - b + b * len(d) / avgdl))
        scores.append(s)
    return scores


# ---------------------------------------------------------------------------
# Top k of sparse score rows
# ---------------------------------------------------------------------------


def top_k_sparse(scores: sp.csr_matrix, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each row of a (Q, N) CSR matrix, the columns of its k largest stored entries, best first.

    Only stored entries are candidates (a document that shares no term with the query has
    none), so a row may give fewer than k. Ties go to the lower column, on every machine.
    Returns, per row, ``(columns, values)``.
    """
    out = []
    indptr, indices, data = scores.indptr, scores.indices, scores.data
    for row in range(scores.shape[0]):
        cols, vals = indices[indptr[row]:indptr[row + 1]], data[indptr[row]:indptr[row + 1]]
        if len(vals) > k:  # keep everything tied with the k-th best, then sort exactly
            kth = np.partition(vals, len(vals) - k)[len(vals) - k]
            keep = vals >= kth
            cols, vals = cols[keep], vals[keep]
        order = np.lexsort((cols, -vals))[:k]  # by score descending, then column ascending
        out.append((cols[order], vals[order]))
    return out


def _order_keys(data: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """One uint64 per entry, larger = better: the score, then the lower column.

    A positive float32's bit pattern, read as an unsigned integer, orders like the number;
    with it in the high 32 bits and the column, inverted, in the low 32, "higher score, ties
    to the lower column" is plain integer order.
    """
    bits = data.astype(np.float32).view(np.uint32).astype(np.uint64)
    return (bits << np.uint64(32)) | (np.uint64(0xFFFFFFFF) - cols.astype(np.uint64))


def top_k_csr(scores: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same selection as ``top_k_sparse``, for a whole batch with little Python per row.

    Returns ``cols`` and ``vals``, the rows' results one after the other (each row's best
    first, ties to the lower column), and ``counts`` (Q,): how many results each row has,
    min(k, stored entries). A row with more than k stored scores gets one ``partition`` of
    its stored scores (a few hundred, not N) for its k-th best score; every entry at or
    above its row's k-th best is a candidate (ties included), and one sort of the
    candidates of the whole batch orders them. Needs positive float32 scores (BM25's);
    others go through ``top_k_sparse``.
    """
    Q = scores.shape[0]
    data, indptr = scores.data, scores.indptr
    if data.dtype != np.float32 or scores.shape[1] >= 1 << 32 or (len(data) and data.min() <= 0):
        rows = top_k_sparse(scores, k)
        counts = np.array([len(c) for c, _ in rows], dtype=np.int64)
        cols = np.concatenate([c for c, _ in rows]) if rows else np.zeros(0, dtype=np.int64)
        vals = np.concatenate([v for _, v in rows]) if rows else np.zeros(0, dtype=data.dtype)
        return cols, vals, counts
    n = np.diff(indptr)  # (Q,) stored entries per row
    kth = np.zeros(Q, dtype=np.float32)  # (Q,) the k-th best score; 0 keeps every entry of a short row
    for row in np.flatnonzero(n > k).tolist():
        m = n[row] - k
        kth[row] = np.partition(data[indptr[row]:indptr[row + 1]], m)[m]
    cand = np.flatnonzero(data >= np.repeat(kth, n))  # (C,) about k per row, more where scores tie
    cand_row = np.searchsorted(indptr, cand, side="right") - 1
    cand = cand[np.lexsort((~_order_keys(data[cand], scores.indices[cand]), cand_row))]  # by row, best first
    cand_row = np.searchsorted(indptr, cand, side="right") - 1
    first = np.concatenate(([0], np.cumsum(np.bincount(cand_row, minlength=Q))[:-1]))  # (Q,) where each row starts
    cand = cand[np.arange(len(cand)) - first[cand_row] < k]  # the first k of each row
    return scores.indices[cand], data[cand], np.minimum(n, k)


# backend="auto" compiles the numba path only for an index at least this large (~90,000 passages
# of ~12 terms): compiling costs ~4 s of CPU once per machine (cached after, ~0.6 s to load), which
# a small index's queries never win back (the course collection's: ~0.03 ms each with scipy, ~0.01
# ms saved; at 104,000 passages, 0.1-0.2 ms saved. benchmarks/RESULTS.md).
NUMBA_MIN_POSTINGS = 1_000_000


def _numba_available() -> bool:
    """Is numba installed? (Checked without importing it: the import alone takes a fraction of a second.)"""
    import importlib.util

    return importlib.util.find_spec("numba") is not None


# ---------------------------------------------------------------------------
# The index: shared by BM25 and TF-IDF
# ---------------------------------------------------------------------------


class SparseRetriever:
    """An inverted index over analysed text; subclasses say how a posting and a query are weighted.

    ``index(doc_ids, texts)`` and ``search(queries, k)`` implement the ``Retriever``
    protocol of ``groundup.retrieval.base``. A query with no term left after analysis (an
    empty string, only punctuation, only stop words), or whose terms are in no document,
    gets no hits: an empty list. ``search`` returns at most ``k`` hits per query, only
    documents that share a term with it.
    """

    def __init__(self, analyzer: Callable[[str], list[str]] | None = None, dtype=np.float32,
                 query_batch: int = 256, backend: str = "auto") -> None:
        if backend not in ("auto", "scipy", "numba"):
            raise ValueError(f"backend must be 'auto', 'scipy' or 'numba', got {backend!r}")
        if backend == "numba" and not _numba_available():
            raise ImportError("backend='numba' needs numba (pip install numba); backend='scipy' needs "
                              "nothing more and gives the same results, slower")
        self.analyzer = analyzer if analyzer is not None else Analyzer()
        self.dtype = np.dtype(dtype)  # of the stored weights and the scores
        self.query_batch = query_batch  # queries scored in one sparse product
        # how a batch is scored: "scipy" (a sparse product, then top_k_csr) or "numba" (bm25_numba's
        # compiled loop), the same results either way; "auto": numba if it is installed and the
        # index has NUMBA_MIN_POSTINGS postings or more, else scipy
        self.backend = backend
        self.vocab: dict[str, int] = {}  # term -> row of W
        self.doc_ids: list[str] = []
        self.W: sp.csr_matrix | None = None  # (V, N) the inverted index: row t = postings of term t

    # -- indexing --------------------------------------------------------------------------

    def index(
        self, doc_ids: Sequence[str], texts: Sequence[str], *, progress: bool = False
    ) -> None:
        doc_ids, texts = list(doc_ids), list(texts)
        if len(doc_ids) != len(texts):
            raise ValueError(
                f"index() got {len(doc_ids)} doc ids but {len(texts)} texts; they must "
                "pair up"
            )
        if not doc_ids:
            raise ValueError(
                "index() got an empty collection: there is nothing to search"
            )
        if len(set(doc_ids)) != len(doc_ids):
            dup = next(d for d, c in Counter(doc_ids).items() if c > 1)
            raise ValueError(
                f"index() got the doc id {dup!r} more than once; doc ids must be unique"
            )
        from tqdm.auto import tqdm

        vocab: dict[str, int] = {}
        # every term occurrence of the collection, document after document
        term_ids: list[int] = []
        doc_len = np.zeros(len(texts), dtype=np.int64)  # (N,) terms per document
        for i, text in enumerate(
            tqdm(texts, desc="index: analyse", unit="doc", disable=not progress)
        ):
            terms = self.analyzer(text)
            term_ids.extend(vocab.setdefault(t, len(vocab)) for t in terms)
            doc_len[i] = len(terms)
        # the document of each occurrence
        rows = np.repeat(np.arange(len(texts)), doc_len)
        cols = np.asarray(term_ids, dtype=np.int64)
        tf = sp.csr_matrix((np.ones(len(cols), dtype=np.float64), (rows, cols)),
                           # (N, V) duplicates summed: term counts
                           shape=(len(texts), max(len(vocab), 1)))
        self.vocab, self.doc_ids = vocab, doc_ids
        # (N,) for turning columns into ids in bulk
        self._doc_id_array = np.array(doc_ids, dtype=object)
        # (V, N): the inverted index
        self.W = self._weigh(tf, doc_len).T.tocsr().astype(self.dtype)
        self.W.eliminate_zeros()

    def _weigh(self, tf: sp.csr_matrix, doc_len: np.ndarray) -> sp.csr_matrix:
        raise NotImplementedError

    # -- queries ---------------------------------------------------------------------------

    def _query_matrix(self, queries: Sequence[str]) -> sp.csr_matrix:
        """(Q, V): how often each known term occurs in each query (unknown terms match nothing)."""
        vocab_get = self.vocab.get
        cols: list[int] = []
        lens = np.zeros(len(queries), dtype=np.int64)  # (Q,) known terms per query
        analyse, a = self.analyzer, self.analyzer
        if isinstance(a, Analyzer) and a.stemmer is None:
            # The documents went through the same analyser, so no stop word is in the vocabulary:
            # looking the raw terms up drops them, and saves a pass over each query's terms.
            split, lower = a._findall, a.lower
            analyse = lambda q: split(q.lower() if lower else q)  # noqa: E731
        for i, q in enumerate(queries):
            if not isinstance(q, str):
                raise TypeError(f"each query must be a str, got {type(q).__name__}")
            ids = [t for t in map(vocab_get, analyse(q)) if t is not None]
            cols.extend(ids)
            lens[i] = len(ids)
        indptr = np.concatenate(([0], np.cumsum(lens)))
        # A term repeated in the query is stored twice (and so counts twice): the product sums both.
        return sp.csr_matrix((np.ones(len(cols), dtype=self.dtype), np.asarray(cols, dtype=np.int64), indptr),
                             shape=(len(queries), self.W.shape[0]))

    def _check_ready(self) -> None:
        if self.W is None:
            raise RuntimeError(f"{type(self).__name__}: call index(doc_ids, texts) before searching")

    def get_scores(self, query: str) -> np.ndarray:
        """(N,) the score of every document for one query (0 where it shares no term)."""
        self._check_ready()
        return (self._query_matrix([query]) @ self.W).toarray()[0]

    def search(self, queries: Sequence[str], k: int = 10, *, progress: bool = False) -> list[list[Hit]]:
        """Per query, up to k ``(doc_id, score)`` pairs, best first (ties: earlier document first)."""
        self._check_ready()
        if isinstance(queries, str):
            raise TypeError("search() takes a list of queries; wrap a single query as [query]")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        from tqdm.auto import tqdm

        queries, results = list(queries), []
        with tqdm(total=len(queries), desc="search", unit="query", disable=not progress) as bar:
            for start in range(0, len(queries), self.query_batch):
                chunk = queries[start:start + self.query_batch]
                cols, vals, counts = self._search_batch(chunk, int(k))
                ids, vals = self._doc_id_array[cols].tolist(), vals.tolist()
                end = np.cumsum(counts).tolist()
                results.extend(list(zip(ids[e - c:e], vals[e - c:e])) for e, c in zip(end, counts.tolist()))
                bar.update(len(chunk))
        return results

    def _use_numba(self) -> bool:
        if self.backend == "auto":
            if self.W.nnz < NUMBA_MIN_POSTINGS or not _numba_available():
                return False
            try:
                import groundup.retrieval.bm25_numba  # noqa: F401
            except ImportError:  # installed but broken (e.g. built for another NumPy): scipy gives the same results
                self.backend = "scipy"
                return False
            return True
        return self.backend == "numba"

    def _search_batch(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._use_numba():
            docs, scores, counts = self._top_k_numba(queries, k)
            keep = np.arange(docs.shape[1]) < counts[:, None]  # (Q, k') the filled places, row by row
            return docs[keep], scores[keep], counts
        scores = (self._query_matrix(queries) @ self.W).tocsr()  # (Q, N), stored where a term is shared
        return top_k_csr(scores, k)

    def _top_k_numba(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(Q, min(k, N)) positions and scores, padded with -1 and 0, and (Q,) counts: the compiled path."""
        from groundup.retrieval.bm25_numba import top_k_postings

        q, W = self._query_matrix(queries), self.W
        # fixed index dtypes for the (small) query arrays: each new combination of dtypes is a new compile
        return top_k_postings(q.indptr.astype(np.int64), q.indices.astype(np.int64), q.data, W.indptr,
                              W.indices, W.data, W.shape[1], min(k, W.shape[1]))

    def search_arrays(self, queries: Sequence[str], k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """``search`` as two (Q, k) arrays, document positions and scores, padded with -1 and 0.

        For callers that want NumPy out rather than ``(doc_id, score)`` tuples (as ``bm25s``
        returns them); ``self.doc_ids[j]`` is the id of position j.
        """
        self._check_ready()
        queries = list(queries)
        docs = np.full((len(queries), k), -1, dtype=np.int64)
        scores = np.zeros((len(queries), k), dtype=self.dtype)
        use_numba = self._use_numba()
        for start in range(0, len(queries), self.query_batch):
            if use_numba:  # already padded, row by row
                d, s, _ = self._top_k_numba(queries[start:start + self.query_batch], k)
                docs[start:start + len(d), :d.shape[1]], scores[start:start + len(d), :d.shape[1]] = d, s
                continue
            cols, vals, counts = self._search_batch(queries[start:start + self.query_batch], k)
            rows = np.repeat(np.arange(start, start + len(counts)), counts)
            place = np.arange(len(cols)) - np.repeat(np.cumsum(counts) - counts, counts)  # rank within the row
            docs[rows, place], scores[rows, place] = cols, vals
        return docs, scores


class BM25(SparseRetriever):
    """Okapi BM25 on an inverted index, scores equal to ``bm25s`` with the same method and analyser.

    ``method``: ``"lucene"`` (the default; IDF ``log(1 + (N - df + 0.5) / (df + 0.5))``) or
    ``"robertson"`` (IDF ``log((N - df + 0.5) / (df + 0.5))`` clipped at 0, as ``bm25s``
    does it). Both use the saturating term weight of ``bm25_term_weight``. ``backend``:
    ``"auto"``, ``"scipy"`` or ``"numba"``, how queries are scored (the module docstring).

    >>> bm25 = BM25()
    >>> bm25.index(["a", "b", "c"], ["the cat sat on the mat", "a dog sat", "cat cat cat cat"])
    >>> [(d, round(s, 4)) for d, s in bm25.search(["cat"], k=3)[0]]
    [('c', 0.32), ('a', 0.188)]
    """

    def __init__(self, k1: float = 1.5, b: float = 0.75, method: str = "lucene",
                 analyzer: Callable[[str], list[str]] | None = None, dtype=np.float32, query_batch: int = 256,
                 backend: str = "auto") -> None:
        if method not in ("lucene", "robertson"):
            raise ValueError(f"method must be 'lucene' or 'robertson', got {method!r}")
        if not k1 >= 0:
            raise ValueError(f"k1 must be >= 0 (1.2-2.0 is usual), got {k1}")
        if not 0 <= b <= 1:
            raise ValueError(f"b must be in [0, 1] (0: no length normalisation, 1: full), got {b}")
        super().__init__(analyzer, dtype, query_batch, backend)
        self.k1, self.b, self.method = float(k1), float(b), method

    def _weigh(self, tf: sp.csr_matrix, doc_len: np.ndarray) -> sp.csr_matrix:
        """(N, V) term counts -> (N, V) BM25 weights IDF(t) * tf / (tf + k1 (1 - b + b |d| / avgdl))."""
        N = tf.shape[0]
        avgdl = max(doc_len.mean(), 1e-12)  # a collection of empty documents: no division by 0
        df = np.bincount(tf.indices, minlength=tf.shape[1])  # (V,) documents containing each term
        idf = lucene_idf(df, N) if self.method == "lucene" else np.maximum(robertson_idf(df, N), 0.0)
        w = tf.tocoo()
        data = idf[w.col] * bm25_term_weight(w.data, doc_len[w.row], avgdl, self.k1, self.b)
        self.idf, self.avgdl = idf, float(doc_len.mean())
        return sp.csr_matrix((data, (w.row, w.col)), shape=tf.shape)


class TFIDF(SparseRetriever):
    """TF-IDF with cosine scores: weight ``tf * log(N / df)``, each document vector L2-normalised.

    The query is weighted the same way (with the collection's IDF) and normalised, so a
    score is the cosine between query and document in term space, in [0, 1].
    """

    def _weigh(self, tf: sp.csr_matrix, doc_len: np.ndarray) -> sp.csr_matrix:
        N = tf.shape[0]
        df = np.bincount(tf.indices, minlength=tf.shape[1])
        self.idf = np.log(N / np.maximum(df, 1))  # (V,) 0 for a term in every document
        w = tf.multiply(self.idf[None, :]).tocsr()  # (N, V)
        norms = np.sqrt(np.asarray(w.multiply(w).sum(axis=1)).ravel())  # (N,)
        return sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ w

    def _query_matrix(self, queries: Sequence[str]) -> sp.csr_matrix:
        q = super()._query_matrix(queries).astype(np.float64)
        q.sum_duplicates()  # a repeated term: one entry holding its count
        q = q.multiply(self.idf[None, :]).tocsr()  # (Q, V)
        norms = np.sqrt(np.asarray(q.multiply(q).sum(axis=1)).ravel())
        return (sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ q).astype(self.dtype).tocsr()
