"""The scale corpus: half a million passages of real text, built offline (Chapter 12).

The production case the course exists for is "a conversational agent over 500,000
documents, sub-second response times". To measure it offline we need that many passages
of *real* text, the same on every rebuild. The machine already holds them: the
documentation that ships inside the installed packages. ``scale_passages()`` reads

1. the built-in corpus (``groundup.data.builtin_documents()``: Python's documentation
   topics and the standard library's docstrings, imported in a clean interpreter), then
2. every docstring (every triple-quoted string) and comment block of every ``.py``/``.pyi``
   file, and the comments of every C/C++ header and source file, of the standard
   library folder and of ``site-packages`` (torch, transformers, numpy, scipy, sympy,
   matplotlib, ...), found by a regular expression (no code is imported or run), then
3. the ``.md``/``.rst``/``.txt`` documentation files found there,

walking folders and files in sorted order. Each text is split into paragraphs, code
(doctest lines, lines that are mostly symbols) is dropped, and each paragraph becomes
passages of at most ``max_words`` words cut at sentence ends (a longer sentence is cut
at ``max_words``). Passages under ``min_words`` words are dropped, and each distinct
passage (after collapsing whitespace) is kept once, in order of first appearance.

The result depends only on the Python version and the installed packages (their names
and versions are hashed into the cache key), so ``pip install -e .[book]`` on another
machine gives the same passages. The list is cached as gzipped JSON in
``$GROUNDUP_CACHE/scale/``.

``shuffled_order`` gives one fixed permutation, so the first 10k, 100k and 500k
passages of it are nested samples: the 10k collection is inside the 100k one, and
embeddings computed in shards for one size are reused by every larger one.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
import sys
import sysconfig
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

__all__ = ["ScaleCorpus", "scale_passages", "shuffled_order", "split_passages", "embed_in_shards",
           "distractor_pool", "judged_modules", "scale_collection",
           "installed_fingerprint"]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(`])")
_CODE_LINE = re.compile(r"^\s*(>>>|\.\.\.|\$ |[-=~^*#+]{4,}\s*$|[|+]-)")
DOC_SUFFIXES = (".md", ".rst", ".txt")


@dataclass(frozen=True)
class ScaleCorpus:
    """Passages in corpus order, where each came from, and how big the whole is."""

    passages: list[str]  # distinct passages, each <= max_words words
    sources: list[str]  # where each passage came from, e.g. "site-packages/numpy/linalg/_linalg.py"
    n_words: int  # whitespace-separated words in all passages
    fingerprint: str  # hash of the Python version, installed packages and the settings
    seconds: float | None  # seconds it took to build, None when loaded from the cache


def _alpha_ratio(line: str) -> float:
    s = line.strip()
    return sum(c.isalpha() or c == " " for c in s) / max(len(s), 1)


def split_passages(text: str, max_words: int = 100, min_words: int = 8) -> list[str]:
    """Cut ``text`` into prose passages of ``min_words`` to ``max_words`` words.

    Paragraphs are separated by blank lines; lines that look like code (doctest prompts,
    rules of ``----``, mostly symbols) are dropped; a paragraph longer than ``max_words``
    is cut at sentence ends, and a sentence longer than that at ``max_words`` words.

    >>> split_passages("Return the sum. It adds every item of the list together.\\n\\n>>> sum([1, 2])\\n3", 8, 3)
    ['Return the sum.', 'It adds every item of the list together.']
    """
    out = []
    for para in re.split(r"\n\s*\n", text):
        lines = [ln for ln in para.splitlines() if ln.strip() and not _CODE_LINE.match(ln) and _alpha_ratio(ln) >= 0.7]
        words_all = " ".join(lines).split()
        if len(words_all) < min_words:
            continue
        piece: list[str] = []
        for sentence in _SENTENCE_END.split(" ".join(words_all)):
            words = sentence.split()
            while len(words) > max_words:  # one long sentence: hard cuts
                if piece:
                    out.append(" ".join(piece))
                    piece = []
                out.append(" ".join(words[:max_words]))
                words = words[max_words:]
            if piece and len(piece) + len(words) > max_words:
                out.append(" ".join(piece))
                piece = []
            piece.extend(words)
        if piece:
            out.append(" ".join(piece))
    return [p for p in out if len(p.split()) >= min_words]


_TRIPLE = re.compile(r'"""(.*?)"""|\'\'\'(.*?)\'\'\'', re.S)


def _docstrings(path: Path) -> Iterator[str]:
    """Every triple-quoted string of one Python file (docstrings, mostly), without importing it.

    A regular expression, not ``ast``: parsing 20,000 files takes many minutes on a busy
    machine, a regex seconds. A triple-quoted string that is code or data rather than
    prose is dropped later by ``split_passages``'s code filter.
    """
    import inspect

    try:
        src = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    for m in _TRIPLE.finditer(src):
        body = m.group(1) if m.group(1) is not None else m.group(2)
        if len(body) >= 40:
            yield inspect.cleandoc(body)
    # Comment blocks: consecutive lines that are only a comment, joined as one paragraph.
    block: list[str] = []
    for line in src.splitlines() + [""]:
        s = line.strip()
        if s.startswith("#") and not s.startswith("#!"):
            block.append(s.lstrip("#").strip())
        elif block:
            if sum(len(b) for b in block) >= 40:
                yield "\n".join(block)
            block = []


_C_COMMENT = re.compile(r"/\*(.*?)\*/|((?:^[ \t]*//[^\n]*\n)+)", re.S | re.M)
C_SUFFIXES = (".h", ".hpp", ".cuh", ".c", ".cpp")


def _c_comments(path: Path) -> Iterator[str]:
    """The comments of a C/C++ file: each /* ... */ block and each run of // lines (torch's headers hold many)."""
    try:
        src = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    for m in _C_COMMENT.finditer(src):
        body = m.group(1) if m.group(1) is not None else m.group(2)
        lines = [re.sub(r"^\s*(//+!?|\*+)?\s?", "", ln) for ln in body.splitlines()]
        text = "\n".join(lines).strip()
        if len(text) >= 40:
            yield text


