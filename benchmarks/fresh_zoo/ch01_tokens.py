"""Fresh bug zoo for ch01_tokens, written from the release (exercises/ch01_tokens) and the chapter page only.

Each entry is a wrong implementation a learner could plausibly write; most pass the visible tests.
Caveat on independence: before writing this zoo, the author moved the cheap hidden checks of
``test_recover_merges`` above the full cl100k recovery (a CI-time task), and so saw that cell's
hidden tests; the ``recover_merges`` entries below are therefore not blind.
"""

BUGS = {
    "get_stats": {
        # [5, 5, 5] has (5, 5) twice (the task says overlapping pairs count); this skips past a repeated pair.
        "overlapping_pairs_counted_once": '''
def get_stats(ids):
    counts = {}
    i = 0
    while i < len(ids) - 1:
        pair = (ids[i], ids[i + 1])
        counts[pair] = counts.get(pair, 0) + 1
        i += 2 if ids[i] == ids[i + 1] else 1
    return counts
''',
        # Sorted by pair instead of first appearance: train_bpe's tie rule (the pair counted first) then picks wrong.
        "sorted_by_pair": '''
def get_stats(ids):
    counts = {}
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return dict(sorted(counts.items()))
''',
        # Set iteration order is not the order of first appearance.
        "set_order": '''
def get_stats(ids):
    pairs = list(zip(ids, ids[1:]))
    return {pair: pairs.count(pair) for pair in set(pairs)}
''',
    },
    "merge": {
        # Modifies the caller's list (the task says: do not modify ids).
        "mutates_input": '''
def merge(ids, pair, idx):
    i = 0
    while i < len(ids) - 1:
        if ids[i] == pair[0] and ids[i + 1] == pair[1]:
            ids[i:i + 2] = [idx]
        i += 1
    return ids
''',
        # Checks only the first id of the pair.
        "checks_first_id_only": '''
def merge(ids, pair, idx):
    out, i = [], 0
    while i < len(ids):
        if ids[i] == pair[0] and i + 1 < len(ids):
            out.append(idx)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
''',
        # String replacement: "1 2" also matches inside "11 2" or "1 23".
        "string_replace": '''
def merge(ids, pair, idx):
    s = " ".join(map(str, ids))
    s = s.replace(f"{pair[0]} {pair[1]}", str(idx))
    return [int(t) for t in s.split()] if s else []
''',
    },
    "train_bpe": {
        # No pre-tokenization: merges cross chunk boundaries.
        "no_pretokenization": '''
def train_bpe(text, vocab_size, pattern=GPT4_SPLIT_PATTERN):
    if vocab_size < 256:
        raise ValueError(f"vocab_size must be at least 256, got {vocab_size}")
    ids = list(text.encode("utf-8"))
    merges = {}
    for new_id in range(256, vocab_size):
        stats = get_stats(ids)
        if not stats:
            break
        pair = max(stats, key=stats.get)
        merges[pair] = new_id
        ids = merge(ids, pair, new_id)
    return merges
''',
        # The `pattern` argument is ignored: always GPT-4's.
        "ignores_pattern": '''
def train_bpe(text, vocab_size, pattern=GPT4_SPLIT_PATTERN):
    if vocab_size < 256:
        raise ValueError(f"vocab_size must be at least 256, got {vocab_size}")
    chunks = [list(c.encode("utf-8")) for c in regex.findall(GPT4_SPLIT_PATTERN, text)]
    merges = {}
    for new_id in range(256, vocab_size):
        stats = {}
        for c in chunks:
            for p, n in get_stats(c).items():
                stats[p] = stats.get(p, 0) + n
        if not stats:
            break
        pair = max(stats, key=stats.get)
        merges[pair] = new_id
        chunks = [merge(c, pair, new_id) for c in chunks]
    return merges
''',
        # Ties go to the largest pair, not the one counted first.
        "tie_to_largest_pair": '''
def train_bpe(text, vocab_size, pattern=GPT4_SPLIT_PATTERN):
    if vocab_size < 256:
        raise ValueError(f"vocab_size must be at least 256, got {vocab_size}")
    chunks = [list(c.encode("utf-8")) for c in regex.findall(pattern, text)]
    merges = {}
    for new_id in range(256, vocab_size):
        stats = {}
        for c in chunks:
            for p, n in get_stats(c).items():
                stats[p] = stats.get(p, 0) + n
        if not stats:
            break
        pair = max(stats, key=lambda p: (stats[p], p))
        merges[pair] = new_id
        chunks = [merge(c, pair, new_id) for c in chunks]
    return merges
''',
        # Counts pairs on the concatenated chunks (pairs across boundaries count), merges per chunk.
        "counts_across_chunks": '''
def train_bpe(text, vocab_size, pattern=GPT4_SPLIT_PATTERN):
    if vocab_size < 256:
        raise ValueError(f"vocab_size must be at least 256, got {vocab_size}")
    chunks = [list(c.encode("utf-8")) for c in regex.findall(pattern, text)]
    merges = {}
    for new_id in range(256, vocab_size):
        stats = get_stats([i for c in chunks for i in c])
        if not stats:
            break
        pair = max(stats, key=stats.get)
        merges[pair] = new_id
        chunks = [merge(c, pair, new_id) for c in chunks]
    return merges
''',
        # No early stop: max() of an empty dict raises once every chunk is one token.
        "no_early_stop": '''
def train_bpe(text, vocab_size, pattern=GPT4_SPLIT_PATTERN):
    if vocab_size < 256:
        raise ValueError(f"vocab_size must be at least 256, got {vocab_size}")
    chunks = [list(c.encode("utf-8")) for c in regex.findall(pattern, text)]
    merges = {}
    for new_id in range(256, vocab_size):
        stats = {}
        for c in chunks:
            for p, n in get_stats(c).items():
                stats[p] = stats.get(p, 0) + n
        pair = max(stats, key=stats.get)
        merges[pair] = new_id
        chunks = [merge(c, pair, new_id) for c in chunks]
    return merges
''',
        # vocab_size == 256 is valid (no merges) but raises here.
        "rejects_256": '''
def train_bpe(text, vocab_size, pattern=GPT4_SPLIT_PATTERN):
    if vocab_size <= 256:
        raise ValueError(f"vocab_size must be more than 256, got {vocab_size}")
    chunks = [list(c.encode("utf-8")) for c in regex.findall(pattern, text)]
    merges = {}
    for new_id in range(256, vocab_size):
        stats = {}
        for c in chunks:
            for p, n in get_stats(c).items():
                stats[p] = stats.get(p, 0) + n
        if not stats:
            break
        pair = max(stats, key=stats.get)
        merges[pair] = new_id
        chunks = [merge(c, pair, new_id) for c in chunks]
    return merges
''',
        # Code points instead of UTF-8 bytes: wrong for any non-ASCII text.
        "code_points_not_bytes": '''
def train_bpe(text, vocab_size, pattern=GPT4_SPLIT_PATTERN):
    if vocab_size < 256:
        raise ValueError(f"vocab_size must be at least 256, got {vocab_size}")
    chunks = [[ord(ch) for ch in c] for c in regex.findall(pattern, text)]
    merges = {}
    for new_id in range(256, vocab_size):
        stats = {}
        for c in chunks:
            for p, n in get_stats(c).items():
                stats[p] = stats.get(p, 0) + n
        if not stats:
            break
        pair = max(stats, key=stats.get)
        merges[pair] = new_id
        chunks = [merge(c, pair, new_id) for c in chunks]
    return merges
''',
        # "Speed-up": each distinct chunk counted once instead of once per occurrence.
        "distinct_chunks_only": '''
def train_bpe(text, vocab_size, pattern=GPT4_SPLIT_PATTERN):
    if vocab_size < 256:
        raise ValueError(f"vocab_size must be at least 256, got {vocab_size}")
    chunks = [list(c.encode("utf-8")) for c in dict.fromkeys(regex.findall(pattern, text))]
    merges = {}
    for new_id in range(256, vocab_size):
        stats = {}
        for c in chunks:
            for p, n in get_stats(c).items():
                stats[p] = stats.get(p, 0) + n
        if not stats:
            break
        pair = max(stats, key=stats.get)
        merges[pair] = new_id
        chunks = [merge(c, pair, new_id) for c in chunks]
    return merges
''',
        # dict.update overwrites a pair's count with the last chunk's instead of adding.
        "update_overwrites_counts": '''
def train_bpe(text, vocab_size, pattern=GPT4_SPLIT_PATTERN):
    if vocab_size < 256:
        raise ValueError(f"vocab_size must be at least 256, got {vocab_size}")
    chunks = [list(c.encode("utf-8")) for c in regex.findall(pattern, text)]
    merges = {}
    for new_id in range(256, vocab_size):
        stats = {}
        for c in chunks:
            stats.update(get_stats(c))
        if not stats:
            break
        pair = max(stats, key=stats.get)
        merges[pair] = new_id
        chunks = [merge(c, pair, new_id) for c in chunks]
    return merges
''',
    },
    "encode": {
        # The `pattern` argument is ignored.
        "ignores_pattern": '''
def encode(text, merges, pattern=GPT4_SPLIT_PATTERN):
    out = []
    for chunk in regex.findall(GPT4_SPLIT_PATTERN, text):
        ids = list(chunk.encode("utf-8"))
        while len(ids) >= 2:
            stats = get_stats(ids)
            pair = min(stats, key=lambda p: merges.get(p, float("inf")))
            if pair not in merges:
                break
            ids = merge(ids, pair, merges[pair])
        out.extend(ids)
    return out
''',
        # Highest merge id first instead of lowest.
        "highest_id_first": '''
def encode(text, merges, pattern=GPT4_SPLIT_PATTERN):
    out = []
    for chunk in regex.findall(pattern, text):
        ids = list(chunk.encode("utf-8"))
        while len(ids) >= 2:
            present = [p for p in get_stats(ids) if p in merges]
            if not present:
                break
            pair = max(present, key=merges.get)
            ids = merge(ids, pair, merges[pair])
        out.extend(ids)
    return out
''',
        # Picks the most frequent pair in the chunk, as in training, instead of the lowest merge id.
        "most_frequent_pair": '''
def encode(text, merges, pattern=GPT4_SPLIT_PATTERN):
    out = []
    for chunk in regex.findall(pattern, text):
        ids = list(chunk.encode("utf-8"))
        while len(ids) >= 2:
            stats = {p: n for p, n in get_stats(ids).items() if p in merges}
            if not stats:
                break
            pair = max(stats, key=stats.get)
            ids = merge(ids, pair, merges[pair])
        out.extend(ids)
    return out
''',
        # One merge per chunk, then moves on.
        "one_merge_per_chunk": '''
def encode(text, merges, pattern=GPT4_SPLIT_PATTERN):
    out = []
    for chunk in regex.findall(pattern, text):
        ids = list(chunk.encode("utf-8"))
        if len(ids) >= 2:
            stats = get_stats(ids)
            pair = min(stats, key=lambda p: merges.get(p, float("inf")))
            if pair in merges:
                ids = merge(ids, pair, merges[pair])
        out.extend(ids)
    return out
''',
    },
    "decode": {
        # errors="strict": invalid UTF-8 raises instead of becoming U+FFFD.
        "strict_utf8": '''
def decode(ids, vocab):
    for i in ids:
        if i not in vocab:
            raise ValueError(f"unknown token id {i}")
    return b"".join(vocab[i] for i in ids).decode("utf-8")
''',
        # errors="ignore": invalid bytes vanish instead of becoming U+FFFD.
        "ignore_errors": '''
def decode(ids, vocab):
    for i in ids:
        if i not in vocab:
            raise ValueError(f"unknown token id {i}")
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="ignore")
''',
        # An unknown id raises KeyError, not the ValueError the task asks for.
        "key_error_for_unknown_id": '''
def decode(ids, vocab):
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")
''',
        # An unknown id is silently skipped.
        "skips_unknown_id": '''
def decode(ids, vocab):
    return b"".join(vocab.get(i, b"") for i in ids).decode("utf-8", errors="replace")
''',
        # A ValueError, but it does not name the id.
        "error_does_not_name_id": '''
def decode(ids, vocab):
    if any(i not in vocab for i in ids):
        raise ValueError("decode: unknown token id in ids")
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")
''',
    },
    "recover_merges": {
        # Assumes the dict is in rank order (cl100k's file is).
        "dict_order_not_rank_order": '''
def recover_merges(ranks):
    merges = {}
    rank_of = {}
    for token, rank in ranks.items():
        if len(token) == 1:
            continue
        parts = [bytes([b]) for b in token]
        while len(parts) > 2:
            best = None
            for i in range(len(parts) - 1):
                r = rank_of.get(parts[i] + parts[i + 1])
                if r is not None and (best is None or r < best[0]):
                    best = (r, i)
            if best is None:
                raise ValueError(f"cannot split {token!r}")
            i = best[1]
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        ids = [p[0] if len(p) == 1 else ranks[p] for p in parts]
        merges[tuple(ids)] = rank
        rank_of[token] = rank
    return merges
''',
        # Splits as the longest lower-ranked prefix + the rest, not by BPE.
        "longest_prefix_split": '''
def recover_merges(ranks):
    merges = {}
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) == 1:
            continue
        for cut in range(len(token) - 1, 0, -1):
            a, b = token[:cut], token[cut:]
            if ranks.get(a, rank) < rank and ranks.get(b, rank) < rank:
                break
        else:
            raise ValueError(f"cannot split {token!r}")
        ida = a[0] if len(a) == 1 else ranks[a]
        idb = b[0] if len(b) == 1 else ranks[b]
        merges[(ida, idb)] = rank
    return merges
''',
        # BPE with every token's rank, including tokens ranked above the one being split.
        "no_rank_limit": '''
def recover_merges(ranks):
    merges = {}
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) == 1:
            continue
        parts = [bytes([b]) for b in token]
        while len(parts) > 2:
            best = None
            for i in range(len(parts) - 1):
                r = ranks.get(parts[i] + parts[i + 1])
                if r is not None and (best is None or r < best[0]):
                    best = (r, i)
            if best is None:
                raise ValueError(f"cannot split {token!r}")
            i = best[1]
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        merges[tuple(p[0] if len(p) == 1 else ranks[p] for p in parts)] = rank
    return merges
''',
        # A token that cannot be split is skipped silently instead of raising ValueError.
        "skips_unsplittable": '''
def recover_merges(ranks):
    merges = {}
    rank_of = {}
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) == 1:
            continue
        parts = [bytes([b]) for b in token]
        while len(parts) > 2:
            best = None
            for i in range(len(parts) - 1):
                r = rank_of.get(parts[i] + parts[i + 1])
                if r is not None and (best is None or r < best[0]):
                    best = (r, i)
            if best is None:
                break
            i = best[1]
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        rank_of[token] = rank
        if len(parts) != 2:
            continue
        merges[tuple(p[0] if len(p) == 1 else ranks[p] for p in parts)] = rank
    return merges
''',
    },
}
