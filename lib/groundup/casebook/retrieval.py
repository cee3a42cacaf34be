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
* ``vocabulary``: a BM25 pipeline never finds answers worded differently from the question.
  Cause: BM25 scores only the terms a query shares with a passage (Chapter 11), so a
  query that shares none scores its answer 0. Measured: recall@10 of the queries that
  share no term with their gold passage. Fix: add the dense retriever (Chapter 12) by score
  fusion, its weight chosen on one half of the queries and measured on the other.
* ``anisotropy``: every passage looks similar to every query, and search is near random.
  Cause: the encoder was pretrained with masked language modelling only (Chapter 9's
  MLM run), whose mean-pooled vectors sit in a narrow cone (Ethayarajh 2019): the
  direction they share swamps the one that tells them apart. Measured: recall@10 and the
  mean cosine between different passages. Fix: whitening (Su et al. 2021) fitted on the
  passages, as Chapter 10 measured on MiniLM; the real fix is an encoder trained for
  similarity, and the case reports MiniLM's recall beside it.

Dimension letters: Q queries, N passages, D documents, d embedding width.
"""

from __future__ import annotations

import torch
from torch import Tensor

from groundup.casebook.base import CaseResult, check_size

__all__ = ["course_retrieval_set", "recall_at", "top_share", "case_norms", "make_documents", "case_chunking",
           "recall_curve", "smallest_k", "case_distractors", "term_overlap", "case_vocabulary", "mlm_embed",
           "case_anisotropy"]


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


# ----------------------------------------------------------------------------- vocabulary mismatch
def term_overlap(query: str, passage: str) -> float:
    """Share of the query's analysed terms (Chapter 11's analyser) that occur in ``passage``.

    >>> term_overlap("How do I sort a list?", "sorted() returns a new sorted list")  # only "list"
    0.25
    """
    from groundup.retrieval import tokenize

    q = set(tokenize(query))
    return len(q & set(tokenize(passage))) / len(q) if q else 0.0


def _hits_gold(runs: list[list[tuple[str, float]]], gold: Tensor, k: int) -> Tensor:
    """(Q,) bool: is query i's gold passage (id ``str(gold[i])``) among its first k hits?"""
    return torch.tensor([str(int(g)) in [d for d, _ in run[:k]] for run, g in zip(runs, gold)])


def case_vocabulary(size: str = "small", *, data=None, k: int = 10,
                    weights: tuple[float, ...] = (0.3, 0.5, 0.7, 0.9)) -> CaseResult:
    """Recall@k of the queries that share no term with their gold passage: BM25 alone (fault)
    vs BM25 fused with dense retrieval by min-max score fusion (fix). The dense weight is
    chosen among ``weights`` on the even-numbered queries; every number reported is measured
    on the odd-numbered ones."""
    from groundup.embeddings import l2_normalize
    from groundup.retrieval import BM25
    from groundup.retrieval.hybrid import rrf, score_fusion

    check_size(size)
    rs, q, p = data or course_retrieval_set(size)
    ids = [str(i) for i in range(len(rs.passages))]
    bm25 = BM25()
    bm25.index(ids, rs.passages)
    depth = min(100, len(ids))
    sparse = bm25.search(rs.queries, depth)  # Q lists of (id, score)
    cos = l2_normalize(q) @ l2_normalize(p).T  # (Q, N)
    top = cos.topk(depth, dim=1)
    dense = [[(str(j), s) for j, s in zip(ix.tolist(), sc.tolist())] for ix, sc in zip(top.indices, top.values)]
    overlap = torch.tensor([term_overlap(qq, rs.passages[g]) for qq, g in zip(rs.queries, rs.gold.tolist())])
    zero = overlap == 0  # (Q,) the vocabulary-mismatch queries
    tune = torch.arange(len(rs.queries)) % 2 == 0  # choose the weight here, report on the rest
    fused = {w: _hits_gold([score_fusion([s, d], [1 - w, w], "minmax") for s, d in zip(sparse, dense)], rs.gold, k)
             for w in weights}
    w_best = max(weights, key=lambda w: (fused[w][tune].float().mean().item(), -w))
    fix_name = f"score fusion (dense weight {w_best})"
    hits = {"BM25": _hits_gold(sparse, rs.gold, k), "dense": _hits_gold(dense, rs.gold, k),
            "RRF (equal weights)": _hits_gold([rrf([s, d]) for s, d in zip(sparse, dense)], rs.gold, k),
            fix_name: fused[w_best]}
    test = ~tune
    mismatch = zero & test  # (Q,) the held-out queries sharing no term with their answer
    groups = {"no shared term": mismatch, "some shared terms": ~zero & test, "all": test}
    table = {name: {g: h[m].float().mean().item() for g, m in groups.items()} for name, h in hits.items()}
    first = int(mismatch.nonzero()[0]) if mismatch.any() else None  # an example the data holds
    return CaseResult(
        "vocabulary", f"recall@{k} of queries that share no term with their answer",
        table["BM25"]["no shared term"], table[fix_name]["no shared term"], True,
        cause="BM25 scores only terms a query shares with a passage: an answer worded differently scores 0",
        fix=f"fuse BM25 with dense retrieval (min-max score fusion, dense weight {w_best}, chosen on held-out "
            f"queries)",
        details={"table": table, "weight": w_best, "n_zero": int(mismatch.sum()), "n_test": int(test.sum()),
                 "zero_share": zero.float().mean().item(), "k": k,
                 "example": None if first is None else (rs.queries[first], rs.passages[int(rs.gold[first])])})


