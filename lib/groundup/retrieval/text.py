"""Turning text into the terms a sparse index counts (Chapter 11).

An inverted index does not see sentences, only *terms*. The course's analyser is the one
``bm25s`` uses by default (itself scikit-learn's ``CountVectorizer`` pattern), so our BM25
scores can be compared with ``bm25s`` number for number:

1. lowercase the text;
2. split it with the regular expression ``(?u)\\b\\w\\w+\\b``: runs of two or more word
   characters (letters, digits, ``_``, in any script), so one-letter words and punctuation
   are dropped and ``open_file`` stays one term;
3. drop English stop words (``bm25s``'s list of 33, the one Lucene's ``EnglishAnalyzer`` uses);
4. optionally stem each remaining term (any ``str -> str`` callable, or an object with a
   ``stemWord`` method such as PyStemmer's).

>>> tokenize("The Quick brown fox: it isn't a fox_trot!")
['quick', 'brown', 'fox', 'isn', 'fox_trot']
>>> tokenize("to be or not to be")  # only stop words: no terms at all
[]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

__all__ = ["TOKEN_PATTERN", "STOPWORDS_EN", "Analyzer", "tokenize"]

TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # bm25s's (and scikit-learn's) default: 2+ word characters

# bm25s.stopwords.STOPWORDS_EN: the 33 English stop words of Lucene's EnglishAnalyzer.
STOPWORDS_EN: frozenset[str] = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they",
    "this", "to", "was", "will", "with",
))


@dataclass(frozen=True)
class Analyzer:
    """Text -> list of terms: lowercase, split, drop stop words, stem (in that order, as bm25s)."""

    lower: bool = True  # lowercase before splitting
    pattern: str = TOKEN_PATTERN  # a term is one match of this regular expression
    stopwords: frozenset[str] = STOPWORDS_EN  # dropped (compared before stemming); frozenset() keeps all
    stemmer: Callable[[str], str] | None = None  # e.g. Stemmer.Stemmer("english").stemWord; None: no stemming
    _findall: Callable[[str], list[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        stemmer = self.stemmer
        if stemmer is not None and not callable(stemmer):
            if hasattr(stemmer, "stemWord"):
                object.__setattr__(self, "stemmer", stemmer.stemWord)
            else:
                raise TypeError(f"stemmer must be a callable str -> str or have a stemWord method, got "
                                f"{type(stemmer).__name__}")
        object.__setattr__(self, "stopwords", frozenset(self.stopwords))
        object.__setattr__(self, "_findall", re.compile(self.pattern).findall)

    def __call__(self, text: str) -> list[str]:
        if not isinstance(text, str):
            raise TypeError(f"expected a str, got {type(text).__name__}")
        if self.lower:
            text = text.lower()
        stop = self.stopwords
        terms = [t for t in self._findall(text) if t not in stop]
        if self.stemmer is not None:
            stem = self.stemmer
            terms = [stem(t) for t in terms]
        return terms

    def many(self, texts: Iterable[str]) -> list[list[str]]:
        return [self(t) for t in texts]


_DEFAULT = Analyzer()


def tokenize(text: str) -> list[str]:
    """The default analyser: lowercase, ``TOKEN_PATTERN``, English stop words, no stemming."""
    return _DEFAULT(text)