def _roots() -> list[tuple[str, Path]]:
    paths = sysconfig.get_paths()
    roots = [("stdlib", Path(paths["stdlib"])), ("site-packages", Path(paths["purelib"]))]
    if paths["platlib"] != paths["purelib"]:
        roots.append(("site-packages", Path(paths["platlib"])))
    return [(name, p) for name, p in roots if p.is_dir()]


def installed_fingerprint(**settings) -> str:
    """A hash of the Python version, every installed distribution and ``settings``."""
    from importlib.metadata import distributions

    dists = sorted({f"{d.metadata['Name']}=={d.version}" for d in distributions() if d.metadata["Name"]})
    blob = json.dumps([sys.version_info[:2], sys.platform, dists, sorted(settings.items())])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _iter_texts() -> Iterator[tuple[str, str]]:
    """(source, text) of the built-in corpus, then of every docstring and doc file, sorted by path."""
    from groundup.data import builtin_documents

    for title, text in builtin_documents():
        yield f"builtin:{title}", text
    for name, root in _roots():
        files = sorted(p for p in root.rglob("*") if p.suffix in (".py", ".pyi") + DOC_SUFFIXES + C_SUFFIXES
                       and "site-packages" not in p.relative_to(root).parts  # the stdlib's own venvs
                       and "__pycache__" not in p.parts and p.is_file())
        for path in files:
            rel = f"{name}/{path.relative_to(root).as_posix()}"
            if path.suffix in (".py", ".pyi"):
                for doc in _docstrings(path):
                    yield rel, doc
            elif path.suffix in C_SUFFIXES:
                for doc in _c_comments(path):
                    yield rel, doc
            elif path.stat().st_size < 2_000_000:
                if path.name.lower() in ("license.txt", "licence.txt", "copying.txt", "record.txt",
                                         "top_level.txt", "entry_points.txt", "requires.txt", "sources.txt"):
                    continue  # licences repeat thousands of times and say nothing to search for
                try:
                    yield rel, path.read_text(encoding="utf-8")
                except (UnicodeDecodeError, OSError):
                    continue


def _cache_root() -> Path:
    from groundup.train.cached import cache_root

    return cache_root()


def scale_passages(max_words: int = 40, min_words: int = 5, *, limit: int | None = None,
                   cache_dir: str | Path | None = None, progress: bool = False) -> ScaleCorpus:
    """Build (or load from the cache) the scale corpus described in the module docstring.

    ``limit`` stops after that many distinct passages (the cache holds the whole corpus;
    a limited build is not cached). The first full build parses ~20,000 Python files
    (a few minutes); later calls load the cached list in seconds.
    """
    if not 1 <= min_words <= max_words:
        raise ValueError(f"need 1 <= min_words <= max_words, got min_words={min_words}, max_words={max_words}")
    fp = installed_fingerprint(max_words=max_words, min_words=min_words, version=5)
    root = Path(cache_dir) if cache_dir is not None else _cache_root()
    path = root / "scale" / f"passages-{fp}.json.gz"
    if path.exists():
        try:
            with gzip.open(path, "rt", encoding="utf-8") as f:
                data = json.load(f)
            passages, sources = data["passages"], data["sources"]
            if limit is not None:
                passages, sources = passages[:limit], sources[:limit]
            return ScaleCorpus(passages, sources, sum(len(p.split()) for p in passages), fp, None)
        except (OSError, ValueError, KeyError):  # a torn file: build again
            pass
    start = time.perf_counter()
    seen: set[bytes] = set()
    passages, sources = [], []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc="passages", unit="passage")
    for source, text in _iter_texts():
        for p in split_passages(text, max_words, min_words):
            key = hashlib.blake2b(p.lower().encode(), digest_size=12).digest()
            if key in seen:
                continue
            seen.add(key)
            passages.append(p)
            sources.append(source)
            if bar is not None:
                bar.update(1)
        if limit is not None and len(passages) >= limit:
            break
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - start
    if limit is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        with gzip.open(tmp, "wt", encoding="utf-8") as f:
            json.dump({"passages": passages, "sources": sources}, f)
        tmp.replace(path)
    else:
        passages, sources = passages[:limit], sources[:limit]
    return ScaleCorpus(passages, sources, sum(len(p.split()) for p in passages), fp, seconds)


