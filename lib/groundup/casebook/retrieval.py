"""Case family 4: a retrieval pipeline that returns irrelevant results at volume.

All three cases run on Chapter 10's judged set (docstring summaries as queries, the next
paragraph as the gold passage, other paragraphs of Python's documentation as distractors)
and its cached all-MiniLM-L6-v2 vectors, so the book embeds them once for both chapters.

* ``norms``: the top results are the same few passages for every query. Cause: vectors
  that are not normalised, searched by inner product (a vector store's default metric):
  a passage with a long vector outscores the relevant one (Chapter 10: norms, hubs).
  Measured: recall@10, and the share of all top-10 slots taken by the 1% most retrieved
  passages. Fix: L2-normalise, i.e. search by cosine.
* ``chunking``: facts from the end of long documents are never found. Cause: the encoder
  reads at most ``max_length`` tokens (Chapter 9): the rest of a long document is cut
  before it is embedded. Measured: recall@5 of documents whose answer lies past the cut.
  Fix: index chunks (here, the paragraphs), and score a document by its best chunk.
* ``distractors``: recall falls as the collection grows. Cause: every new passage is
  another chance for a near-miss to outscore the gold one, and the number of passages
  handed on (k) was tuned on a small prototype. Measured: recall@1 as distractors are
  added. Fix: choose k by measuring recall@k at the production size.

Dimension letters: Q queries, N passages, D documents, d embedding width.
"""

from __future__ import annotations

import torch
from torch import Tensor

from groundup.casebook.base import CaseResult, check_size

__all__ = ["course_retrieval_set", "recall_at", "top_share", "case_norms", "make_documents", "case_chunking",
           "recall_curve", "smallest_k", "case_distractors"]


def course_retrieval_set(size: str):
    """(retrieval set, query vectors (Q, d), passage vectors (N, d)), not normalised.

    'small' is exactly Chapter 10's set, so its cached vectors serve both pages."""
    from groundup.embeddings import embed_cached, retrieval_set

    q, n = {"tiny": (60, 300), "small": (300, 1700), "full": (400, 4000)}[size]
    rs = retrieval_set(n_queries=q, n_passages=n, max_chars=300, seed=0)
    raw, _ = embed_cached(rs.queries + rs.passages, normalize=False, progress=False)  # (Q + N, d)
    return rs, raw[:q], raw[q:]


def recall_at(scores: Tensor, gold: Tensor, k: int) -> float:
    """Share of queries whose gold column is among the k highest of its row of ``scores`` (Q, N).

    >>> recall_at(torch.tensor([[0.9, 0.1, 0.5], [0.2, 0.3, 0.1]]), torch.tensor([0, 0]), 1)
    0.5
    """
    top = scores.topk(min(k, scores.size(1)), dim=1).indices  # (Q, k)
    return (top == gold[:, None]).any(dim=1).float().mean().item()


def top_share(scores: Tensor, k: int = 10, frac: float = 0.01) -> float:
    """Share of all top-k slots taken by the ``frac`` most often retrieved columns (hubs).

    With no hubs it is about ``frac``; when a few passages answer every query it nears 1."""
    top = scores.topk(k, dim=1).indices.flatten()  # (Q * k,)
    counts = torch.bincount(top, minlength=scores.size(1)).sort(descending=True).values
    n_hubs = max(1, round(frac * scores.size(1)))
    return counts[:n_hubs].sum().item() / top.numel()


def case_norms(size: str = "small", *, data=None) -> CaseResult:
    """Recall@10 by inner product of raw vectors (fault) vs cosine (fix)."""
    from groundup.embeddings import l2_normalize

    check_size(size)
    rs, q, p = data or course_retrieval_set(size)
    dot = q @ p.T  # (Q, N)
    cos = l2_normalize(q) @ l2_normalize(p).T  # (Q, N)
    norms = p.norm(dim=1)
    return CaseResult(
        "norms", "recall@10", recall_at(dot, rs.gold, 10), recall_at(cos, rs.gold, 10), True,
        cause="raw vectors searched by inner product: a passage with a long vector outscores the relevant one",
        fix="L2-normalise queries and passages (cosine similarity)",
        details={"hubs_before": top_share(dot), "hubs_after": top_share(cos), "norm_min": norms.min().item(),
                 "norm_max": norms.max().item(), "recall1_before": recall_at(dot, rs.gold, 1),
                 "recall1_after": recall_at(cos, rs.gold, 1)})


# ----------------------------------------------------------------------------- chunking
def make_documents(n_passages: int, per_doc: int) -> list[list[int]]:
    """Group passage indices 0..N-1 into documents of ``per_doc`` consecutive passages."""
    return [list(range(i, min(i + per_doc, n_passages))) for i in range(0, n_passages, per_doc)]


