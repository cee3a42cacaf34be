"""Retrieve, then read: the RAG pipeline (Chapter 13).

    chunk -> index -> retrieve -> build the prompt with numbered citations -> generate -> cite

Any ``Retriever`` (``groundup.retrieval.base``) finds the passages: BM25 (Chapter 11),
dense or hybrid (Chapter 12), or a learner's own; any ``Generator``
(``groundup.rag.generators``) reads them. The answer comes back with the passages it cites,
whether the cited passages contain it (``is_supported``) and where the time went.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from groundup.rag.generators import Generator
from groundup.rag.prompt import build_prompt, is_supported, pack_passages, parse_answer
from groundup.retrieval.base import Retriever

__all__ = ["chunk_sentences", "chunk_words", "default_retriever", "Passage", "RAGAnswer", "RAGPipeline"]


def default_retriever() -> Retriever:
    """Chapter 12's hybrid (BM25 + MiniLM, fused by RRF) where it is installed, else BM25."""
    try:
        from groundup.retrieval.hybrid import HybridRetriever
    except ImportError:
        from groundup.retrieval.bm25 import BM25

        return BM25()
    return HybridRetriever()


# ----------------------------------------------------------------------------- chunking
def chunk_sentences(text: str) -> list[str]:
    """Split at sentence ends (., ?, ! followed by a space): one fact per passage here.

    >>> chunk_sentences("A b . C d . E")
    ['A b .', 'C d .', 'E']
    """
    parts = re.split(r"(?<=[.?!])\s+", " ".join(text.split()))
    return [p for p in parts if p]


def chunk_words(text: str, size: int, overlap: int = 0) -> list[str]:
    """Windows of ``size`` words, each starting ``size - overlap`` words after the last:
    blind to sentences, so a window can end in the middle of a fact.

    >>> chunk_words("a b c d e", 2)
    ['a b', 'c d', 'e']
    >>> chunk_words("a b c d e", 3, overlap=1)
    ['a b c', 'c d e']
    """
    if size < 1 or not 0 <= overlap < size:
        raise ValueError(f"need size >= 1 and 0 <= overlap < size, got size={size}, overlap={overlap}.")
    words = text.split()
    step, out = size - overlap, []
    for start in range(0, len(words), step):
        out.append(" ".join(words[start:start + size]))
        if start + size >= len(words):
            break
    return out


# ----------------------------------------------------------------------------- the pipeline
@dataclass(frozen=True)
class Passage:
    pid: str  # "<doc id>#<chunk number>"
    text: str
    score: float  # the retriever's score


@dataclass
class RAGAnswer:
    question: str
    answer: str  # the generated answer, citation marks removed ("" when nothing was retrieved)
    cited: list[Passage]  # the passages the answer cites, in the order it cites them
    passages: list[Passage]  # every passage that went into the prompt, best first ([1] first)
    supported: bool  # is the answer's text in the passages it cites?
    prompt: str
    raw: str  # the generator's output as it came
    seconds: dict[str, float] = field(default_factory=dict)  # "search", "generate"


class RAGPipeline:
    """``index(doc_ids, texts)`` once, then ``ask(question)``.

    ``k`` passages are retrieved; those that fit the generator's window (with
    ``max_new_tokens`` left for the answer) go into the prompt, best first. With no
    passage retrieved the pipeline abstains (answer ``""``) rather than answer from the
    generator's own memory."""

    def __init__(self, retriever: Retriever, generator: Generator, *, k: int = 4,
                 chunker: Callable[[str], list[str]] = chunk_sentences, max_new_tokens: int = 5):
        if not isinstance(retriever, Retriever):
            raise TypeError("retriever must have index(doc_ids, texts) and search(queries, k) "
                            "(the groundup.retrieval.base.Retriever protocol).")
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}.")
        self.retriever, self.generator, self.k = retriever, generator, k
        self.chunker, self.max_new_tokens = chunker, max_new_tokens
        self.texts: dict[str, str] = {}

    def index(self, doc_ids: Sequence[str], texts: Sequence[str]) -> None:
        """Chunk every document and index the chunks (ids ``<doc id>#<n>``)."""
        if len(doc_ids) != len(texts):
            raise ValueError(f"{len(doc_ids)} ids but {len(texts)} texts.")
        self.texts = {f"{d}#{j}": c for d, t in zip(doc_ids, texts) for j, c in enumerate(self.chunker(t))}
        self.retriever.index(list(self.texts), list(self.texts.values()))

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        hits = self.retriever.search([question], k or self.k)[0]
        return [Passage(pid, self.texts[pid], float(s)) for pid, s in hits]

    def ask(self, question: str) -> RAGAnswer:
        if not isinstance(question, str) or not question.strip():
            raise ValueError(
                "the question is empty: there is nothing to retrieve for or to answer."
            )
        if not self.texts:
            raise RuntimeError("nothing is indexed: call index(doc_ids, texts) first.")
        gen = self.generator
        bare = gen.count_tokens(build_prompt(question, [], instruction=gen.instruction))
        budget = gen.window - self.max_new_tokens - bare
        if budget < 0:
            raise ValueError(
                f"the question alone takes {bare} tokens of the generator's "
                f"{gen.window}-token window, with {self.max_new_tokens} kept for the "
                "answer: shorten it."
            )
        t0 = time.perf_counter()
        found = self.retrieve(question)
        t1 = time.perf_counter()
        # each passage costs its words plus its "[n]" mark
        kept = pack_passages(
            list(range(len(found))),
            budget,
            lambda i: gen.count_tokens(found[i].text) + 1,
        )
        passages = [found[i] for i in kept]
        prompt = build_prompt(
            question, [p.text for p in passages], instruction=gen.instruction
        )
        if not passages:
            return RAGAnswer(
                question,
                "",
                [],
                [],
                False,
                prompt,
                "",
                {"search": t1 - t0, "generate": 0.0},
            )
        raw = gen.generate(prompt, self.max_new_tokens)
        t2 = time.perf_counter()
        answer, numbers = parse_answer(raw, len(passages))
        cited = [passages[n - 1] for n in numbers]
        return RAGAnswer(
            question,
            answer,
            cited,
            passages,
            is_supported(answer, [p.text for p in cited]),
            prompt,
            raw,
            {"search": t1 - t0, "generate": t2 - t1},
        )
