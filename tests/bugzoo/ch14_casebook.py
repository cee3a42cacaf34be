"""Wrong repairs of the four faulty stages of Exercise 14's search pipeline."""

BUGS = {
    "tokenize": {
        "received_whitespace_split": '''
def tokenize(text):
    return text.split()
''',
        "lower_but_still_whitespace_split": '''
def tokenize(text):
    return text.lower().split()
''',
        "word_characters_without_lowercasing": '''
def tokenize(text):
    return re.findall(r"\\w+", text)
''',
        "letters_only_drops_digits_and_underscores": '''
def tokenize(text):
    return re.findall(r"[a-z]+", text.lower())
''',
        "unicode_word_characters": '''
def tokenize(text):
    return re.findall(r"\\w+", text.lower())
''',
        "strips_punctuation_at_the_ends_only": '''
def tokenize(text):
    return [w.strip(".,;:!?()") for w in text.lower().split() if w.strip(".,;:!?()")]
''',
    },
    "chunk_words": {
        "received_step_size_plus_overlap": '''
def chunk_words(words, size, overlap):
    return [words[start:start + size] for start in range(0, len(words), size + overlap)]
''',
        "no_overlap_step_size": '''
def chunk_words(words, size, overlap):
    if not 0 <= overlap < size:
        raise ValueError("bad overlap")
    return [words[start:start + size] for start in range(0, len(words), size)]
''',
        "keeps_tail_chunks_after_the_end_is_covered": '''
def chunk_words(words, size, overlap):
    if not 0 <= overlap < size:
        raise ValueError("bad overlap")
    return [words[start:start + size] for start in range(0, len(words), size - overlap)]
''',
        "drops_the_last_partial_window": '''
def chunk_words(words, size, overlap):
    if not 0 <= overlap < size:
        raise ValueError("bad overlap")
    return [words[start:start + size] for start in range(0, max(1, len(words) - size + 1), size - overlap)]
''',
        "no_validation": '''
def chunk_words(words, size, overlap):
    chunks = []
    step = max(1, size - overlap)
    for start in range(0, len(words), step):
        chunks.append(words[start:start + size])
        if start + size >= len(words):
            break
    return chunks
''',
        "empty_document_gives_an_empty_chunk": '''
def chunk_words(words, size, overlap):
    if not 0 <= overlap < size:
        raise ValueError("bad overlap")
    chunks = []
    for start in range(0, max(1, len(words)), size - overlap):
        chunks.append(words[start:start + size])
        if start + size >= len(words):
            break
    return chunks
''',
    },
    "cosine_scores": {
        "received_dot_product": '''
def cosine_scores(queries, chunks):
    return queries @ chunks.T
''',
        "normalises_chunks_only": '''
def cosine_scores(queries, chunks):
    n = chunks.norm(dim=1, keepdim=True)
    return queries @ (chunks / torch.where(n > 0, n, torch.ones_like(n))).T
''',
        "normalises_the_wrong_axis": '''
def cosine_scores(queries, chunks):
    def unit(x):
        n = x.norm(dim=0, keepdim=True)
        return x / torch.where(n > 0, n, torch.ones_like(n))
    return unit(queries) @ unit(chunks).T
''',
        "textbook_formula_nan_for_a_zero_vector": '''
def cosine_scores(queries, chunks):
    return (queries @ chunks.T) / (queries.norm(dim=1)[:, None] * chunks.norm(dim=1)[None, :])
''',
        "normalises_in_place": '''
def cosine_scores(queries, chunks):
    for x in (queries, chunks):
        n = x.norm(dim=1, keepdim=True)
        x /= torch.where(n > 0, n, torch.ones_like(n))
    return queries @ chunks.T
''',
    },
    "doc_scores": {
        "received_sum": '''
def doc_scores(scores, chunk_doc, n_docs):
    out = torch.zeros(scores.size(0), n_docs, dtype=scores.dtype)
    return out.index_add(1, chunk_doc, scores)
''',
        "mean_of_the_chunks": '''
def doc_scores(scores, chunk_doc, n_docs):
    total = torch.zeros(scores.size(0), n_docs, dtype=scores.dtype).index_add(1, chunk_doc, scores)
    counts = torch.bincount(chunk_doc, minlength=n_docs).clamp_min(1).to(scores.dtype)
    return total / counts
''',
        "max_from_zeros_hides_empty_and_negative": '''
def doc_scores(scores, chunk_doc, n_docs):
    out = torch.zeros(scores.size(0), n_docs, dtype=scores.dtype)
    return out.scatter_reduce(1, chunk_doc.expand(scores.size(0), -1), scores, reduce="amax")
''',
        "first_chunk_only": '''
def doc_scores(scores, chunk_doc, n_docs):
    out = torch.full((scores.size(0), n_docs), float("-inf"), dtype=scores.dtype)
    for j in reversed(range(scores.size(1))):
        out[:, chunk_doc[j]] = scores[:, j]
    return out
''',
        "float32_result": '''
def doc_scores(scores, chunk_doc, n_docs):
    out = torch.full((scores.size(0), n_docs), float("-inf"))
    return out.scatter_reduce(1, chunk_doc.expand(scores.size(0), -1), scores.float(), reduce="amax")
''',
    },
}