def case_chunking(size: str = "small", *, data=None, max_length: int = 128, per_doc: int = 6) -> CaseResult:
    """Recall@5 of documents whose gold paragraph starts past the encoder's cut: whole documents
    embedded (fault) vs paragraphs as chunks, a document scored by its best chunk (fix)."""
    from groundup.bert.loading import load_minilm
    from groundup.embeddings import embed_cached, l2_normalize

    check_size(size)
    rs, q, p = data or course_retrieval_set(size)
    docs = make_documents(len(rs.passages), per_doc)  # D lists of passage indices
    doc_of = torch.empty(len(rs.passages), dtype=torch.long)
    for d, members in enumerate(docs):
        doc_of[members] = d
    gold_doc = doc_of[rs.gold]  # (Q,)
    # Where each passage starts inside its document, in the encoder's tokens ([CLS] first).
    _, wordpiece = load_minilm()
    start = torch.empty(len(rs.passages), dtype=torch.long)
    for members in docs:
        offset = 1
        for i in members:
            start[i] = offset
            offset += len(wordpiece.tokenize(rs.passages[i]))
    past_cut = start[rs.gold] >= max_length - 1  # (Q,) the gold paragraph is cut off entirely
    texts = [" ".join(rs.passages[i] for i in members) for members in docs]
    whole, _ = embed_cached(texts, normalize=True, max_length=max_length, progress=False)  # (D, d)
    q_hat = l2_normalize(q)
    by_doc = q_hat @ whole.T  # (Q, D)
    by_chunk = q_hat @ l2_normalize(p).T  # (Q, N): every paragraph its own chunk
    best = torch.full((q.size(0), len(docs)), float("-inf")).scatter_reduce(
        1, doc_of.expand(q.size(0), -1), by_chunk, reduce="amax")  # (Q, D): a document's best chunk
    sel = past_cut.nonzero().flatten()
    r = lambda scores, rows: recall_at(scores[rows], gold_doc[rows], 5)  # noqa: E731
    inside = (~past_cut).nonzero().flatten()
    return CaseResult(
        "chunking", f"recall@5 of documents whose answer starts past token {max_length}",
        r(by_doc, sel), r(best, sel), True,
        cause=f"the encoder reads the first {max_length} tokens of a document; the rest is never embedded",
        fix="index chunks (here, the paragraphs) and score a document by its best chunk",
        details={"n_past_cut": len(sel), "n_queries": q.size(0), "n_documents": len(docs),
                 "inside_before": r(by_doc, inside), "inside_after": r(best, inside), "max_length": max_length})


# ----------------------------------------------------------------------------- distractors
def recall_curve(scores: Tensor, gold: Tensor, is_gold_first: bool = True, fractions=(0.0, 0.125, 0.25, 0.5, 1.0),
                 k: int = 1) -> tuple[list[int], list[float]]:
    """Recall@k as the collection grows: the gold passages first, then more and more of the
    distractors (columns that are nobody's gold), in their order. Returns (sizes, recalls)."""
    is_gold = torch.zeros(scores.size(1), dtype=torch.bool)
    is_gold[gold] = True
    distractors = (~is_gold).nonzero().flatten()
    sizes, recalls = [], []
    for f in fractions:
        cols = torch.cat([gold, distractors[:round(f * len(distractors))]])  # gold of query i is column i
        sizes.append(len(cols))
        recalls.append(recall_at(scores[:, cols], torch.arange(len(gold)), k))
    return sizes, recalls


def smallest_k(scores: Tensor, gold: Tensor, target: float, k_max: int = 50) -> int:
    """The smallest k whose recall@k reaches ``target`` (k_max if none does)."""
    return next((k for k in range(1, k_max + 1) if recall_at(scores, gold, k) >= target), k_max)


def case_distractors(size: str = "small", *, data=None) -> CaseResult:
    """Recall of what the reader is given: the k = 1 tuned on a prototype of the gold passages
    alone (fault) vs the k measured at the production size (fix)."""
    from groundup.embeddings import l2_normalize

    check_size(size)
    rs, q, p = data or course_retrieval_set(size)
    dense = l2_normalize(q) @ l2_normalize(p).T  # (Q, N)
    sizes, curve = recall_curve(dense, rs.gold)
    target = curve[0]  # recall@1 on the prototype: the golds only
    k = smallest_k(dense, rs.gold, target)
    return CaseResult(
        "distractors", f"recall of the passages handed on, among {len(rs.passages):,} passages",
        recall_at(dense, rs.gold, 1), recall_at(dense, rs.gold, k), True,
        cause="k = 1 was tuned on a prototype without distractors; each added passage is another near-miss "
              "that can outrank the gold one",
        fix=f"measure recall@k at the production size and hand on the k that restores the prototype's "
            f"recall (here k = {k})",
        details={"sizes": sizes, "recall1": curve, "k": k, "target": target,
                 "recall10_curve": recall_curve(dense, rs.gold, k=10)[1]})
