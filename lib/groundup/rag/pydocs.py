"""Ask the Python docs: retrieval and an extractive answer over real text, offline (Chapter 13).

The course's built-in corpus (``groundup.data.builtin_documents()``: Python's documentation
topics and the standard library's docstrings) is chunked into passages of about ``size``
words, indexed (BM25 by default, any ``Retriever`` works), and a question gets back

* the best ``k`` passages, numbered, each with the title of the page it came from;
* an *extractive* answer: of the sentences in those passages, the one whose MiniLM
  embedding (Chapter 9) is closest to the question's, with the number of its passage.

Nothing is generated, so nothing is made up: the answer is a sentence of the docs, and
its citation says where it stands. What it cannot do is say something the docs do not.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from groundup.rag.pipeline import Passage, chunk_words
from groundup.retrieval.base import Retriever

__all__ = ["DocsAnswer", "DocsQA", "split_sentences"]


def split_sentences(text: str, min_words: int = 4) -> list[str]:
    """Sentences of prose (at '. ', '? ', '! ' or a blank line), at least ``min_words`` long.

    >>> split_sentences("Sort a list. It is stable! x\\n\\nReturn None in place of it.")
    ['Return None in place of it.']
    >>> split_sentences("Sort a list in place. It is stable, always.", min_words=3)
    ['Sort a list in place.', 'It is stable, always.']
    """
    parts = re.split(r"(?<=[.?!])\s+|\n\s*\n", text)
    return [" ".join(p.split()) for p in parts if len(p.split()) >= min_words]


@dataclass
class DocsAnswer:
    question: str
    answer: str  # the chosen sentence, verbatim from the docs ("" if nothing was found)
    citation: int  # the number (1-based) of the passage it comes from; 0 if none
    passages: list[tuple[str, Passage]]  # (page title, passage), best first: [1], [2], ...
    similarity: float  # cosine between the question and the chosen sentence

    def render(self, width: int = 160) -> str:
        """The answer, then the numbered sources, as a reader would see them."""
        lines = [f"Q: {self.question}", f"A: {self.answer} [{self.citation}]" if self.answer else "A: (no answer)"]
        for i, (title, p) in enumerate(self.passages, start=1):
            text = " ".join(p.text.split())
            lines.append(f"  [{i}] {title}: {text[:width]}{'...' if len(text) > width else ''}")
        return "\n".join(lines)


class DocsQA:
    """``DocsQA().index()`` once, then ``ask("how do I sort a list in place?")``."""

    def __init__(self, retriever: Retriever | None = None, *, size: int = 120, overlap: int = 20,
                 embed: Callable[[list[str]], torch.Tensor] | None = None):
        if retriever is None:
            from groundup.retrieval.bm25 import BM25  # Chapter 11

            retriever = BM25()
        self.retriever, self.size, self.overlap = retriever, size, overlap
        self._embed = embed
        self.texts: dict[str, str] = {}
        self.titles: dict[str, str] = {}

    def embed(self, texts: list[str]) -> torch.Tensor:
        """Unit-length sentence vectors (N, C); MiniLM (Chapter 9) unless another was given."""
        if self._embed is not None:
            return self._embed(texts)
        from groundup.bert import embed

        return embed(texts, progress=False)

    def index(self, documents: Sequence[tuple[str, str]] | None = None) -> "DocsQA":
        """Chunk and index ``documents`` ((title, text) pairs; default: the built-in corpus)."""
        if documents is None:
            from groundup.data import builtin_documents

            documents = builtin_documents()
        self.texts, self.titles = {}, {}
        for d, (title, text) in enumerate(documents):
            for j, chunk in enumerate(chunk_words(text, self.size, self.overlap)):
                pid = f"{d}#{j}"
                self.texts[pid], self.titles[pid] = chunk, title
        if not self.texts:
            raise ValueError("no documents to index.")
        self.retriever.index(list(self.texts), list(self.texts.values()))
        return self

    def ask(self, question: str, k: int = 3) -> DocsAnswer:
        if not isinstance(question, str) or not question.strip():
            raise ValueError("the question is empty: there is nothing to retrieve for or to answer.")
        if not self.texts:
            raise RuntimeError("nothing is indexed: call index() first.")
        hits = self.retriever.search([question], k)[0]
        passages = [(self.titles[pid], Passage(pid, self.texts[pid], float(s))) for pid, s in hits]
        candidates = [(i, s) for i, (_, p) in enumerate(passages, start=1) for s in split_sentences(p.text)]
        if not candidates:
            return DocsAnswer(question, "", 0, passages, float("nan"))
        vecs = self.embed([question] + [s for _, s in candidates])  # (1 + N, C), unit rows
        sims = vecs[1:] @ vecs[0]  # (N,) cosine
        best = int(sims.argmax())
        return DocsAnswer(question, candidates[best][1], candidates[best][0], passages, float(sims[best]))
