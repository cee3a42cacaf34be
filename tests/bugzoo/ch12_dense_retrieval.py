"""Wrong implementations of the functions learners write in Chapter 12 (dense retrieval, IVF, RRF, chunking)."""

BUGS = {
    "cosine_top_k": {
        "dot_product_on_unnormalised_vectors": '''
def cosine_top_k(queries, docs, k):
    if not 1 <= k <= docs.shape[0]:
        raise ValueError("bad k")
    return torch.sort(queries @ docs.T, dim=1, descending=True, stable=True).indices[:, :k]
''',
        "normalises_the_wrong_axis": '''
def cosine_top_k(queries, docs, k):
    if not 1 <= k <= docs.shape[0]:
        raise ValueError("bad k")
    sims = F.normalize(queries, dim=0) @ F.normalize(docs, dim=0).T
    return torch.sort(sims, dim=1, descending=True, stable=True).indices[:, :k]
''',
        "ascending_sort": '''
def cosine_top_k(queries, docs, k):
    if not 1 <= k <= docs.shape[0]:
        raise ValueError("bad k")
    sims = F.normalize(queries, dim=1) @ F.normalize(docs, dim=1).T
    return torch.sort(sims, dim=1, stable=True).indices[:, :k]
''',
        "only_docs_normalised_and_topk_ties": '''
def cosine_top_k(queries, docs, k):
    if not 1 <= k <= docs.shape[0]:
        raise ValueError("bad k")
    return torch.topk(queries @ F.normalize(docs, dim=1).T, k, dim=1).indices
''',
        "no_k_check": '''
def cosine_top_k(queries, docs, k):
    sims = F.normalize(queries, dim=1) @ F.normalize(docs, dim=1).T
    return torch.sort(sims, dim=1, descending=True, stable=True).indices[:, :k]
''',
    },
    "ivf_search": {
        "nprobe_ignored_one_cell": '''
def ivf_search(query, centroids, lists, vectors, nprobe, k):
    if not 1 <= nprobe <= centroids.shape[0]:
        raise ValueError("bad nprobe")
    cell = int(torch.argmax(centroids @ query))
    cand = torch.sort(lists[cell]).values
    s = vectors[cand] @ query
    return cand[torch.sort(s, descending=True, stable=True).indices[:k]]
''',
        "nprobe_ignored_all_cells": '''
def ivf_search(query, centroids, lists, vectors, nprobe, k):
    if not 1 <= nprobe <= centroids.shape[0]:
        raise ValueError("bad nprobe")
    cand = torch.sort(torch.cat(list(lists))).values
    s = vectors[cand] @ query
    return cand[torch.sort(s, descending=True, stable=True).indices[:k]]
''',
        "opens_the_worst_cells": '''
def ivf_search(query, centroids, lists, vectors, nprobe, k):
    if not 1 <= nprobe <= centroids.shape[0]:
        raise ValueError("bad nprobe")
    cells = torch.sort(centroids @ query, stable=True).indices[:nprobe]
    cand = torch.sort(torch.cat([lists[int(c)] for c in cells])).values
    s = vectors[cand] @ query
    return cand[torch.sort(s, descending=True, stable=True).indices[:k]]
''',
        "returns_positions_not_ids": '''
def ivf_search(query, centroids, lists, vectors, nprobe, k):
    if not 1 <= nprobe <= centroids.shape[0]:
        raise ValueError("bad nprobe")
    cells = torch.sort(centroids @ query, descending=True, stable=True).indices[:nprobe]
    cand = torch.sort(torch.cat([lists[int(c)] for c in cells])).values
    s = vectors[cand] @ query
    return torch.sort(s, descending=True, stable=True).indices[:k]
''',
        "nprobe_minus_one_cells": '''
def ivf_search(query, centroids, lists, vectors, nprobe, k):
    if not 1 <= nprobe <= centroids.shape[0]:
        raise ValueError("bad nprobe")
    cells = torch.sort(centroids @ query, descending=True, stable=True).indices[:max(nprobe - 1, 1)]
    cand = torch.sort(torch.cat([lists[int(c)] for c in cells])).values
    s = vectors[cand] @ query
    return cand[torch.sort(s, descending=True, stable=True).indices[:k]]
''',
        "ties_not_by_id": '''
def ivf_search(query, centroids, lists, vectors, nprobe, k):
    if not 1 <= nprobe <= centroids.shape[0]:
        raise ValueError("bad nprobe")
    cells = torch.sort(centroids @ query, descending=True, stable=True).indices[:nprobe]
    cand = torch.cat([lists[int(c)] for c in cells])
    s = vectors[cand] @ query
    return cand[torch.sort(s, descending=True, stable=True).indices[:k]]
''',
    },
    "rrf": {
        "ranks_start_at_zero": '''
def rrf(rankings, k=60):
    fused = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda t: (-t[1], t[0]))
''',
        "k_ignored": '''
def rrf(rankings, k=60):
    fused = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (60 + rank)
    return sorted(fused.items(), key=lambda t: (-t[1], t[0]))
''',
        "only_documents_in_every_ranking": '''
def rrf(rankings, k=60):
    if not rankings:
        return []
    common = set(rankings[0]).intersection(*map(set, rankings[1:]))
    fused = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            if doc in common:
                fused[doc] = fused.get(doc, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda t: (-t[1], t[0]))
''',
        "max_instead_of_sum": '''
def rrf(rankings, k=60):
    fused = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            fused[doc] = max(fused.get(doc, 0.0), 1.0 / (k + rank))
    return sorted(fused.items(), key=lambda t: (-t[1], t[0]))
''',
        "ties_in_insertion_order": '''
def rrf(rankings, k=60):
    fused = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda t: -t[1])
''',
        "reciprocal_plus_k": '''
def rrf(rankings, k=60):
    fused = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / rank + k
    return sorted(fused.items(), key=lambda t: (-t[1], t[0]))
''',
    },
    "chunk_words": {
        "overlap_off_by_one_step": '''
import re


def chunk_words(text, size, overlap):
    if size < 1 or overlap < 0 or overlap >= size:
        raise ValueError("bad size or overlap")
    words = [m.span() for m in re.finditer(r"\\S+", text)]
    chunks, first = [], 0
    while first < len(words):
        last = min(first + size, len(words))
        chunks.append((words[first][0], words[last - 1][1]))
        if last == len(words):
            break
        first += size - overlap + 1
    return chunks
''',
        "overlap_one_too_many": '''
import re


def chunk_words(text, size, overlap):
    if size < 1 or overlap < 0 or overlap >= size:
        raise ValueError("bad size or overlap")
    words = [m.span() for m in re.finditer(r"\\S+", text)]
    chunks, first = [], 0
    while first < len(words):
        last = min(first + size, len(words))
        chunks.append((words[first][0], words[last - 1][1]))
        if last == len(words):
            break
        first += max(size - overlap - 1, 1)
    return chunks
''',
        "range_loop_extra_tail_chunk": '''
import re


def chunk_words(text, size, overlap):
    if size < 1 or overlap < 0 or overlap >= size:
        raise ValueError("bad size or overlap")
    words = [m.span() for m in re.finditer(r"\\S+", text)]
    chunks = []
    for first in range(0, len(words), size - overlap):
        last = min(first + size, len(words))
        chunks.append((words[first][0], words[last - 1][1]))
    return chunks
''',
        "drops_the_last_partial_chunk": '''
import re


def chunk_words(text, size, overlap):
    if size < 1 or overlap < 0 or overlap >= size:
        raise ValueError("bad size or overlap")
    words = [m.span() for m in re.finditer(r"\\S+", text)]
    chunks = []
    for first in range(0, max(len(words) - size, 0) + 1, size - overlap):
        if first + size <= len(words) or first == 0:
            last = min(first + size, len(words))
            chunks.append((words[first][0], words[last - 1][1]))
    return chunks if words else []
''',
        "end_at_next_word_start": '''
import re


def chunk_words(text, size, overlap):
    if size < 1 or overlap < 0 or overlap >= size:
        raise ValueError("bad size or overlap")
    words = [m.span() for m in re.finditer(r"\\S+", text)]
    chunks, first = [], 0
    while first < len(words):
        last = min(first + size, len(words))
        end = words[last][0] if last < len(words) else len(text)
        chunks.append((words[first][0], end))
        if last == len(words):
            break
        first += size - overlap
    return chunks
''',
        "split_on_single_spaces": '''
def chunk_words(text, size, overlap):
    if size < 1 or overlap < 0 or overlap >= size:
        raise ValueError("bad size or overlap")
    words, pos = [], 0
    for w in text.split(" "):
        if w:
            words.append((pos, pos + len(w)))
        pos += len(w) + 1
    chunks, first = [], 0
    while first < len(words):
        last = min(first + size, len(words))
        chunks.append((words[first][0], words[last - 1][1]))
        if last == len(words):
            break
        first += size - overlap
    return chunks
''',
        "no_overlap_check": '''
import re


def chunk_words(text, size, overlap):
    words = [m.span() for m in re.finditer(r"\\S+", text)]
    chunks, first = [], 0
    step = max(size - overlap, 1)
    while first < len(words):
        last = min(first + max(size, 1), len(words))
        chunks.append((words[first][0], words[last - 1][1]))
        if last == len(words):
            break
        first += step
    return chunks
''',
    },
}
