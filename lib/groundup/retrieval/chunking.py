"""Chunking: cutting long documents into passages to embed, retrieve and cite (Chapter 12).

A bi-encoder reads at most ``max_length`` tokens (MiniLM was trained on 128) and squeezes
what it read into one vector, and a generator can only be given so much text; so long
documents are cut into *chunks*, each indexed on its own. Three ways to cut:

* ``boundary="tokens"``: fixed windows of ``size`` words, each starting ``size -
  overlap`` words after the previous one, so consecutive windows share exactly
  ``overlap`` words. Simple, blind to meaning: a window can start mid-sentence.
* ``boundary="sentence"`` / ``"paragraph"``: whole sentences (or paragraphs, separated
  by a blank line) packed greedily into chunks of at most ``size`` words; a unit longer
  than ``size`` is cut into word windows. ``overlap`` repeats the last whole units of a
  chunk, at most ``overlap`` words of them, at the start of the next.

Words are maximal runs of non-whitespace. Every chunk carries its character offsets in
the original text, ``text[chunk.start:chunk.end] == chunk.text``, so a RAG answer can cite
exactly where its evidence came from; with ``overlap=0`` the chunks cover every word of
the text once, in order, and only whitespace lies between them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Chunk", "chunk_text", "word_spans", "sentence_spans", "paragraph_spans"]

_WORD = re.compile(r"\S+")
_SENTENCE = re.compile(r".+?(?:[.!?](?=\s|$)|$)", re.S)  # up to a . ! or ? followed by space or the end
_PARAGRAPH = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True)
class Chunk:
    """One chunk: ``text == document[start:end]``."""

    text: str  # the chunk's text, exactly as in the document
    start: int  # character offset of its first character
    end: int  # character offset just past its last character
    n_words: int  # number of words in it


def word_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each word. ``word_spans("a bc")`` is ``[(0, 1), (2, 4)]``."""
    return [m.span() for m in _WORD.finditer(text)]


def _strip_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence: text up to a ``.``, ``!`` or ``?`` followed by whitespace, stripped."""
    spans = []
    for para_start, para_end in paragraph_spans(text):  # a sentence never crosses a paragraph break
        for m in _SENTENCE.finditer(text, para_start, para_end):
            span = _strip_span(text, *m.span())
            if span:
                spans.append(span)
    return spans


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph (separated by a blank line), stripped."""
    spans, start = [], 0
    for m in _PARAGRAPH.finditer(text):
        span = _strip_span(text, start, m.start())
        if span:
            spans.append(span)
        start = m.end()
    span = _strip_span(text, start, len(text))
    if span:
        spans.append(span)
    return spans


def _check(text: str, size: int, overlap: int, boundary: str) -> None:
    if not isinstance(text, str):
        raise TypeError(f"chunk_text expects a str, got {type(text).__name__}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size (words per chunk) must be an int >= 1, got {size!r}")
    if isinstance(overlap, bool) or not isinstance(overlap, int) or overlap < 0:
        raise ValueError(f"overlap must be an int >= 0, got {overlap!r}")
    if overlap >= size:
        raise ValueError(f"overlap must be smaller than size (each chunk must move on by at least one word), "
                         f"got overlap={overlap} with size={size}")
    if boundary not in ("tokens", "sentence", "paragraph"):
        raise ValueError(f"boundary must be 'tokens', 'sentence' or 'paragraph', got {boundary!r}")


def _windows(spans: list[tuple[int, int]], size: int, overlap: int) -> list[tuple[int, int]]:
    """Word windows over ``spans`` (word offsets): (first word, last word + 1) of each."""
    step = size - overlap
    out = []
    for first in range(0, len(spans), step):
        out.append((first, min(first + size, len(spans))))
        if first + size >= len(spans):  # this window reached the last word
            break
    return out


def chunk_text(
    text: str,
    size: int = 100,
    overlap: int = 0,
    boundary: Literal["tokens", "sentence", "paragraph"] = "tokens",
) -> list[Chunk]:
    """Cut ``text`` into chunks of at most ``size`` words; see the module docstring.

    >>> [c.text for c in chunk_text("one two three four five", size=3, overlap=1)]
    ['one two three', 'three four five']
    >>> chunks = chunk_text("One. Two three. Four.", size=3, boundary="sentence")
    >>> [(c.start, c.end) for c in chunks]
    [(0, 15), (16, 21)]
    """
    _check(text, size, overlap, boundary)
    words = word_spans(text)

    def make(a: int, b: int) -> Chunk:  # words a .. b-1
        start, end = words[a][0], words[b - 1][1]
        return Chunk(text[start:end], start, end, b - a)

    if boundary == "tokens":
        return [make(a, b) for a, b in _windows(words, size, overlap)]

    # Units (sentences or paragraphs) as word ranges [a, b).
    unit_spans = (
        sentence_spans(text) if boundary == "sentence" else paragraph_spans(text)
    )
    starts = [s for s, _ in words]
    units, w = [], 0
    for s, e in unit_spans:
        a = w
        while w < len(words) and words[w][0] < e:
            w += 1
        if w > a:
            units.append((a, w))
    del starts
    # Units longer than size are cut into word windows first.
    pieces = []
    for a, b in units:
        if b - a <= size:
            pieces.append((a, b))
        else:
            pieces.extend(
                (a + x, a + y) for x, y in _windows(words[a:b], size, overlap)
            )
    chunks, i = [], 0
    while i < len(pieces):
        a, b = pieces[i]
        j = i + 1
        while j < len(pieces) and pieces[j][1] - a <= size:  # pack whole units
            b = pieces[j][1]
            j += 1
        chunks.append(make(a, b))
        if j >= len(pieces):
            break
        # overlap: step back over the last whole units of this
        # chunk, at most `overlap` words
        back = j
        while back - 1 > i and pieces[j][1] - pieces[back - 1][0] <= size and \
                pieces[j - 1][1] - pieces[back - 1][0] <= overlap:
            back -= 1
        i = back
    return chunks