def shuffled_order(n: int, seed: int = 0) -> list[int]:
    """One fixed permutation of ``range(n)``: its prefixes are nested random samples."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return order


def embed_in_shards(texts: list[str], *, shard_size: int = 10_000, max_length: int = 128,
                    batch_size: int = 64, embed: Callable | None = None, progress: bool = True,
                    cache_dir: str | Path | None = None,
                    on_shard: Callable[[int, int, float | None], None] | None = None):
    """Embed ``texts`` shard by shard, each shard cached by ``embed_cached``: resumable.

    An interrupted run keeps every finished shard; the next run loads those from the
    cache and embeds only the rest. Shards are cut at fixed multiples of ``shard_size``,
    so a prefix of the texts (a smaller collection) reuses the shards of a larger one.
    Returns the (N, d) float32 unit vectors and the seconds spent embedding (0 for
    shards loaded from the cache). ``on_shard(i, n_shards, seconds)`` is called after
    each shard (``seconds`` None when it came from the cache).
    """
    import torch

    from groundup.embeddings.corpus import embed_cached

    parts, spent = [], 0.0
    n_shards = (len(texts) + shard_size - 1) // shard_size
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(texts), desc="embedding shards", unit="passage")
    kwargs = {} if embed is None else {"embed": embed, "model_id": getattr(embed, "__qualname__", "custom")}
    for i in range(n_shards):
        shard = texts[i * shard_size:(i + 1) * shard_size]
        vectors, seconds = embed_cached(shard, normalize=True, batch_size=batch_size, max_length=max_length,
                                        cache_dir=cache_dir, progress=False, **kwargs)
        parts.append(vectors)
        spent += seconds or 0.0
        if bar is not None:
            bar.update(len(shard))
        if on_shard is not None:
            on_shard(i, n_shards, seconds)
    if bar is not None:
        bar.close()
    if not parts:
        return torch.zeros(0, 384), 0.0
    return torch.cat(parts), spent


def distractor_pool(corpus: ScaleCorpus, avoid: list[str], avoid_modules: set[str] = frozenset(),
                    seed: int = 0) -> list[str]:
    """The scale passages that may serve as distractors for the course collection, shuffled once.

    The course collection's queries and judged passages come from standard-library
    docstrings, and a paragraph of the same docstring met again as a distractor would be a
    relevant passage nobody judged. So a distractor comes from ``site-packages``, or from
    a standard-library file of a module not in ``avoid_modules`` (the top-level modules the
    judged passages come from) and not the ``test`` package; never from the built-in
    corpus. Any passage whose first eight words open one of the ``avoid`` texts (the
    queries and the collection's passages) is dropped for the same reason.
    """
    def opening(t: str) -> str:
        return " ".join(t.lower().split()[:8])

    def allowed(source: str) -> bool:
        if source.startswith("site-packages/"):
            return True
        if source.startswith("stdlib/"):
            top = source.split("/")[1].split(".")[0]
            return top not in avoid_modules and top not in ("test", "idlelib", "lib2to3")
        return False

    banned = {opening(t) for t in avoid}
    pool = [p for p, s in zip(corpus.passages, corpus.sources) if allowed(s) and opening(p) not in banned]
    return [pool[i] for i in shuffled_order(len(pool), seed)]


def judged_modules(collection) -> set[str]:
    """Top-level modules the collection's passages came from (their ``source`` field, e.g. ``json.dumps``)."""
    return {d["source"].split(".")[0] for d in collection.corpus.values()
            if d.get("source") and not d["source"].startswith("topic")}


def scale_collection(n_distractors: int, *, base=None, pool: list[str] | None = None, seed: int = 0):
    """The course collection with ``n_distractors`` real passages added: same queries, same judgements.

    The first ``n_distractors`` of ``distractor_pool`` (nested: 10k is inside 100k), with
    ids ``s000000``, ... . Quality measured on it against ``n_distractors`` shows what more
    text does to a retriever with nothing else changed.
    """
    from groundup.retrieval.base import Collection

    if base is None:
        from groundup.retrieval.collections import course_collection

        base = course_collection()
    if pool is None:
        pool = distractor_pool(scale_passages(), list(base.queries.values()) + base.doc_texts(),
                               judged_modules(base), seed)
    if not 0 <= n_distractors <= len(pool):
        raise ValueError(f"n_distractors must be in [0, {len(pool)}] (the distractor pool), got {n_distractors}")
    corpus = dict(base.corpus)
    corpus.update((f"s{i:06d}", {"title": "", "text": p}) for i, p in enumerate(pool[:n_distractors]))
    return Collection(name=f"course+{n_distractors}", corpus=corpus, queries=base.queries, qrels=base.qrels,
                      split=base.split, metadata={**base.metadata, "distractors": str(n_distractors)})
