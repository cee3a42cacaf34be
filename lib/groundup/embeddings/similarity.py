"""Similarity between embeddings: cosine, dot product, Euclidean distance, top-k.

Dimension letters: Q queries, N points (the collection), d embedding width.

Three scores are in common use for an embedding space, and after L2 normalisation they
rank the collection identically, because for unit vectors

    ||q - x||^2 = ||q||^2 + ||x||^2 - 2 q.x = 2 - 2 cos(q, x),

so a larger dot product is a larger cosine is a smaller distance. On un-normalised
vectors they disagree: the dot product rewards long vectors, the distance rewards
vectors of the query's own length, and only the cosine ignores length altogether.

Two numerical traps are handled here and are the subject of the chapter's exercise:

* a zero vector has no direction: its cosine with anything is defined as 0 (not NaN);
* ``x.norm()`` squares the entries, so in float32 a vector with entries of 1e20
  overflows to ``inf`` and one with entries of 1e-20 underflows to 0, although both
  have a perfectly good direction. Dividing each row by its largest absolute entry
  first (the trick of a careful ``hypot``) avoids both.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

__all__ = [
    "l2_normalize",
    "cosine_similarity_naive",
    "cosine_similarity_matrix",
    "dot_product_matrix",
    "euclidean_distances",
    "scores",
    "top_k",
    "METRICS",
]

METRICS = ("cosine", "dot", "euclidean")
Metric = Literal["cosine", "dot", "euclidean"]


def _as_matrix(x: Tensor, name: str) -> Tensor:
    """Check ``x`` is a (rows, d) floating tensor; say what was wrong if not."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (rows, d), got {type(x).__name__}. "
                        "Wrap a numpy array with torch.from_numpy(...).")
    if x.dim() != 2:
        raise ValueError(f"{name} must have shape (rows, d), got {tuple(x.shape)}. "
                         "A single vector v needs v[None, :] (one row).")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating tensor (float32 or float64), got {x.dtype}. "
                        "Integer vectors (e.g. word counts) need .float() first.")
    return x


def l2_normalize(x: Tensor) -> Tensor:
    """Each row divided by its Euclidean norm; a zero row stays zero.

    Safe for huge and tiny entries: each row is first divided by its largest absolute
    entry, so the squares inside the norm are at most 1 and cannot overflow or
    underflow to 0.

    >>> l2_normalize(torch.tensor([[3e30, 4e30], [0.0, 0.0]]))
    tensor([[0.6000, 0.8000],
            [0.0000, 0.0000]])
    """
    x = _as_matrix(x, "x")  # (N, d)
    scale = x.abs().amax(dim=1, keepdim=True)  # (N, 1) largest |entry| per row
    # zero rows: divide by 1
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    y = x / scale  # (N, d), entries in [-1, 1]
    norm = y.norm(dim=1, keepdim=True)  # (N, 1), in [1, sqrt(d)] unless the row is zero
    return y / torch.where(norm > 0, norm, torch.ones_like(norm))


def cosine_similarity_naive(a: Tensor, b: Tensor) -> Tensor:
    """cos(a_i, b_j) = a_i . b_j / (||a_i|| ||b_j||), one pair at a time: the definition.

    For reading and testing only (a Python loop over Q * N pairs); it returns NaN for a
    zero vector and overflows for huge entries, which ``cosine_similarity_matrix`` does not.
    """
    a, b = _as_matrix(a, "a"), _as_matrix(b, "b")
    out = torch.empty(a.shape[0], b.shape[0], dtype=a.dtype)  # (Q, N)
    for i in range(a.shape[0]):
        for j in range(b.shape[0]):
            out[i, j] = (a[i] @ b[j]) / (a[i].norm() * b[j].norm())
    return out


