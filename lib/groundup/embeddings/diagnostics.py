"""Diagnostics of an embedding space: run them on your own vectors.

Dimension letters: Q queries, N points, d embedding width, k neighbours.

=============================  ==============================================  =========================
function                       what it measures                                paper
=============================  ==============================================  =========================
``relative_contrast``          (D_max - D_min) / D_min per query: distance     Beyer et al. 1999;
                               concentration, -> 0 as d grows                  Aggarwal et al. 2001
``twonn_dimension``            intrinsic dimension from the ratio of each      Facco et al. 2017
                               point's second to first neighbour distance
``pca_dimension``              linear dimension: principal components that     (PCA)
                               hold a given share of the variance
``mean_cosine``                anisotropy: the average cosine between two      Ethayarajh 2019
                               different points (0 for isotropic directions)
``fit_whitening`` / ``whiten`` centre, rotate and rescale so the covariance    Su et al. 2021
                               is the identity
``k_occurrence`` /             how often each point is among the k nearest     Radovanović et al. 2010
``hubness``                    neighbours of others, and the skewness of that
``csls``                       cross-domain similarity local scaling: cosine   Conneau et al. 2018
                               minus the density around each point
=============================  ==============================================  =========================
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from groundup.embeddings.similarity import _as_matrix, cosine_similarity_matrix, euclidean_distances, l2_normalize, top_k

__all__ = [
    "relative_contrast",
    "twonn_dimension",
    "pca_dimension",
    "mean_cosine",
    "mean_cosine_naive",
    "Whitening",
    "fit_whitening",
    "whiten",
    "k_occurrence",
    "skewness",
    "hubness",
    "neighbourhood_similarity",
    "csls",
]


# ----------------------------------------------------------------------------- concentration

def relative_contrast(
    queries: Tensor, points: Tensor, *, p: float = 2.0, chunk: int | None = None
) -> Tensor:
    """(D_max - D_min) / D_min for each query, over its distances
    to all ``points``: (Q,).

    Beyer et al. (1999) proved that when the distances from a query to N points, divided
    by their mean, concentrate (their variance -> 0 as d grows, as for independent
    coordinates), then D_max / D_min -> 1, so this *relative contrast* tends to 0: the
    nearest point is hardly nearer than the farthest. Aggarwal et al. (2001) showed the
    contrast of the L_p distance shrinks like d^(1/p - 1/2), so small (even fractional)
    p keeps more contrast. Distances are computed from differences (exact), in chunks
    of queries (by default as many as keep a chunk near 2^22 numbers), with the L_p norm
    (sum |x_i - y_i|^p)^(1/p).

    >>> relative_contrast(torch.tensor([[0.0, 0.0]]),
    ...                   torch.tensor([[1.0, 0.0], [0.0, 3.0]]))
    tensor([2.])
    """
    queries, points = _as_matrix(queries, "queries"), _as_matrix(points, "points")
    if queries.shape[1] != points.shape[1]:
        raise ValueError(
            f"queries and points must have the same width d, got {queries.shape[1]} "
            f"and {points.shape[1]}"
        )
    if p <= 0:
        raise ValueError(
            f"p must be > 0 (p = 2 is Euclidean, p = 1 Manhattan), got {p}"
        )
    out = torch.empty(queries.shape[0], dtype=queries.dtype)  # (Q,)
    chunk = chunk or max(1, (1 << 22) // (points.shape[0] * points.shape[1]))
    for start in range(0, queries.shape[0], chunk):
        diff = queries[start:start + chunk, None, :] - points[None, :, :]  # (c, N, d)
        dist = diff.norm(p=p, dim=-1)  # (c, N)
        d_min, d_max = dist.amin(dim=1), dist.amax(dim=1)  # (c,) each
        out[start:start + chunk] = (d_max - d_min) / d_min
    return out


# ----------------------------------------------------------------------------- intrinsic dimension

def twonn_dimension(x: Tensor, *, discard: float = 0.1) -> float:
    """The TwoNN estimate of the intrinsic dimension of the points ``x`` (N, d).

    Facco et al. (2017): if the density is roughly constant around each point, the ratio
    mu = r_2 / r_1 of the distances to its second and first nearest neighbours follows
    the Pareto law F(mu) = 1 - mu^(-D), whatever the ambient width d, where D is the
    dimension of the manifold the points lie on. The paper fits -log(1 - F(mu)) = D
    log(mu) by least squares through the origin, on the empirical F, after discarding
    the largest ``discard`` share of the ratios (they come from
    points in sparse regions).

    Duplicate points (r_1 = 0) have no ratio; remove them first, or this raises.
    """
    x = _as_matrix(x, "x").double()  # (N, d)
    N = x.shape[0]
    if N < 10:
        raise ValueError(f"TwoNN needs at least 10 points, got {N}")
    # Candidates from the fast expansion (float64), then their distances exactly.
    fast = euclidean_distances(x, exact=False)  # (N, N)
    fast.fill_diagonal_(float("inf"))
    cand = fast.topk(min(4, N - 1), dim=1, largest=False).indices  # (N, 4)
    exact = (x[:, None, :] - x[cand]).norm(dim=-1)  # (N, 4)
    r = exact.sort(dim=1).values[:, :2]  # (N, 2): r_1, r_2
    if (r[:, 0] == 0).any():
        raise ValueError(
            f"{int((r[:, 0] == 0).sum())} points have a duplicate (distance 0 to a "
            "neighbour): TwoNN needs distinct points; drop duplicates first (e.g. "
            "torch.unique(x, dim=0))."
        )
    mu = (r[:, 1] / r[:, 0]).sort().values  # (N,) ascending
    keep = int(math.floor(N * (1 - discard)))
    # empirical CDF at each sorted mu
    F = torch.arange(1, N + 1, dtype=torch.float64) / N
    xs, ys = mu[:keep].log(), -torch.log1p(-F[:keep])  # (keep,) each
    return float((xs @ ys) / (xs @ xs))  # slope of the line through the origin


def pca_dimension(x: Tensor, variance: float = 0.9) -> int:
    """How many principal components hold ``variance`` of the total variance of ``x`` (N, d)."""
    x = _as_matrix(x, "x").double()
    if not 0 < variance <= 1:
        raise ValueError(f"variance must be in (0, 1], got {variance}")
    s = torch.linalg.svdvals(x - x.mean(0))  # (min(N, d),) singular values, descending
    share = (s ** 2).cumsum(0) / (s ** 2).sum()
    return int((share < variance - 1e-12).sum()) + 1


# ----------------------------------------------------------------------------- anisotropy

def mean_cosine_naive(x: Tensor) -> float:
    """The mean cosine over all pairs i != j: the definition, from the (N, N) matrix."""
    sim = cosine_similarity_matrix(x).double()  # (N, N)
    N = sim.shape[0]
    return float((sim.sum() - sim.diagonal().sum()) / (N * (N - 1)))


def mean_cosine(x: Tensor) -> float:
    """Anisotropy: the average cosine between two different points of ``x`` (N, d).

    Ethayarajh (2019) measured it for contextual embeddings: for directions spread
    evenly over the sphere it is about 0, while BERT's and GPT-2's are all crowded into
    a narrow cone. With unit vectors u_i, sum_{i,j} u_i . u_j = ||sum_i u_i||^2, so the
    mean over the N (N - 1) pairs i != j needs no (N, N) matrix:

        (||sum_i u_i||^2 - N) / (N (N - 1))   ~=   ||mean direction||^2.

    (Zero rows count as pairs with cosine 0.)
    """
    u = l2_normalize(_as_matrix(x, "x")).double()  # (N, d)
    N = u.shape[0]
    if N < 2:
        raise ValueError(f"mean_cosine needs at least 2 points, got {N}")
    total = u.sum(0)  # (d,)
    return float((total @ total - (u * u).sum()) / (N * (N - 1)))


@dataclass(frozen=True)
class Whitening:
    """A fitted whitening transform x -> (x - mean) @ W (Su et al. 2021)."""

    mean: Tensor  # (d,) the mean of the fitting points
    W: Tensor  # (d, m) U Lambda^(-1/2), first m principal directions, each rescaled to variance 1


def fit_whitening(
    x: Tensor, n_components: int | None = None, *, eps: float = 1e-8
) -> Whitening:
    """Fit BERT-whitening on ``x`` (N, d): covariance Sigma = U Lambda
    U^T, W = U Lambda^(-1/2).

    Su et al. (2021): after (x - mu) W the covariance is the identity, so every
    direction has the same variance and the mean cosine is ~0. ``n_components`` keeps
    only the first m directions (their paper also reduces the width this way). ``eps``
    guards directions of zero variance.
    """
    x = _as_matrix(x, "x").double()
    mu = x.mean(0)  # (d,)
    cov = (x - mu).T @ (x - mu) / x.shape[0]  # (d, d)
    lam, U = torch.linalg.eigh(cov)  # ascending eigenvalues
    lam, U = lam.flip(0), U.flip(1)  # descending: (d,), (d, d)
    m = U.shape[1] if n_components is None else n_components
    if not 1 <= m <= U.shape[1]:
        raise ValueError(
            f"n_components must be in [1, {U.shape[1]}], got {n_components}"
        )
    W = U[:, :m] / (lam[:m].clamp_min(0) + eps).sqrt()  # (d, m)
    return Whitening(mean=mu, W=W)


def whiten(x: Tensor, w: Whitening) -> Tensor:
    """Apply a fitted whitening: (x - mean) @ W, (N, m), in the dtype of ``x``."""
    x = _as_matrix(x, "x")
    return ((x.double() - w.mean) @ w.W).to(x.dtype)


# ----------------------------------------------------------------------------- hubness

def k_occurrence(neighbours: Tensor, n: int | None = None) -> Tensor:
    """N_k(x): how many rows of ``neighbours`` (Q, k), the k-NN lists, contain each point: (n,).

    >>> k_occurrence(torch.tensor([[1, 2], [0, 2], [0, 1], [2, 0]]), 4)
    tensor([3, 2, 3, 0])
    """
    n = int(neighbours.max()) + 1 if n is None else n
    return torch.bincount(neighbours.reshape(-1), minlength=n)  # (n,)


def skewness(values: Tensor) -> float:
    """The standardised third moment E[(X - mu)^3] / sigma^3 (population form)."""
    v = values.double()
    c = v - v.mean()
    sigma = c.pow(2).mean().sqrt()
    if sigma == 0:
        return 0.0
    return float(c.pow(3).mean() / sigma ** 3)


def hubness(x: Tensor, k: int = 10) -> tuple[float, Tensor]:
    """Skewness of the k-occurrence of the points ``x`` (N, d)
    under cosine, and N_k itself.

    Radovanović et al. (2010): in high dimension a few points ("hubs") appear in the
    k-NN lists of very many others while many points appear in none ("anti-hubs"), so
    the distribution of N_k is skewed to the right. Its mean is always k; its skewness
    is the usual measure of hubness (0 for a symmetric distribution). Each point's own
    row is left out of its neighbour list.
    """
    sim = cosine_similarity_matrix(x)  # (N, N)
    _, nn = top_k(sim, k, exclude_self=True)  # (N, k)
    n_k = k_occurrence(nn, sim.shape[0])  # (N,)
    return skewness(n_k), n_k


def neighbourhood_similarity(sim: Tensor, k: int = 10, *, exclude_self: bool = False) -> Tensor:
    """r(x): the mean of the k highest similarities in each row of ``sim`` (Q, N): (Q,).

    The density term of CSLS: a hub sits in a dense region and has a high r.
    """
    values, _ = top_k(sim, k, exclude_self=exclude_self)  # (Q, k)
    return values.mean(dim=1)


def csls(sim: Tensor, r_queries: Tensor, r_points: Tensor) -> Tensor:
    """Cross-domain similarity local scaling (Conneau et al. 2018, eq. 4): (Q, N).

        CSLS(q, x) = 2 cos(q, x) - r(q) - r(x),

    where r(q) is the mean cosine of q to its k nearest points and r(x) the mean cosine
    of x to its k nearest queries (or, with no queries at hand, to its k nearest points
    of the collection). Subtracting r(x) penalises hubs. r(q) is the same for every x of
    a row, so it changes the scores but never the ranking of a query's row.
    """
    return 2 * sim - r_queries[:, None] - r_points[None, :]  # (Q, N)
