"""The pieces of byte-level BPE: split patterns, pair counts, merges, and the two encode rules.

Byte-pair encoding (Sennrich et al. 2016, "Neural Machine Translation of Rare Words
with Subword Units", sec. 3.1) starts from single symbols and repeatedly replaces the
most frequent adjacent pair with a new symbol. GPT-2 (Radford et al. 2019, sec. 2.2)
runs it on UTF-8 *bytes*, so the 256 byte values are the base vocabulary and any
string can be encoded, and it first splits text with a regular expression so that
merges never cross, e.g., a letter/punctuation or word/space boundary.

Everything here works on token ids (``int``) and chunks of text; the
:class:`~groundup.tokenizer.Tokenizer` class puts the pieces together.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence

import regex

# --------------------------------------------------------------------------- patterns

#: GPT-2's pre-tokenization regex, as written in OpenAI's ``gpt-2/src/encoder.py``:
#: contractions, optional space + letters, optional space + digits, optional space +
#: other symbols, then whitespace. (tiktoken's ``r50k_base`` spells the same splits
#: with possessive quantifiers.)
GPT2_SPLIT_PATTERN = (
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)

#: GPT-4's ``cl100k_base`` regex (as shipped with tiktoken): case-insensitive
#: contractions, letters with at most one leading non-letter, numbers of 1-3 digits,
#: punctuation runs with trailing newlines, and whitespace that keeps newlines apart.
GPT4_SPLIT_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)


@functools.lru_cache(maxsize=16)
def compile_pattern(pattern: str) -> regex.Pattern:
    """Compile a split pattern once (with the third-party ``regex`` module, which knows ``\\p{L}``)."""
    return regex.compile(pattern)


def split_chunks(text: str, pattern: str = GPT4_SPLIT_PATTERN) -> list[str]:
    """Pre-tokenize: cut ``text`` into the chunks that BPE merges within.

    >>> split_chunks("Hello world's 1234!!\\n")
    ['Hello', ' world', "'s", ' ', '123', '4', '!!\\n']
    """
    return compile_pattern(pattern).findall(text)


def check_text(text: object, where: str) -> None:
    """Raise a learner-friendly ``TypeError`` unless ``text`` is a ``str``."""
    if isinstance(text, str):
        return
    hint = ""
    if isinstance(text, (bytes, bytearray)):
        hint = " If you read a file in binary mode, decode it first: text = data.decode('utf-8')."
    raise TypeError(f"{where} expects text as a str, got {type(text).__name__}.{hint}")


# --------------------------------------------------------------------------- helpers


def get_stats(
    ids: Sequence[int], counts: dict[tuple[int, int], int] | None = None
) -> dict[tuple[int, int], int]:
    """Count each adjacent pair of ids; add into ``counts`` if
    given (to sum over chunks).

    Overlapping pairs are all counted: ``aaa`` holds the pair ``(a, a)`` twice.

    >>> get_stats([1, 2, 3, 1, 2])
    {(1, 2): 2, (2, 3): 1, (3, 1): 1}
    """
    counts = {} if counts is None else counts
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def merge(ids: Sequence[int], pair: tuple[int, int], idx: int) -> list[int]:
    """Replace every occurrence of ``pair`` in ``ids`` by
    ``idx``, scanning left to right.

    Occurrences do not overlap: once a pair is replaced, its right element is used up.

    >>> merge([1, 2, 3, 1, 2], (1, 2), 4)
    [4, 3, 4]
    >>> merge([1, 1, 1], (1, 1), 4)
    [4, 1]
    """
    a, b = pair
    out: list[int] = []
    i, n = 0, len(ids)
    while i < n:
        if i < n - 1 and ids[i] == a and ids[i + 1] == b:
            out.append(idx)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


# --------------------------------------------------------------------------- encoding


def encode_chunk_with_merges(
    chunk: bytes, merges: Mapping[tuple[int, int], int]
) -> list[int]:
    """Encode one chunk by replaying learned merges: always apply
    the earliest-learned merge.

    Merge ids grow in the order merges were learned (256, 257, ...), so the pair whose
    merge has the lowest id is the one training applied first.

    In ``aaab`` the pairs are ``aa`` (merge 256) and ``ab`` (merge 257); 256 goes first:

    >>> encode_chunk_with_merges(b"aaab", {(97, 97): 256, (97, 98): 257})
    [256, 257]
    """
    ids = list(chunk)  # the 256 byte tokens have ids 0..255
    while len(ids) >= 2:
        stats = get_stats(ids)
        pair = min(stats, key=lambda p: merges.get(p, float("inf")))
        if pair not in merges:
            break  # no learned merge applies any more
        ids = merge(ids, pair, merges[pair])
    return ids


def encode_chunk_with_ranks(chunk: bytes, ranks: Mapping[bytes, int]) -> list[int]:
    """Encode one chunk with tiktoken-style *ranks* (token bytes -> id), the way tiktoken does.

    ``cl100k_base`` ships no merge list, only each token's bytes and rank. The rule:
    if the whole chunk is a token, use it; otherwise start from single bytes and
    repeatedly join the adjacent pair whose joined bytes have the lowest rank (the
    leftmost one on a tie) until no joined pair is a token. The ids are the ranks of
    the final pieces, so the byte tokens need not have ids 0..255.

    >>> encode_chunk_with_ranks(b"aab", {b"a": 0, b"b": 1, b"aa": 2, b"ab": 3})
    [2, 1]
    """
    whole = ranks.get(chunk)
    if whole is not None:
        return [whole]  # tiktoken's shortcut: we keep its rule exactly (and it is much faster)
    try:
        return [ranks[p] for p in bpe_parts(chunk, ranks)]
    except KeyError as err:
        raise ValueError(
            f"byte {err.args[0]!r} has no rank: a byte-level vocabulary must hold all 256 "
            "single bytes. Was the ranks file truncated?"
        ) from None


def bpe_parts(
    chunk: bytes, ranks: Mapping[bytes, int], max_rank: int | None = None
) -> list[bytes]:
    """Split ``chunk`` into pieces by rank-based BPE, using only tokens ranked below ``max_rank``.

    >>> bpe_parts(b"aab", {b"a": 0, b"b": 1, b"aa": 2, b"ab": 3})
    [b'aa', b'b']
    >>> bpe_parts(b"aab", {b"a": 0, b"b": 1, b"aa": 2, b"ab": 3}, max_rank=2)
    [b'a', b'a', b'b']
    """
    parts = [chunk[i : i + 1] for i in range(len(chunk))]
    while len(parts) >= 2:
        best_rank, best_i = None, -1
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is None or (max_rank is not None and rank >= max_rank):
                continue
            if best_rank is None or rank < best_rank:  # strict: the leftmost wins a tie
                best_rank, best_i = rank, i
        if best_rank is None:
            break
        parts[best_i : best_i + 2] = [parts[best_i] + parts[best_i + 1]]
    return parts


def build_vocab(merges: Iterable[tuple[tuple[int, int], int]]) -> dict[int, bytes]:
    """The bytes of every token: 0..255 are the bytes themselves, each merge joins its pair.

    >>> build_vocab([((104, 105), 256)])[256]
    b'hi'
    """
    vocab = {i: bytes([i]) for i in range(256)}
    for (a, b), idx in merges:
        vocab[idx] = vocab[a] + vocab[b]
    return vocab
