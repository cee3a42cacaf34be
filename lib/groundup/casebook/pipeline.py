"""The broken pipeline of Exercise 14, and its repaired reference.

A small lexical-vector search over Python's documentation, built the way many first
retrieval systems are: documents cut into word windows (chunks), each chunk a TF-IDF
vector, queries scored against every chunk by cosine, and a document scored from its
chunks. Four stages, four functions; in the exercise each arrives with a seeded fault
(``BROKEN``) that a user would only see as "search returns irrelevant results":

* ``tokenize``: the broken one splits on whitespace only, so ``File``, ``file`` and
  ``file.`` are three different terms and the query's words miss the documents';
* ``chunk_words``: the broken one steps by ``size + overlap`` instead of
  ``size - overlap``, so words between chunks are never indexed;
* ``cosine_scores``: the broken one takes raw dot products, so long chunks (big
  vectors) outscore relevant short ones;
* ``doc_scores``: the broken one sums the chunk scores of a document, so documents with
  many chunks win whatever they say.

The collection is Chapter 10's judged set (a docstring's summary as the query, the next
paragraph as its gold passage) with its passages grouped into documents of
``per_doc`` paragraphs: a query's relevant document is the one holding its gold passage.

Dimension letters: Q queries, N chunks, D documents, V vocabulary.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["tokenize", "chunk_words", "cosine_scores", "doc_scores", "BROKEN", "PipelineData", "load_data",
           "tfidf_matrix", "run_pipeline", "recall_at_k", "mrr"]

WORD = re.compile(r"[a-z0-9_]+")


# ----------------------------------------------------------------------------- the four stages (repaired)
def tokenize(text: str) -> list[str]:
    """Lower-cased terms: runs of letters, digits and underscores (identifiers stay whole).

    >>> tokenize("Open the File, then read_line() it.")
    ['open', 'the', 'file', 'then', 'read_line', 'it']
    """
    return WORD.findall(text.lower())


def chunk_words(words: list[str], size: int, overlap: int) -> list[list[str]]:
    """Windows of ``size`` words, each starting ``size - overlap`` words after the last,
    until the end is covered; every word is in at least one chunk.

    >>> chunk_words(list("abcdefg"), 3, 1)
    [['a', 'b', 'c'], ['c', 'd', 'e'], ['e', 'f', 'g']]
    >>> chunk_words(list("abcd"), 3, 1)
    [['a', 'b', 'c'], ['c', 'd']]
    >>> chunk_words([], 3, 1)
    []
    """
    if not 0 <= overlap < size:
        raise ValueError(f"need 0 <= overlap < size, got size={size}, overlap={overlap}")
    step = size - overlap
    chunks = []
    for start in range(0, len(words), step):
        chunks.append(words[start:start + size])
        if start + size >= len(words):
            break
    return chunks


def cosine_scores(queries: Tensor, chunks: Tensor) -> Tensor:
    """Cosine of every query vector (Q, V) with every chunk vector (N, V): (Q, N); 0 for a zero vector."""
    def unit(x):
        n = x.norm(dim=1, keepdim=True)  # (rows, 1)
        return x / torch.where(n > 0, n, torch.ones_like(n))

    return unit(queries) @ unit(chunks).T  # (Q, N)


def doc_scores(scores: Tensor, chunk_doc: Tensor, n_docs: int) -> Tensor:
    """A document's score is its best chunk's: (Q, N) chunk scores -> (Q, D); -inf for a document with no chunk.

    >>> doc_scores(torch.tensor([[0.1, 0.9, 0.3]]), torch.tensor([0, 0, 1]), 2)
    tensor([[0.9000, 0.3000]])
    """
    out = torch.full((scores.size(0), n_docs), float("-inf"), dtype=scores.dtype)
    return out.scatter_reduce(1, chunk_doc.expand(scores.size(0), -1), scores, reduce="amax")  # (Q, D)


# ----------------------------------------------------------------------------- the faults as received
def _broken_tokenize(text: str) -> list[str]:
    return text.split()


def _broken_chunk_words(words: list[str], size: int, overlap: int) -> list[list[str]]:
    return [words[start:start + size] for start in range(0, len(words), size + overlap)]


def _broken_cosine_scores(queries: Tensor, chunks: Tensor) -> Tensor:
    return queries @ chunks.T


def _broken_doc_scores(scores: Tensor, chunk_doc: Tensor, n_docs: int) -> Tensor:
    out = torch.zeros(scores.size(0), n_docs, dtype=scores.dtype)
    return out.index_add(1, chunk_doc, scores)


BROKEN = {"tokenize": _broken_tokenize, "chunk_words": _broken_chunk_words,
          "cosine_scores": _broken_cosine_scores, "doc_scores": _broken_doc_scores}
REPAIRED = {"tokenize": tokenize, "chunk_words": chunk_words, "cosine_scores": cosine_scores,
            "doc_scores": doc_scores}


# ----------------------------------------------------------------------------- data, vectors, metrics
@dataclass(frozen=True)
class PipelineData:
    queries: list[str]  # Q questions (docstring summaries)
    documents: list[str]  # D documents, each ``per_doc`` paragraphs of Python's documentation
    gold: Tensor  # (Q,) index of each query's relevant document


def load_data(n_queries: int = 150, n_passages: int = 1000, max_per_doc: int = 8, seed: int = 0) -> PipelineData:
    """Chapter 10's judged set, its paragraphs grouped into documents of 1 to ``max_per_doc``
    consecutive paragraphs (seeded): short and long documents, as in a real collection."""
    import random

    from groundup.embeddings import retrieval_set

    rs = retrieval_set(n_queries=n_queries, n_passages=n_passages, max_chars=300, seed=seed)
    rng = random.Random(seed)
    doc_of, docs, start = [], [], 0
    while start < len(rs.passages):
        n = rng.randint(1, max_per_doc)
        docs.append(" ".join(rs.passages[start:start + n]))
        doc_of += [len(docs) - 1] * len(rs.passages[start:start + n])
        start += n
    return PipelineData(queries=list(rs.queries), documents=docs, gold=torch.tensor(doc_of)[rs.gold])


def tfidf_matrix(token_lists: list[list[str]], vocab: dict[str, int], idf: Tensor) -> Tensor:
    """Rows of term counts times idf: (len(token_lists), V). Terms outside ``vocab`` are dropped."""
    x = torch.zeros(len(token_lists), len(vocab))
    for row, tokens in enumerate(token_lists):
        for term, count in Counter(t for t in tokens if t in vocab).items():
            x[row, vocab[term]] = count
    return x * idf  # (rows, V)


def run_pipeline(data: PipelineData, *, size: int = 40, overlap: int = 20, **stages) -> Tensor:
    """Document scores (Q, D) from the four stages; pass any of them as keywords to swap one in
    (``run_pipeline(data, tokenize=my_tokenize)``), the rest are the repaired ones."""
    tok = stages.get("tokenize", tokenize)
    chunker = stages.get("chunk_words", chunk_words)
    cos = stages.get("cosine_scores", cosine_scores)
    agg = stages.get("doc_scores", doc_scores)
    chunks, chunk_doc = [], []
    for d, text in enumerate(data.documents):
        for c in chunker(tok(text), size, overlap):
            chunks.append(c)
            chunk_doc.append(d)
    df = Counter(t for c in chunks for t in set(c))
    vocab = {t: i for i, t in enumerate(sorted(df))}
    N = len(chunks)
    idf = torch.tensor([math.log(1 + N / df[t]) for t in sorted(df)])  # (V,)
    q = tfidf_matrix([tok(x) for x in data.queries], vocab, idf)  # (Q, V)
    c = tfidf_matrix(chunks, vocab, idf)  # (N, V)
    return agg(cos(q, c), torch.tensor(chunk_doc), len(data.documents))  # (Q, D)


def recall_at_k(scores: Tensor, gold: Tensor, k: int = 10) -> float:
    """Share of queries whose relevant document is in the top k (ties broken by a stable sort)."""
    top = torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :k]  # (Q, k)
    return (top == gold[:, None]).any(dim=1).float().mean().item()


def mrr(scores: Tensor, gold: Tensor) -> float:
    """Mean reciprocal rank of the relevant document."""
    order = torch.sort(scores, dim=1, descending=True, stable=True).indices  # (Q, D)
    ranks = (order == gold[:, None]).float().argmax(dim=1) + 1  # (Q,)
    return (1.0 / ranks.float()).mean().item()
