"""The prompt a retrieve-then-read system sends, and the citations that come back (Chapter 13).

Retrieved passages go into the prompt numbered from 1, best first; the reader is asked to
answer and to cite the numbers of the passages it used::

    [1] Velmora was born in Port Karst .
    [2] Tavrin was born in Old Vessa .
    question : where was Velmora born ?
    answer :

and answers ``Port Karst [1]``. The citation is what lets a reader of the answer check it:
``is_supported`` asks whether the answer's words appear in the passages it cites.

A window holds only so many tokens: ``pack_passages`` keeps the best-ranked passages that
fit and drops the rest (a prompt cut from the left, as a sliding window would cut it,
loses the *best* passage first).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence

__all__ = ["build_prompt", "parse_answer", "normalize", "is_supported", "pack_passages"]

_CITE = re.compile(r"\[(\d+)\]")


def build_prompt(
    question: str, passages: Sequence[str], *, instruction: str = ""
) -> str:
    """The reader's prompt: numbered passages (``[1]`` first),
    the question, ``answer :``.

    >>> print(build_prompt("who ?", ["A b .", "C d ."]))
    [1] A b .
    [2] C d .
    question : who ?
    answer :
    """
    if not isinstance(question, str) or not question.strip():
        raise ValueError(
            "the question is empty: there is nothing to retrieve for or to answer."
        )
    if isinstance(passages, str):
        raise TypeError(
            "passages must be a list of strings, not one string (wrap it: [passage])."
        )
    lines = [instruction.strip()] if instruction.strip() else []
    lines += [f"[{i}] {' '.join(p.split())}" for i, p in enumerate(passages, start=1)]
    lines += [f"question : {' '.join(question.split())}", "answer :"]
    return "\n".join(lines)


def parse_answer(text: str, n_passages: int | None = None) -> tuple[str, list[int]]:
    """Split a generated answer into its text and the passage numbers it cites.

    Numbers outside 1..n_passages (when given) are dropped: a citation of a passage that
    was never shown is not a citation.

    >>> parse_answer("Port Karst [2] [1] [2]")
    ('Port Karst', [2, 1])
    >>> parse_answer("weaver [7]", n_passages=3)
    ('weaver', [])
    """
    cited: list[int] = []
    for m in _CITE.finditer(text):
        n = int(m.group(1))
        if n not in cited and n >= 1 and (n_passages is None or n <= n_passages):
            cited.append(n)
    answer = " ".join(_CITE.sub(" ", text).split())
    return answer, cited


def normalize(text: str) -> list[str]:
    """Lower-case words, punctuation removed: the unit ``is_supported`` matches on.

    >>> normalize("Port  Karst, a weaver's home.")
    ['port', 'karst', 'a', 'weaver', 's', 'home']
    """
    return re.findall(r"[a-z0-9]+", text.lower())


def is_supported(answer: str, passages: Sequence[str]) -> bool:
    """Is the answer, as a run of whole words, in at least one of ``passages``?

    Case and punctuation do not matter; a word inside a longer word does not count
    ("ten" is not in "often"). An empty answer is supported by nothing.

    >>> is_supported("port karst", ["Velmora was born in Port Karst ."])
    True
    >>> is_supported("ten", ["it rains often ."])
    False
    """
    want = normalize(answer)
    if not want:
        return False
    n = len(want)
    for p in passages:
        words = normalize(p)
        if any(words[i:i + n] == want for i in range(len(words) - n + 1)):
            return True
    return False


def pack_passages(passages: Sequence, budget: int, count: Callable[..., int]) -> list:
    """The best-ranked passages whose tokens (``count``) fit in ``budget``, in rank order.

    A passage that does not fit is skipped and the next ones are still tried, so a long
    passage does not block the shorter ones after it.

    >>> pack_passages(["a b c", "d e f g h", "i"], 5, lambda s: len(s.split()))
    ['a b c', 'i']
    """
    kept, used = [], 0
    for p in passages:
        c = count(p)
        if used + c <= budget:
            kept.append(p)
            used += c
    return kept