# ----------------------------------------------------------------------------- anisotropy
@torch.no_grad()
def mlm_embed(run, texts: list[str], *, batch_size: int = 64) -> Tensor:
    """Mean-pooled last-layer vectors (N, C) of an MLM run (``groundup.bert.mlm.cached_mlm``),
    each text cut to the run's learned positions; padding is left out of the mean."""
    from groundup.bert.mlm import PAD

    T = run.model.config.max_position_embeddings
    out = []
    for i in range(0, len(texts), batch_size):
        rows = [run.encode(t)[0, :T] for t in texts[i:i + batch_size]]
        ids = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=PAD)  # (B, T)
        mask = (ids != PAD).long()  # (B, T)
        h = run.model(ids, attention_mask=mask)  # (B, T, C)
        out.append((h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True))  # (B, C)
    return torch.cat(out)


def case_anisotropy(size: str = "small", *, data=None, k: int = 10) -> CaseResult:
    """Recall@k with an MLM-only encoder's mean-pooled vectors, by cosine (fault) vs after
    whitening fitted on the passages (fix); MiniLM's recall is reported beside them."""
    from groundup.bert.mlm import MLMConfig, cached_mlm
    from groundup.embeddings import fit_whitening, l2_normalize, mean_cosine, whiten

    check_size(size)
    rs, q, p = data or course_retrieval_set(size)
    run = cached_mlm(MLMConfig(), progress=False)
    eq, ep = mlm_embed(run, rs.queries), mlm_embed(run, rs.passages)  # (Q, C), (N, C)
    cos = lambda a, b: l2_normalize(a) @ l2_normalize(b).T  # noqa: E731
    mu = ep.mean(0)
    w = fit_whitening(ep)
    spaces = {"MLM, raw": (eq, ep), "MLM, centred": (eq - mu, ep - mu), "MLM, whitened": (whiten(eq, w), whiten(ep, w)),
              "MiniLM": (q, p)}
    scores = {name: cos(a, b) for name, (a, b) in spaces.items()}  # name -> (Q, N) cosines
    table = {name: {"mean_cosine": mean_cosine(spaces[name][1]), f"recall@{k}": recall_at(sc, rs.gold, k),
                    "recall@1": recall_at(sc, rs.gold, 1)} for name, sc in scores.items()}
    return CaseResult(
        "anisotropy", f"recall@{k}, MLM-pretrained encoder",
        table["MLM, raw"][f"recall@{k}"], table["MLM, whitened"][f"recall@{k}"], True,
        cause="an MLM-only encoder's mean-pooled vectors share one dominant direction (mean cosine "
              f"{table['MLM, raw']['mean_cosine']:.2f} between unrelated passages): it swamps what tells them apart",
        fix="whiten the vectors (Su et al. 2021), fitted on the passages; better, an encoder trained for "
            "similarity (MiniLM)",
        details={"table": table, "k": k, "dim": ep.size(1),
                 "share_above_half": (scores["MLM, raw"] > 0.5).float().mean().item()})  # query-passage pairs