def cosine_similarity_matrix(a: Tensor, b: Tensor | None = None) -> Tensor:
    """All cosines between the rows of ``a`` (Q, d) and of ``b`` (N, d): a (Q, N) matrix.

    ``b=None`` compares ``a`` with itself. A zero row has cosine 0 with everything
    (itself included); every other cosine is exact even for entries near the float
    limits (see ``l2_normalize``). Values are clamped to [-1, 1] against rounding.

    >>> cosine_similarity_matrix(torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]))
    tensor([[1.0000, 0.7071, 0.0000],
            [0.7071, 1.0000, 0.0000],
            [0.0000, 0.0000, 0.0000]])
    """
    a_hat = l2_normalize(_as_matrix(a, "a"))  # (Q, d)
    b_hat = a_hat if b is None else l2_normalize(_as_matrix(b, "b"))  # (N, d)
    if a_hat.shape[1] != b_hat.shape[1]:
        raise ValueError(f"a and b must have the same width d, got {a_hat.shape[1]} and {b_hat.shape[1]}: "
                         "were they made by the same model?")
    return (a_hat @ b_hat.T).clamp(-1.0, 1.0)  # (Q, N)


def dot_product_matrix(a: Tensor, b: Tensor | None = None) -> Tensor:
    """All dot products a_i . b_j: a (Q, N) matrix. Long vectors score high."""
    a = _as_matrix(a, "a")
    b = a if b is None else _as_matrix(b, "b")
    return a @ b.T  # (Q, N)


def euclidean_distances(a: Tensor, b: Tensor | None = None, *, exact: bool = True,
                        chunk: int = 64) -> Tensor:
    """All distances ||a_i - b_j||: a (Q, N) matrix.

    ``exact=True`` subtracts the vectors (chunk rows of ``a`` at a time, so memory is
    chunk * N * d). ``exact=False`` uses the expansion ||a||^2 + ||b||^2 - 2 a.b, one
    matrix product and much faster, but it cancels catastrophically for points that are
    close compared with their norms (it can even give 0 for two distinct points); the
    tests check the two agree where the expansion is safe.
    """
    a = _as_matrix(a, "a")
    b = a if b is None else _as_matrix(b, "b")
    if not exact:
        sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * (a @ b.T)  # (Q, N)
        return sq.clamp_min(0).sqrt()
    out = torch.empty(a.shape[0], b.shape[0], dtype=a.dtype)  # (Q, N)
    for start in range(0, a.shape[0], chunk):
        block = a[start:start + chunk]  # (c, d)
        out[start:start + chunk] = (block[:, None, :] - b[None, :, :]).norm(dim=-1)  # (c, N)
    return out


def scores(queries: Tensor, points: Tensor, metric: Metric = "cosine") -> Tensor:
    """Higher-is-closer scores (Q, N) for one of ``METRICS``: cosine, dot, or minus the distance."""
    if metric == "cosine":
        return cosine_similarity_matrix(queries, points)
    if metric == "dot":
        return dot_product_matrix(queries, points)
    if metric == "euclidean":
        return -euclidean_distances(queries, points)
    raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")


def top_k(
    scores: Tensor, k: int, *, exclude_self: bool = False
) -> tuple[Tensor, Tensor]:
    """The ``k`` highest scores of each row and their column indices,
    best first: (Q, k) each.

    ``exclude_self=True`` is for a square self-similarity matrix (a collection compared
    with itself): the diagonal is set to -inf first, so a point is never its own
    neighbour. Ties go to the lower index (a stable sort), so the result is the same on
    every machine; ``torch.topk`` orders ties arbitrarily.

    >>> scores = torch.tensor([[1.0, 0.5, 0.9], [0.2, 1.0, 0.2], [0.9, 0.1, 1.0]])
    >>> top_k(scores, 1, exclude_self=True)[1]
    tensor([[2],
            [0],
            [0]])
    """
    if not isinstance(scores, Tensor) or scores.dim() != 2:
        raise ValueError(
            "scores must be a (Q, N) tensor, got "
            f"{getattr(scores, 'shape', type(scores))}"
        )
    Q, N = scores.shape
    if exclude_self:
        if Q != N:
            raise ValueError(
                "exclude_self=True needs a square (N, N) self-similarity matrix, got "
                f"{(Q, N)}; queries that are not in the collection have no 'self' to "
                "exclude."
            )
        # (N, N)
        scores = scores.masked_fill(torch.eye(N, dtype=torch.bool), float("-inf"))
    candidates = N - 1 if exclude_self else N
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= candidates:
        raise ValueError(
            f"k must be an int in [1, {candidates}] (the number of candidates per row"
            f"{', the point itself excluded' if exclude_self else ''}), got {k!r}"
        )
    # (Q, N) each
    values, indices = torch.sort(scores, dim=1, descending=True, stable=True)
    return values[:, :k], indices[:, :k]  # (Q, k) each
