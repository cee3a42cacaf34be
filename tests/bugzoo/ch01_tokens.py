"""Wrong implementations of the functions learners write in Chapter 1 (tokens)."""

# Bugs of the independent zoo that slipped through once; one source, in benchmarks/fresh_zoo.
from benchmarks.fresh_zoo.ch01_tokens import BUGS as FRESH

BUGS = {
    "get_stats": {
        "wraps_around_the_end": '''
def get_stats(ids):
    counts = {}
    for pair in zip(ids, ids[1:] + ids[:1]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts
''',
        "non_overlapping_pairs_only": '''
def get_stats(ids):
    counts = {}
    for pair in zip(ids[::2], ids[1::2]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts
''',
        "set_of_pairs_counts_one_each": '''
def get_stats(ids):
    return {pair: 1 for pair in zip(ids, ids[1:])}
''',
        "sorted_by_count_not_first_seen": '''
def get_stats(ids):
    counts = {}
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))
''',
        # Issue 13 sweeps: ids past 255 (merged ids) and long inputs.
        "byte_table_256_by_256": '''
def get_stats(ids):
    table = [[0] * 256 for _ in range(256)]
    order = []
    for a, b in zip(ids, ids[1:]):
        if table[a][b] == 0:
            order.append((a, b))
        table[a][b] += 1
    return {p: table[p[0]][p[1]] for p in order}
''',
        "recursive_overflows_on_long_input": '''
def get_stats(ids, counts=None):
    counts = {} if counts is None else counts
    if len(ids) < 2:
        return counts
    counts[(ids[0], ids[1])] = counts.get((ids[0], ids[1]), 0) + 1
    return get_stats(ids[1:], counts)
''',
    },
    "merge": {
        "overlapping_pairs_both_merged": '''
def merge(ids, pair, idx):
    out = []
    for i, x in enumerate(ids):
        if i + 1 < len(ids) and x == pair[0] and ids[i + 1] == pair[1]:
            out.append(idx)
        elif i > 0 and ids[i - 1] == pair[0] and x == pair[1]:
            continue
        else:
            out.append(x)
    return out
''',
        "drops_the_last_id": '''
def merge(ids, pair, idx):
    out, i = [], 0
    while i < len(ids) - 1:
        if ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(idx)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
''',
        "only_first_occurrence": '''
def merge(ids, pair, idx):
    for i in range(len(ids) - 1):
        if ids[i] == pair[0] and ids[i + 1] == pair[1]:
            return ids[:i] + [idx] + ids[i + 2:]
    return list(ids)
''',
        "right_to_left": '''
def merge(ids, pair, idx):
    out, i = [], len(ids) - 1
    while i >= 0:
        if i > 0 and ids[i - 1] == pair[0] and ids[i] == pair[1]:
            out.append(idx)
            i -= 2
        else:
            out.append(ids[i])
            i -= 1
    return out[::-1]
''',
        "modifies_input_in_place": '''
def merge(ids, pair, idx):
    i = 0
    while i < len(ids) - 1:
        if ids[i] == pair[0] and ids[i + 1] == pair[1]:
            ids[i:i + 2] = [idx]
        i += 1
    return ids
''',
        "string_replace_matches_inside_numbers": '''
def merge(ids, pair, idx):
    text = " ".join(map(str, ids)).replace(f"{pair[0]} {pair[1]}", str(idx))
    return [int(t) for t in text.split()]
''',
        "recursive_overflows_on_long_input": '''
def merge(ids, pair, idx):
    if len(ids) < 2:
        return list(ids)
    if ids[0] == pair[0] and ids[1] == pair[1]:
        return [idx] + merge(ids[2:], pair, idx)
    return [ids[0]] + merge(ids[1:], pair, idx)
''',
    },
    "train_bpe": {
        "ignores_pre_tokenization": '''
def train_bpe(text, vocab_size, pattern=GPT4_SPLIT_PATTERN):
    if vocab_size < 256:
        raise ValueError("vocab_size must be at least 256")
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
        "ids_start_at_255": '''
def train_bpe(text, vocab_size, pattern=GPT4_SPLIT_PATTERN):
    if vocab_size < 256:
        raise ValueError("vocab_size must be at least 256")
    chunks = [list(c.encode("utf-8")) for c in regex.findall(pattern, text)]
    merges = {}
    for new_id in range(255, vocab_size - 1):
        stats = {}
        for chunk in chunks:
            for pair, count in get_stats(chunk).items():
                stats[pair] = stats.get(pair, 0) + count
        if not stats:
            break
        pair = max(stats, key=stats.get)
        merges[pair] = new_id
        chunks = [merge(chunk, pair, new_id) for chunk in chunks]
    return merges
''',
        "counts_once_never_recounts": '''
def train_bpe(text, vocab_size, pattern=GPT4_SPLIT_PATTERN):
    if vocab_size < 256:
        raise ValueError("vocab_size must be at least 256")
    chunks = [list(c.encode("utf-8")) for c in regex.findall(pattern, text)]
    stats = {}
    for chunk in chunks:
        for pair, count in get_stats(chunk).items():
            stats[pair] = stats.get(pair, 0) + count
    merges = {}
    for new_id in range(256, vocab_size):
        if not stats:
            break
        pair = max(stats, key=stats.get)
        del stats[pair]
        merges[pair] = new_id
        chunks = [merge(chunk, pair, new_id) for chunk in chunks]
    return merges
''',
        "counts_distinct_chunks_once": '''
def train_bpe(text, vocab_size, pattern=GPT4_SPLIT_PATTERN):
    if vocab_size < 256:
        raise ValueError("vocab_size must be at least 256")
    chunks = [list(c.encode("utf-8")) for c in dict.fromkeys(regex.findall(pattern, text))]
    merges = {}
    for new_id in range(256, vocab_size):
        stats = {}
        for chunk in chunks:
            for pair, count in get_stats(chunk).items():
                stats[pair] = stats.get(pair, 0) + count
        if not stats:
            break
        pair = max(stats, key=stats.get)
        merges[pair] = new_id
        chunks = [merge(chunk, pair, new_id) for chunk in chunks]
    return merges
''',
        "no_vocab_size_check": '''
def train_bpe(text, vocab_size, pattern=GPT4_SPLIT_PATTERN):
    chunks = [list(c.encode("utf-8")) for c in regex.findall(pattern, text)]
    merges = {}
    for new_id in range(256, vocab_size):
        stats = {}
        for chunk in chunks:
            for pair, count in get_stats(chunk).items():
                stats[pair] = stats.get(pair, 0) + count
        if not stats:
            break
        pair = max(stats, key=stats.get)
        merges[pair] = new_id
        chunks = [merge(chunk, pair, new_id) for chunk in chunks]
    return merges
''',
        "ignores_the_pattern_argument": '''
def train_bpe(text, vocab_size, pattern=GPT4_SPLIT_PATTERN):
    if vocab_size < 256:
        raise ValueError("vocab_size must be at least 256")
    chunks = [list(c.encode("utf-8")) for c in regex.findall(GPT4_SPLIT_PATTERN, text)]
    merges = {}
    for new_id in range(256, vocab_size):
        stats = {}
        for chunk in chunks:
            for pair, count in get_stats(chunk).items():
                stats[pair] = stats.get(pair, 0) + count
        if not stats:
            break
        pair = max(stats, key=stats.get)
        merges[pair] = new_id
        chunks = [merge(chunk, pair, new_id) for chunk in chunks]
    return merges
''',
        "ties_to_the_smallest_pair": '''
def train_bpe(text, vocab_size, pattern=GPT4_SPLIT_PATTERN):
    if vocab_size < 256:
        raise ValueError("vocab_size must be at least 256")
    chunks = [list(c.encode("utf-8")) for c in regex.findall(pattern, text)]
    merges = {}
    for new_id in range(256, vocab_size):
        stats = {}
        for chunk in chunks:
            for pair, count in get_stats(chunk).items():
                stats[pair] = stats.get(pair, 0) + count
        if not stats:
            break
        pair = max(sorted(stats), key=stats.get)
        merges[pair] = new_id
        chunks = [merge(chunk, pair, new_id) for chunk in chunks]
    return merges
''',
        "ties_to_the_last_counted_pair": '''
def train_bpe(text, vocab_size, pattern=GPT4_SPLIT_PATTERN):
    if vocab_size < 256:
        raise ValueError("vocab_size must be at least 256")
    chunks = [list(c.encode("utf-8")) for c in regex.findall(pattern, text)]
    merges = {}
    for new_id in range(256, vocab_size):
        stats = {}
        for chunk in chunks:
            for pair, count in get_stats(chunk).items():
                stats[pair] = stats.get(pair, 0) + count
        if not stats:
            break
        pair = sorted(stats, key=stats.get)[-1]
        merges[pair] = new_id
        chunks = [merge(chunk, pair, new_id) for chunk in chunks]
    return merges
''',
        "rejects_vocab_size_256": '''
def train_bpe(text, vocab_size, pattern=GPT4_SPLIT_PATTERN):
    if vocab_size <= 256:
        raise ValueError("vocab_size must be more than 256")
    chunks = [list(c.encode("utf-8")) for c in regex.findall(pattern, text)]
    merges = {}
    for new_id in range(256, vocab_size):
        stats = {}
        for chunk in chunks:
            for pair, count in get_stats(chunk).items():
                stats[pair] = stats.get(pair, 0) + count
        if not stats:
            break
        pair = max(stats, key=stats.get)
        merges[pair] = new_id
        chunks = [merge(chunk, pair, new_id) for chunk in chunks]
    return merges
''',
    },
    "encode": {
        "merges_in_reverse_order": '''
def encode(text, merges, pattern=GPT4_SPLIT_PATTERN):
    ids = []
    for chunk in regex.findall(pattern, text):
        chunk_ids = list(chunk.encode("utf-8"))
        for pair, new_id in reversed(list(merges.items())):
            chunk_ids = merge(chunk_ids, pair, new_id)
        ids.extend(chunk_ids)
    return ids
''',
        "first_mergeable_pair_in_text": '''
def encode(text, merges, pattern=GPT4_SPLIT_PATTERN):
    ids = []
    for chunk in regex.findall(pattern, text):
        chunk_ids = list(chunk.encode("utf-8"))
        while True:
            pair = next((p for p in zip(chunk_ids, chunk_ids[1:]) if p in merges), None)
            if pair is None:
                break
            chunk_ids = merge(chunk_ids, pair, merges[pair])
        ids.extend(chunk_ids)
    return ids
''',
        "ignores_pre_tokenization": '''
def encode(text, merges, pattern=GPT4_SPLIT_PATTERN):
    ids = list(text.encode("utf-8"))
    while len(ids) >= 2:
        stats = get_stats(ids)
        pair = min(stats, key=lambda p: merges.get(p, float("inf")))
        if pair not in merges:
            break
        ids = merge(ids, pair, merges[pair])
    return ids
''',
        "single_pass_stops_early": '''
def encode(text, merges, pattern=GPT4_SPLIT_PATTERN):
    ids = []
    for chunk in regex.findall(pattern, text):
        chunk_ids = list(chunk.encode("utf-8"))
        stats = get_stats(chunk_ids)
        if stats:
            pair = min(stats, key=lambda p: merges.get(p, float("inf")))
            if pair in merges:
                chunk_ids = merge(chunk_ids, pair, merges[pair])
        ids.extend(chunk_ids)
    return ids
''',
        "encodes_latin1_not_utf8": '''
def encode(text, merges, pattern=GPT4_SPLIT_PATTERN):
    ids = []
    for chunk in regex.findall(pattern, text):
        chunk_ids = list(chunk.encode("latin-1", errors="replace"))
        while len(chunk_ids) >= 2:
            stats = get_stats(chunk_ids)
            pair = min(stats, key=lambda p: merges.get(p, float("inf")))
            if pair not in merges:
                break
            chunk_ids = merge(chunk_ids, pair, merges[pair])
        ids.extend(chunk_ids)
    return ids
''',
        "ignores_the_pattern_argument": '''
def encode(text, merges, pattern=GPT4_SPLIT_PATTERN):
    ids = []
    for chunk in regex.findall(GPT4_SPLIT_PATTERN, text):
        chunk_ids = list(chunk.encode("utf-8"))
        while len(chunk_ids) >= 2:
            stats = get_stats(chunk_ids)
            pair = min(stats, key=lambda p: merges.get(p, float("inf")))
            if pair not in merges:
                break
            chunk_ids = merge(chunk_ids, pair, merges[pair])
        ids.extend(chunk_ids)
    return ids
''',
    },
    "decode": {
        "decodes_each_token_separately": '''
def decode(ids, vocab):
    for i in ids:
        if i not in vocab:
            raise ValueError(f"token id {i} is not in the vocabulary")
    return "".join(vocab[i].decode("utf-8", errors="replace") for i in ids)
''',
        "strict_utf8_raises": '''
def decode(ids, vocab):
    for i in ids:
        if i not in vocab:
            raise ValueError(f"token id {i} is not in the vocabulary")
    return b"".join(vocab[i] for i in ids).decode("utf-8")
''',
        "ids_as_bytes_ignoring_merges": '''
def decode(ids, vocab):
    for i in ids:
        if i not in vocab:
            raise ValueError(f"token id {i} is not in the vocabulary")
    return bytes(i % 256 for i in ids).decode("utf-8", errors="replace")
''',
        "unknown_id_key_error": '''
def decode(ids, vocab):
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")
''',
        "unknown_id_silently_skipped": '''
def decode(ids, vocab):
    return b"".join(vocab[i] for i in ids if i in vocab).decode("utf-8", errors="replace")
''',
        "vocab_values_as_a_list": '''
def decode(ids, vocab):
    table = list(vocab.values())
    for i in ids:
        if not 0 <= i < len(table):
            raise ValueError(f"token id {i} is not in the vocabulary")
    return b"".join(table[i] for i in ids).decode("utf-8", errors="replace")
''',
    },
    "recover_merges": {
        "byte_parts_as_their_ranks": '''
def recover_merges(ranks):
    merges = {}
    for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
        if len(token) < 2:
            continue
        parts = [ranks[bytes([b])] for b in token]
        while len(parts) > 2:
            stats = get_stats(parts)
            pair = min(stats, key=lambda p: merges.get(p, float("inf")))
            if pair not in merges:
                break
            parts = merge(parts, pair, merges[pair])
        if len(parts) != 2:
            raise ValueError(f"token {token!r} does not split into two lower-ranked tokens")
        merges[tuple(parts)] = rank
    return merges
''',
        "dict_order_not_rank_order": '''
def recover_merges(ranks):
    merges = {}
    for token, rank in ranks.items():
        if len(token) < 2:
            continue
        parts = list(token)
        while len(parts) > 2:
            stats = get_stats(parts)
            pair = min(stats, key=lambda p: merges.get(p, float("inf")))
            if pair not in merges:
                break
            parts = merge(parts, pair, merges[pair])
        if len(parts) != 2:
            raise ValueError(f"token {token!r} does not split into two lower-ranked tokens")
        merges[tuple(parts)] = rank
    return merges
''',
        "next_free_id_not_the_rank": '''
def recover_merges(ranks):
    merges = {}
    for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
        if len(token) < 2:
            continue
        parts = list(token)
        while len(parts) > 2:
            stats = get_stats(parts)
            pair = min(stats, key=lambda p: merges.get(p, float("inf")))
            if pair not in merges:
                break
            parts = merge(parts, pair, merges[pair])
        if len(parts) != 2:
            raise ValueError(f"token {token!r} does not split into two lower-ranked tokens")
        merges[tuple(parts)] = 256 + len(merges)
    return merges
''',
        "longest_lower_ranked_prefix": '''
def recover_merges(ranks):
    merges = {}
    part_id = lambda part: part[0] if len(part) == 1 else ranks[part]
    for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
        if len(token) < 2:
            continue
        for cut in range(len(token) - 1, 0, -1):
            left, right = token[:cut], token[cut:]
            if ranks.get(left, rank) < rank and ranks.get(right, rank) < rank:
                break
        else:
            raise ValueError(f"token {token!r} does not split into two lower-ranked tokens")
        merges[(part_id(left), part_id(right))] = rank
    return merges
''',
        "no_error_when_a_token_cannot_split": '''
def recover_merges(ranks):
    merges = {}
    for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
        if len(token) < 2:
            continue
        parts = list(token)
        while len(parts) > 2:
            stats = get_stats(parts)
            pair = min(stats, key=lambda p: merges.get(p, float("inf")))
            if pair not in merges:
                break
            parts = merge(parts, pair, merges[pair])
        merges[tuple(parts)] = rank
    return merges
''',
        # From the fresh zoo (benchmarks/fresh_zoo): BPE with every rank, not only the lower ones, so a token
        # that only a HIGHER-ranked token could split is "recovered" instead of raising ValueError.
        "splits_with_higher_ranked_tokens": FRESH["recover_merges"]["no_rank_limit"],
    },
}
