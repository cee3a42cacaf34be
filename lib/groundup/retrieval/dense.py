"""Dense retrieval: a bi-encoder and exact k-nearest-neighbour search (Chapter 12).

A *bi-encoder* embeds queries and documents separately with the same model (Chapter 9's
all-MiniLM-L6-v2, mean pooled and L2-normalised) and scores a pair by the dot product of
their unit vectors, which is their cosine:

    s(q, d) = E(q) . E(d),    ||E(q)|| = ||E(d)|| = 1

(Reimers & Gurevych 2019; Karpukhin et al. 2020 train such an encoder for retrieval).
Documents are embedded once, at ``index`` time; a query costs one encoder pass and one
matrix-vector product with the (N, d) document matrix. *Exact* search scores every
document; ``groundup.retrieval.ann`` approximates it.

Dimension letters: Q queries, N documents, d embedding width, k results per query.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from groundup.retrieval.base import Hit, check_queries

__all__ = ["exact_search", "exact_search_naive", "check_unit_rows", "check_k", "index_inputs", "DenseRetriever"]


def check_unit_rows(x: Tensor, name: str, atol: float = 1e-3) -> Tensor:
    """``x`` must be a (rows, d) float tensor of unit rows: the dot product is the cosine only then."""
    if not isinstance(x, Tensor) or x.dim() != 2 or not x.is_floating_point():
        raise ValueError(f"{name} must be a float tensor of shape (rows, d), got "
                         f"{getattr(x, 'dtype', type(x).__name__)} {tuple(getattr(x, 'shape', ()))}")
    if x.shape[0]:
        norms = x.norm(dim=1)  # (rows,)
        worst = int((norms - 1).abs().argmax())
        if not abs(float(norms[worst]) - 1) <= atol:
            raise ValueError(f"{name} must hold unit vectors for cosine search (dot product of unit vectors), but "
                             f"row {worst} has norm {float(norms[worst]):.4g}. Normalise first "
                             "(groundup.embeddings.l2_normalize, or embed(..., normalize=True)).")
    return x


def check_k(k: int, n: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    if k > n:
        raise ValueError(f"k={k} is more than the {n} documents in the index; ask for at most {n}")
    return k


def exact_search_naive(queries: Tensor, docs: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """The definition, one query and one document at a time: for reading and testing.

    >>> d = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    >>> exact_search_naive(torch.tensor([[0.0, 1.0]]), d, 2)[1].tolist()
    [[2, 1]]
    """
    Q, N = queries.shape[0], docs.shape[0]
    scores = torch.empty(Q, k, dtype=docs.dtype)
    ids = torch.empty(Q, k, dtype=torch.long)
    for i in range(Q):
        s = [float(queries[i] @ docs[j]) for j in range(N)]
        best = sorted(range(N), key=lambda j: (-s[j], j))[:k]  # ties to the lower index
        ids[i] = torch.tensor(best)
        scores[i] = torch.tensor([s[j] for j in best], dtype=docs.dtype)
    return scores, ids


def exact_search(
    queries: Tensor, docs: Tensor, k: int, *, block: int = 65_536
) -> tuple[Tensor, Tensor]:
    """Top-``k`` documents of each query by dot product, scoring all
    N: (Q, k) scores and ids.

    The (Q, N) score matrix is built ``block`` documents at a time and merged with a
    running top-k, so memory stays at Q * (block + k) whatever N is. Ties go to the
    lower document id (a stable sort), as in ``exact_search_naive``.
    """
    if queries.dim() != 2 or docs.dim() != 2:
        raise ValueError(
            f"queries (Q, d) and docs (N, d) must be 2-D, got {tuple(queries.shape)} "
            f"and {tuple(docs.shape)}"
        )
    if queries.shape[1] != docs.shape[1]:
        raise ValueError(
            f"queries have width {queries.shape[1]} but the documents {docs.shape[1]}: "
            "were they embedded by the same model?"
        )
    check_k(k, docs.shape[0])
    queries = queries.to(docs.dtype)
    best_s = torch.empty(queries.shape[0], 0, dtype=docs.dtype)  # (Q, <=k)
    best_i = torch.empty(queries.shape[0], 0, dtype=torch.long)
    for start in range(0, docs.shape[0], block):
        s = queries @ docs[start:start + block].T  # (Q, b)
        idx = torch.arange(start, start + s.shape[1]).expand_as(s)  # (Q, b)
        # earlier ids first: ties stay low
        s, idx = torch.cat([best_s, s], 1), torch.cat([best_i, idx], 1)
        # (Q, k)
        order = torch.sort(s, dim=1, descending=True, stable=True).indices[:, :k]
        best_s, best_i = s.gather(1, order), idx.gather(1, order)
    return best_s, best_i


def index_inputs(encode: Callable[..., Tensor], doc_ids: list[str], texts: list[str] | None,
                 vectors: Tensor | None) -> tuple[list[str], Tensor]:
    """The doc ids (as distinct strings) and one vector each: given, or ``encode(texts, cache=True)``."""
    doc_ids = [str(d) for d in doc_ids]
    if len(set(doc_ids)) != len(doc_ids):
        raise ValueError("doc_ids must be distinct")
    if vectors is None:
        if texts is None or len(texts) != len(doc_ids):
            raise ValueError(f"index needs one text per doc id: {len(doc_ids)} ids, "
                             f"{'no' if texts is None else len(texts)} texts")
        vectors = encode(list(texts), cache=True)
    elif vectors.shape[0] != len(doc_ids):
        raise ValueError(f"{len(doc_ids)} doc ids but {vectors.shape[0]} vectors")
    return doc_ids, vectors


class DenseRetriever:
    """Exact dense retrieval behind the course's ``Retriever`` interface.

    ``DenseRetriever()`` embeds with Chapter 9's MiniLM (``groundup.bert.embed``), caching
    the document vectors with ``embed_cached`` so re-indexing the same texts is free.
    Plug in your own encoder with ``embed=`` (a function ``texts -> (N, d)`` tensor);
    or pass precomputed document ``vectors=`` (N, d) to ``index``.

    >>> r = DenseRetriever(embed=lambda texts: torch.tensor([[1.0, 0.0] if "cat" in t else [0.0, 1.0] for t in texts]))
    >>> r.index(["a", "b"], ["a cat", "a dog"])
    >>> r.search(["cat?"], k=1)
    [[('a', 1.0)]]
    """

    def __init__(self, embed: Callable[[list[str]], Tensor] | None = None, *, max_length: int = 128,
                 batch_size: int = 64, progress: bool = False, normalize: bool = True):
        self.embed_fn = embed  # None: MiniLM through embed_cached
        self.max_length = max_length  # tokens per text; MiniLM was trained on 128
        self.batch_size = batch_size
        self.progress = progress
        self.normalize = normalize  # L2-normalise whatever the encoder returns
        self.doc_ids: list[str] = []
        self.vectors: Tensor | None = None  # (N, d) unit rows

    def encode(self, texts: list[str], *, cache: bool = False) -> Tensor:
        """Unit vectors (len(texts), d) of ``texts`` (the documents are cached, queries are not)."""
        from groundup.embeddings.similarity import l2_normalize

        if self.embed_fn is not None:
            v = self.embed_fn(list(texts))
            v = torch.as_tensor(v, dtype=torch.float32)
        elif cache:
            from groundup.embeddings.corpus import embed_cached

            v, _ = embed_cached(list(texts), normalize=True, max_length=self.max_length,
                                batch_size=self.batch_size, progress=self.progress)
        else:
            from groundup.bert import embed

            v = embed(list(texts), normalize=True, max_length=self.max_length, batch_size=self.batch_size,
                      progress=False)
        if v.dim() != 2 or v.shape[0] != len(texts):
            raise ValueError(f"the encoder must return one row per text, (N={len(texts)}, d); got {tuple(v.shape)}")
        return l2_normalize(v.float()) if self.normalize else v.float()

    def index(self, doc_ids: list[str], texts: list[str] | None = None, *, vectors: Tensor | None = None) -> None:
        doc_ids, vectors = index_inputs(self.encode, doc_ids, texts, vectors)
        self.doc_ids = doc_ids
        self.vectors = check_unit_rows(vectors.float().contiguous(), "document vectors")

    def search_vectors(self, q: Tensor, k: int) -> tuple[Tensor, Tensor]:
        """(Q, k) scores and row ids for query vectors ``q`` (Q, d)."""
        if self.vectors is None:
            raise RuntimeError("call index(doc_ids, texts) before search")
        return exact_search(check_unit_rows(q, "query vectors"), self.vectors, k)

    def search(self, queries: list[str], k: int = 10) -> list[list[Hit]]:
        queries = check_queries(queries, self.vectors is not None)
        check_k(k, len(self.doc_ids))
        scores, ids = self.search_vectors(self.encode(queries), k)
        return [[(self.doc_ids[j], float(s)) for s, j in zip(srow.tolist(), irow.tolist())]
                for srow, irow in zip(scores, ids)]
