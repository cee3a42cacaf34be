"""The compiled scoring path of ``SparseRetriever`` (``backend="numba"``), beside the scipy one.

Dimension letters: N documents, V terms, Q queries, k results per query.

The scipy path scores a batch of queries as one sparse product ``(Q, V) @ (V, N)`` and then
selects each row's top k (``bm25.top_k_csr``). This module does the same work in one
compiled loop per query, as ``bm25s``'s numba backend does:

1. for each query term t, add ``q_t * W[t, j]`` to ``scores[j]`` for every posting j of
   row t of the inverted index (``W.indices``, ``W.data``), into a dense (N,) buffer; the
   first time a document is touched its position goes onto a ``touched`` list;
2. keep the k best touched documents in a min-heap of size k (the worst kept at its root),
   so that most candidates cost one comparison and nothing is sorted but the final k;
3. reset only the touched entries, so the (N,) buffers serve the next query without an
   O(N) clear.

Why it is faster: one pass over the postings, with no intermediate sparse matrix (scipy
builds the (Q, N) product through a linked list over an N-sized accumulator, and sizes it in
a first pass), and top k without a partition or a sort of all candidates. The arithmetic is
the scipy product's: float accumulation in W's dtype, in the query's term order, so scores are
equal, not just close. Ties go to the lower document position, as in ``top_k_csr``.

Compiling takes a few seconds of CPU, so the machine code is cached in the user's cache
(``$GROUNDUP_CACHE/numba``, by default ``~/.cache/groundup/numba``), never in the library
folder, which may be read-only; where that cache cannot be written, each process compiles
on first use. ``numba`` is optional (``pip install numba``; Colab has it).
"""

from __future__ import annotations

import os
import tempfile

import numba
import numpy as np

__all__ = ["top_k_postings"]


def _jit(fn):
    """``numba.njit``, cached in the user's cache if it is writable, else not cached at all.

    numba looks for a cache folder when a function is decorated, in ``numba.config.CACHE_DIR``
    first and then *next to the source*: so it is set here, for the decoration only, and
    caching is left off unless our folder is writable.
    """
    if numba.config.CACHE_DIR:  # the user chose a folder (NUMBA_CACHE_DIR): numba uses it
        return numba.njit(cache=True)(fn)
    from groundup.retrieval.collections import _cache_root

    folder = str(_cache_root() / "numba")
    try:
        os.makedirs(folder, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return numba.njit(cache=False)(fn)
    numba.config.CACHE_DIR = folder
    try:
        return numba.njit(cache=True)(fn)
    finally:
        numba.config.CACHE_DIR = ""


@numba.njit(cache=False)
def _better(s1, d1, s2, d2):
    """Does (score s1, document d1) rank above (s2, d2)? Higher score first, then the lower document."""
    return s1 > s2 or (s1 == s2 and d1 < d2)


@numba.njit(cache=False)
def _sift_down(heap_s, heap_d, i, n):
    """Restore the min-heap (root = the worst kept result) below position i, n entries in all."""
    while True:
        worst = i
        left, right = 2 * i + 1, 2 * i + 2
        if left < n and _better(heap_s[worst], heap_d[worst], heap_s[left], heap_d[left]):
            worst = left
        if right < n and _better(heap_s[worst], heap_d[worst], heap_s[right], heap_d[right]):
            worst = right
        if worst == i:
            return
        heap_s[i], heap_s[worst] = heap_s[worst], heap_s[i]
        heap_d[i], heap_d[worst] = heap_d[worst], heap_d[i]
        i = worst


@_jit
def top_k_postings(q_indptr, q_terms, q_weights, w_indptr, w_docs, w_data, n_docs, k):
    """The k best documents of each query of a batch, scored over the postings of its terms.

    The batch is a (Q, V) CSR matrix given as its three arrays (``q_terms`` the term ids of
    each query, ``q_weights`` their weights: 1 per occurrence for BM25), and the inverted
    index W (V, N) likewise. ``k`` must be <= N. Returns ``docs`` (Q, k) positions, -1 past
    the end of a row, ``scores`` (Q, k), 0 there, and ``counts`` (Q,): results per query,
    min(k, documents with a non-zero score). Only a document sharing a term with the query is
    a candidate, and only with a non-zero sum (the entries scipy's product stores).
    """
    Q = len(q_indptr) - 1
    docs = np.full((Q, k), -1, dtype=np.int64)
    scores = np.zeros((Q, k), dtype=w_data.dtype)
    counts = np.zeros(Q, dtype=np.int64)
    acc = np.zeros(n_docs, dtype=w_data.dtype)  # (N,) one query's scores; 0 wherever untouched
    seen = np.zeros(n_docs, dtype=np.bool_)  # (N,) touched by this query
    touched = np.empty(n_docs, dtype=np.int64)  # the touched positions, in order of first touch
    heap_s = np.empty(k, dtype=w_data.dtype)  # (k,) min-heap of the best so far: scores
    heap_d = np.empty(k, dtype=np.int64)  # (k,) and their documents
    for q in range(Q):
        # 1. scatter: every posting of every query term, one pass
        n_touched = 0
        for i in range(q_indptr[q], q_indptr[q + 1]):
            t, w = q_terms[i], q_weights[i]
            for p in range(w_indptr[t], w_indptr[t + 1]):
                j = w_docs[p]
                if not seen[j]:
                    seen[j] = True
                    touched[n_touched] = j
                    n_touched += 1
                acc[j] += w * w_data[p]
        # 2. select: the first k candidates fill the heap, each later one replaces the root if better
        n = 0
        for i in range(n_touched):
            j = touched[i]
            s = acc[j]
            if s == 0:
                continue
            if n < k:  # sift the new entry up
                c = n
                heap_s[c], heap_d[c] = s, j
                n += 1
                while c > 0:
                    parent = (c - 1) // 2
                    if not _better(heap_s[parent], heap_d[parent], heap_s[c], heap_d[c]):
                        break
                    heap_s[c], heap_s[parent] = heap_s[parent], heap_s[c]
                    heap_d[c], heap_d[parent] = heap_d[parent], heap_d[c]
                    c = parent
            elif _better(s, j, heap_s[0], heap_d[0]):
                heap_s[0], heap_d[0] = s, j
                _sift_down(heap_s, heap_d, 0, n)
        # the heap, emptied worst first, fills the row from its end: best first
        counts[q] = n
        for r in range(n - 1, -1, -1):
            scores[q, r], docs[q, r] = heap_s[0], heap_d[0]
            heap_s[0], heap_d[0] = heap_s[r], heap_d[r]
            _sift_down(heap_s, heap_d, 0, r)
        # 3. reset only what this query touched
        for i in range(n_touched):
            j = touched[i]
            acc[j] = 0
            seen[j] = False
    return docs, scores, counts
