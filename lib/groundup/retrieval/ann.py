"""Approximate nearest neighbours: the inverted file index, IVF (Chapter 12).

Exact search scores all N documents for every query. IVF (Sivic & Zisserman 2003; the
IVF-Flat index of faiss, Johnson et al. 2019) scores only a few *cells*:

1. **train**: k-means (Lloyd 1982) splits a sample of the vectors into ``nlist`` cells,
   each with a centroid c_1 ... c_nlist;
2. **add**: every vector goes into the inverted list of its nearest centroid;
3. **search**: score the query against the nlist centroids, open the ``nprobe`` best
   cells, and score exactly only the vectors in them.

A query then costs nlist + N * nprobe / nlist dot products instead of N. It misses a
true neighbour only when that neighbour lies in a cell that was not opened; ``nprobe =
nlist`` opens every cell and gives exactly the exact result. Recall against speed is
tuned with ``nprobe`` at search time, with no rebuild.

For unit vectors (cosine search) we use *spherical* k-means: assign by the largest dot
product, and renormalise each centroid to unit length after averaging, so "nearest
centroid" means the same thing as "best dot product", as in the search.

Dimension letters: Q queries, N vectors, d width, C = nlist cells, P = nprobe, k results.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from groundup.retrieval.base import Hit, check_queries
from groundup.retrieval.dense import check_k, check_unit_rows

__all__ = ["IVFConfig", "kmeans", "assign", "IVFIndex", "IVFRetriever"]


@dataclass(frozen=True)
class IVFConfig:
    nlist: int = 256  # cells; a common rule is about 4 * sqrt(N)
    nprobe: int = 8  # cells opened per query (search-time; nprobe = nlist is exact search)
    n_iter: int = 20  # k-means iterations (Lloyd steps)
    train_size: int | None = None  # vectors k-means trains on; None: 64 per cell, at most N
    seed: int = 0  # k-means initialisation and the training sample


def assign(x: Tensor, centroids: Tensor, block: int = 65_536) -> Tensor:
    """The cell of each row of ``x`` (N, d): the centroid (C, d) with the largest dot product. (N,) int64."""
    out = torch.empty(x.shape[0], dtype=torch.long)
    for start in range(0, x.shape[0], block):
        out[start:start + block] = (x[start:start + block] @ centroids.T).argmax(dim=1)  # (b, C) -> (b,)
    return out


def kmeans(x: Tensor, n_clusters: int, n_iter: int = 20, seed: int = 0) -> Tensor:
    """Spherical k-means (Lloyd's algorithm on unit vectors): (n_clusters, d) unit centroids.

    Start from ``n_clusters`` distinct rows drawn at random; then repeat: assign each row to
    its best centroid, move each centroid to the mean of its rows, renormalise. A cell
    left empty takes a random row again (faiss splits the largest cell instead).

    >>> x = torch.nn.functional.normalize(torch.tensor([[1.0, 0.1], [1.0, 0.0], [0.0, 1.0], [0.1, 1.0]]), dim=1)
    >>> c = kmeans(x, 2, seed=0)
    >>> sorted(assign(x, c).tolist()) in ([0, 0, 1, 1],)
    True
    """
    N, d = x.shape
    if not 1 <= n_clusters <= N:
        raise ValueError(f"k-means needs 1 <= n_clusters <= N rows; got n_clusters={n_clusters} with N={N}: "
                         "use fewer cells (nlist) or train on more vectors")
    g = torch.Generator().manual_seed(seed)
    centroids = x[torch.randperm(N, generator=g)[:n_clusters]].clone()  # (C, d)
    for _ in range(n_iter):
        cell = assign(x, centroids)  # (N,)
        sums = torch.zeros_like(centroids).index_add_(0, cell, x)  # (C, d)
        counts = torch.bincount(cell, minlength=n_clusters)  # (C,)
        empty = counts == 0
        if empty.any():  # re-seed empty cells from random rows
            sums[empty] = x[torch.randint(0, N, (int(empty.sum()),), generator=g)]
        centroids = torch.nn.functional.normalize(sums, dim=1)  # (C, d), back on the sphere
    return centroids


class IVFIndex:
    """An inverted-file index over unit vectors, searched by dot product.

    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.nn.functional.normalize(torch.randn(1000, 16, generator=g), dim=1)
    >>> ivf = IVFIndex(nlist=16, nprobe=16).build(x)        # nprobe = nlist: exact
    >>> from groundup.retrieval.dense import exact_search
    >>> torch.equal(ivf.search(x[:5], 3)[1], exact_search(x[:5], x, 3)[1])
    True
    """

    def __init__(self, nlist: int = 256, nprobe: int = 8, *, n_iter: int = 20, train_size: int | None = None,
                 seed: int = 0, config: IVFConfig | None = None):
        self.config = config or IVFConfig(nlist=nlist, nprobe=nprobe, n_iter=n_iter, train_size=train_size,
                                          seed=seed)
        self.nprobe = self.config.nprobe
        self.centroids: Tensor | None = None  # (C, d)
        self.vectors: Tensor | None = None  # (N, d), sorted by cell: cell c is rows offsets[c]:offsets[c+1]
        self.ids: Tensor | None = None  # (N,) original row of each sorted vector
        self.offsets: Tensor | None = None  # (C + 1,) where each cell's inverted list starts

    # -- building ---------------------------------------------------------------------------
    def train(self, x: Tensor) -> "IVFIndex":
        cfg = self.config
        check_unit_rows(x, "vectors to train on")
        n = cfg.train_size or min(x.shape[0], 64 * cfg.nlist)
        g = torch.Generator().manual_seed(cfg.seed)
        sample = x if n >= x.shape[0] else x[torch.randperm(x.shape[0], generator=g)[:n]]
        self.centroids = kmeans(sample.float(), cfg.nlist, cfg.n_iter, cfg.seed)
        return self

    def set_centroids(self, centroids: Tensor) -> "IVFIndex":
        """Use given cell centroids (C, d) instead of training, e.g. to compare with faiss on the same cells."""
        self.centroids = check_unit_rows(centroids.float(), "centroids")
        return self

    def add(self, x: Tensor) -> "IVFIndex":
        if self.centroids is None:
            raise RuntimeError("train the index (or set_centroids) before adding vectors")
        check_unit_rows(x, "vectors")
        if x.shape[1] != self.centroids.shape[1]:
            raise ValueError(f"vectors have width {x.shape[1]}, the centroids {self.centroids.shape[1]}")
        cell = assign(x, self.centroids)  # (N,)
        order = torch.sort(cell, stable=True).indices  # (N,): rows grouped by cell, original order kept inside
        counts = torch.bincount(cell, minlength=self.centroids.shape[0])  # (C,)
        self.offsets = torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)])  # (C + 1,)
        self.vectors = x[order].float().contiguous()  # (N, d)
        self.ids = order  # (N,)
        return self

    def build(self, x: Tensor) -> "IVFIndex":
        return self.train(x).add(x)

    @property
    def ntotal(self) -> int:
        return 0 if self.ids is None else int(self.ids.shape[0])

    def _check_search(self, q: Tensor, k: int, nprobe: int | None) -> int:
        if self.vectors is None:
            raise RuntimeError("the index is empty: build(x) or train(x) then add(x) first")
        check_unit_rows(q, "query vectors")
        if q.shape[1] != self.vectors.shape[1]:
            raise ValueError(f"queries have width {q.shape[1]} but the index {self.vectors.shape[1]}: "
                             "were they embedded by the same model?")
        check_k(k, self.ntotal)
        nprobe = self.nprobe if nprobe is None else nprobe
        C = self.centroids.shape[0]
        if isinstance(nprobe, bool) or not isinstance(nprobe, int) or not 1 <= nprobe <= C:
            raise ValueError(f"nprobe must be an int in [1, nlist={C}], got {nprobe!r}")
        return nprobe

    # -- searching --------------------------------------------------------------------------
    def search_naive(self, q: Tensor, k: int, nprobe: int | None = None) -> tuple[Tensor, Tensor]:
        """The three steps of the module docstring, one query and one cell at a time."""
        nprobe = self._check_search(q, k, nprobe)
        all_scores, all_ids = [], []
        for query in q:  # (d,)
            cell_scores = [float(query @ c) for c in self.centroids]
            cells = sorted(range(len(cell_scores)), key=lambda c: -cell_scores[c])[:nprobe]
            found = []  # (score, original id)
            for c in cells:
                for row in range(int(self.offsets[c]), int(self.offsets[c + 1])):
                    found.append((float(query @ self.vectors[row]), int(self.ids[row])))
            found.sort(key=lambda t: (-t[0], t[1]))
            found = found[:k] + [(float("-inf"), -1)] * (k - len(found))  # fewer than k in the cells: pad
            all_scores.append([s for s, _ in found])
            all_ids.append([i for _, i in found])
        return torch.tensor(all_scores), torch.tensor(all_ids, dtype=torch.long)

    def search(
        self, q: Tensor, k: int, nprobe: int | None = None
    ) -> tuple[Tensor, Tensor]:
        """(Q, k) scores and original row ids, best first; ties to the lower id.

        When the opened cells hold fewer than k vectors the missing places are id -1
        with score -inf (faiss does the same).
        """
        nprobe = self._check_search(q, k, nprobe)
        q = q.float()
        # (Q, C) -> (Q, P)
        cells = torch.topk(q @ self.centroids.T, nprobe, dim=1).indices.tolist()
        offsets = self.offsets.tolist()
        out_s = torch.full((q.shape[0], k), float("-inf"))
        out_i = torch.full((q.shape[0], k), -1, dtype=torch.long)
        for i, opened in enumerate(cells):
            # Each cell's vectors are one contiguous slice: score them
            # in place, no gather copy.
            spans = [
                (offsets[c], offsets[c + 1])
                for c in opened
                if offsets[c + 1] > offsets[c]
            ]
            if not spans:
                continue
            # (M,) scores of the opened cells
            s = torch.cat([self.vectors[a:b] @ q[i] for a, b in spans])
            # (M,) their original row ids
            ids = torch.cat([self.ids[a:b] for a, b in spans])
            # lower id first, so the stable sort below breaks ties by id
            ids, by_id = torch.sort(ids)
            s = s[by_id]
            top = torch.sort(s, descending=True, stable=True).indices[:k]
            out_s[i, :len(top)], out_i[i, :len(top)] = s[top], ids[top]
        return out_s, out_i

    def memory_bytes(self) -> int:
        """Bytes held: the vectors, their ids, the centroids and the offsets."""
        return sum(t.numel() * t.element_size() for t in (self.vectors, self.ids, self.centroids, self.offsets)
                   if t is not None)


class IVFRetriever:
    """IVF behind the ``Retriever`` interface, over a ``DenseRetriever``'s encoder."""

    def __init__(self, nlist: int | None = None, nprobe: int = 8, *, dense=None, seed: int = 0):
        from groundup.retrieval.dense import DenseRetriever

        self.dense = dense or DenseRetriever()
        self.nlist = nlist  # None: about 4 * sqrt(N), at most N / 39
        self.nprobe = nprobe
        self.seed = seed
        self.ivf: IVFIndex | None = None

    def index(self, doc_ids: list[str], texts: list[str] | None = None, *, vectors: Tensor | None = None) -> None:
        self.dense.index(doc_ids, texts, vectors=vectors)
        x = self.dense.vectors
        N = x.shape[0]
        nlist = self.nlist or max(1, min(int(4 * N ** 0.5), N // 39 or 1))
        self.ivf = IVFIndex(nlist=nlist, nprobe=min(self.nprobe, nlist), seed=self.seed).build(x)

    def search(self, queries: list[str], k: int = 10) -> list[list[Hit]]:
        queries = check_queries(queries, self.ivf is not None)
        scores, ids = self.ivf.search(self.dense.encode(queries), k)
        ids_ = self.dense.doc_ids
        return [[(ids_[j], float(s)) for s, j in zip(sr.tolist(), ir.tolist()) if j >= 0]
                for sr, ir in zip(scores, ids)]
