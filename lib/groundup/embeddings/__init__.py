"""What embedding distances mean, and where they break (Chapter 10).

Tools to run on any embedding space, your own included:

* :mod:`~groundup.embeddings.similarity` — cosine (safe for zero vectors and extreme
  norms), dot product, Euclidean distance, and a stable top-k;
* :mod:`~groundup.embeddings.diagnostics` — distance concentration (relative contrast),
  intrinsic dimension (TwoNN, PCA), anisotropy (mean cosine), centering and whitening,
  hubness (k-occurrence skewness) and CSLS;
* :mod:`~groundup.embeddings.evaluate` — recall@k and MRR from a score matrix;
* :mod:`~groundup.embeddings.corpus` — short passages of Python's documentation with
  relevance judgements, embedded once with ``groundup.bert.embed`` and cached.

Dimension letters: Q queries, N points, d embedding width, k neighbours.

>>> import torch
>>> from groundup.embeddings import cosine_similarity_matrix, top_k
>>> x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.0, 0.0]])  # (N=4, d=2)
>>> top_k(cosine_similarity_matrix(x), 1, exclude_self=True)[1].flatten().tolist()
[1, 0, 1, 0]
"""

from groundup.embeddings.corpus import RetrievalSet, embed_cached, retrieval_set, split_paragraphs
from groundup.embeddings.diagnostics import (
    Whitening,
    csls,
    fit_whitening,
    hubness,
    k_occurrence,
    mean_cosine,
    mean_cosine_naive,
    neighbourhood_similarity,
    pca_dimension,
    relative_contrast,
    skewness,
    twonn_dimension,
    whiten,
)
from groundup.embeddings.evaluate import gold_ranks, mean_reciprocal_rank, recall_at_k, retrieval_report
from groundup.embeddings.similarity import (
    METRICS,
    cosine_similarity_matrix,
    cosine_similarity_naive,
    dot_product_matrix,
    euclidean_distances,
    l2_normalize,
    scores,
    top_k,
)

__all__ = [
    "l2_normalize", "cosine_similarity_naive", "cosine_similarity_matrix", "dot_product_matrix",
    "euclidean_distances", "scores", "top_k", "METRICS",
    "relative_contrast", "twonn_dimension", "pca_dimension", "mean_cosine", "mean_cosine_naive",
    "Whitening", "fit_whitening", "whiten", "k_occurrence", "skewness", "hubness",
    "neighbourhood_similarity", "csls",
    "gold_ranks", "recall_at_k", "mean_reciprocal_rank", "retrieval_report",
    "RetrievalSet", "retrieval_set", "split_paragraphs", "embed_cached",
]
