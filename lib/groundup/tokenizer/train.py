"""Learning BPE merges: the taught (naive) loop and a fast incremental version that agrees with it.

Both implement Sennrich et al. (2016), Algorithm 1, on UTF-8 bytes of regex chunks:

    repeat (vocab_size - 256) times:
        count every adjacent pair of ids in every chunk
        pick the most frequent pair (a, b)
        give it the next id and replace (a, b) by that id everywhere

**Tie-break** (both versions, so they learn identical merges): the highest count wins;
among equal counts, the smallest pair compared as a tuple of ids, ``(a, b) < (c, d)``.
Training stops early when no pair is left (every chunk is a single token).
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable

import regex
from tqdm.auto import tqdm

from groundup.tokenizer.bpe import GPT4_SPLIT_PATTERN, check_text, get_stats, merge, split_chunks

Merges = list[tuple[tuple[int, int], int]]  # [((a, b), new_id), ...] in learned order


def check_vocab_size(vocab_size: int) -> None:
    """Raise a learner-friendly error for a vocabulary smaller than the 256 byte tokens."""
    if not isinstance(vocab_size, int) or isinstance(vocab_size, bool):
        raise TypeError(f"vocab_size must be an int, got {type(vocab_size).__name__}.")
    if vocab_size < 256:
        raise ValueError(
            f"vocab_size must be at least 256 (one token for each of the 256 byte values), "
            f"got {vocab_size}. Every merge adds one token on top of the 256 bytes: "
            f"to learn 1,000 merges, ask for vocab_size=1256."
        )


def pre_tokenize(text: str, pattern: str, special_tokens: Iterable[str] = ()) -> list[str]:
    """Split ``text`` into chunks, first cutting out any special-token strings (never merged).

    >>> pre_tokenize("hi<|endoftext|>yo", GPT4_SPLIT_PATTERN, ["<|endoftext|>"])
    ['hi', 'yo']
    """
    specials = sorted(set(special_tokens), key=len, reverse=True)
    pieces = regex.split("|".join(map(regex.escape, specials)), text) if specials else [text]
    return [chunk for piece in pieces for chunk in split_chunks(piece, pattern)]


def _best_pair(stats: dict[tuple[int, int], int]) -> tuple[int, int]:
    """Most frequent pair; ties go to the smallest pair (see the module docstring)."""
    return min(stats, key=lambda p: (-stats[p], p))


def train_naive(
    text: str,
    vocab_size: int,
    pattern: str = GPT4_SPLIT_PATTERN,
    progress: bool = False,
    *,
    special_tokens: Iterable[str] = (),
) -> Merges:
    """Learn ``vocab_size - 256`` merges the way the chapter teaches:
    recount everything each step.

    Each step costs a pass over all the text, which is slow (minutes for 1 MB) but
    easy to check by hand. Special-token strings are cut out of ``text`` first.

    In ``aaabdaaabac`` (one chunk here), ``aa`` occurs 4 times (overlaps count) and
    becomes 256; then ``(256, a)`` and ``(a, b)`` tie at 2 and the smaller pair,
    ``(97, 98)``, wins:

    >>> train_naive("aaabdaaabac", 259, pattern=r".+")
    [((97, 97), 256), ((97, 98), 257), ((256, 257), 258)]
    """
    check_text(text, "train_naive()")
    check_vocab_size(vocab_size)
    chunks = [
        list(c.encode("utf-8")) for c in pre_tokenize(text, pattern, special_tokens)
    ]
    merges: Merges = []
    for idx in tqdm(range(256, vocab_size), desc="BPE (naive)", disable=not progress):
        stats: dict[tuple[int, int], int] = {}
        for ids in chunks:
            get_stats(ids, stats)
        if not stats:
            break  # every chunk is already one token
        pair = _best_pair(stats)
        chunks = [merge(ids, pair, idx) for ids in chunks]
        merges.append((pair, idx))
    return merges


def train_fast(
    text: str,
    vocab_size: int,
    pattern: str = GPT4_SPLIT_PATTERN,
    progress: bool = False,
    *,
    special_tokens: Iterable[str] = (),
) -> Merges:
    """Learn the same merges as :func:`train_naive`, fast.

    Three ideas, none of which changes the result:

    1. *Deduplicate chunks*: ``" the"`` occurs thousands of times but is merged the same
       way each time, so keep each distinct chunk once with its frequency.
    2. *Incremental counts*: a merge only changes the chunks that contain the merged
       pair, so keep the pair counts and an index ``pair -> {chunk ids}``, and update
       the counts of those chunks alone (old pairs out, new pairs in, times frequency).
    3. *A heap* of ``(-count, pair)`` finds the best pair with the documented tie-break;
       entries whose count went stale are skipped when they reach the top.

    >>> train_fast("aaabdaaabac", 259, pattern=r".+")
    [((97, 97), 256), ((97, 98), 257), ((256, 257), 258)]
    """
    check_text(text, "train_fast()")
    check_vocab_size(vocab_size)
    freq = Counter(pre_tokenize(text, pattern, special_tokens))
    words = [list(chunk.encode("utf-8")) for chunk in freq]  # distinct chunks, as ids
    counts = list(freq.values())  # how often each distinct chunk occurs

    pair_counts: dict[tuple[int, int], int] = defaultdict(int)
    where: dict[tuple[int, int], set[int]] = defaultdict(set)  # pair -> chunks holding it
    for w, (ids, n) in enumerate(zip(words, counts)):
        for pair in zip(ids, ids[1:]):
            pair_counts[pair] += n
            where[pair].add(w)
    heap = [(-c, pair) for pair, c in pair_counts.items()]
    heapq.heapify(heap)

    merges: Merges = []
    for idx in tqdm(range(256, vocab_size), desc="BPE (fast)", disable=not progress):
        while heap and pair_counts.get(heap[0][1], 0) != -heap[0][0]:
            heapq.heappop(heap)  # stale entry: that pair's count has changed since
        if not heap:
            break  # every chunk is already one token
        pair = heapq.heappop(heap)[1]
        touched: set[tuple[int, int]] = set()
        for w in where.pop(pair, ()):
            old = words[w]
            new = merge(old, pair, idx)
            if len(new) == len(old):
                continue  # the index is allowed to be stale: this chunk lost the pair earlier
            n = counts[w]
            for p in zip(old, old[1:]):
                pair_counts[p] -= n
                touched.add(p)
            for p in zip(new, new[1:]):
                pair_counts[p] += n
                touched.add(p)
                where[p].add(w)
            words[w] = new
        for p in touched:
            c = pair_counts[p]
            if c > 0:
                heapq.heappush(heap, (-c, p))
            else:
                del pair_counts[p]
        merges.append((pair, idx))
    return merges
