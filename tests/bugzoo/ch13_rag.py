"""Wrong implementations of the functions learners write in Chapter 13 (retrieval-augmented generation)."""

BUGS = {
    "build_prompt": {
        "citations_numbered_from_0": '''
def build_prompt(question, passages):
    if not question.strip():
        raise ValueError("empty")
    lines = [f"[{i}] {' '.join(p.split())}" for i, p in enumerate(passages)]
    return "\\n".join(lines + [f"question : {' '.join(question.split())}", "answer :"])
''',
        "passages_in_reverse_order": '''
def build_prompt(question, passages):
    if not question.strip():
        raise ValueError("empty")
    lines = [f"[{i}] {' '.join(p.split())}" for i, p in enumerate(reversed(list(passages)), start=1)]
    return "\\n".join(lines + [f"question : {' '.join(question.split())}", "answer :"])
''',
        "newlines_inside_passages_kept": '''
def build_prompt(question, passages):
    if not question.strip():
        raise ValueError("empty")
    lines = [f"[{i}] {p.strip()}" for i, p in enumerate(passages, start=1)]
    return "\\n".join(lines + [f"question : {question.strip()}", "answer :"])
''',
        "question_before_passages": '''
def build_prompt(question, passages):
    if not question.strip():
        raise ValueError("empty")
    lines = [f"question : {' '.join(question.split())}"]
    lines += [f"[{i}] {' '.join(p.split())}" for i, p in enumerate(passages, start=1)]
    return "\\n".join(lines + ["answer :"])
''',
        "trailing_newline": '''
def build_prompt(question, passages):
    if not question.strip():
        raise ValueError("empty")
    out = ""
    for i, p in enumerate(passages, start=1):
        out += f"[{i}] {' '.join(p.split())}\\n"
    return out + f"question : {' '.join(question.split())}\\nanswer :\\n"
''',
        "empty_question_accepted": '''
def build_prompt(question, passages):
    lines = [f"[{i}] {' '.join(p.split())}" for i, p in enumerate(passages, start=1)]
    return "\\n".join(lines + [f"question : {' '.join(question.split())}", "answer :"])
''',
        "number_from_the_passage_text_index": '''
def build_prompt(question, passages):
    if not question.strip():
        raise ValueError("empty")
    lines = [f"[{list(passages).index(p) + 1}] {' '.join(p.split())}" for p in passages]
    return "\\n".join(lines + [f"question : {' '.join(question.split())}", "answer :"])
''',
    },
    "rrf": {
        "ranks_from_0": '''
def rrf(rankings, k=60):
    scores = {}
    for ranking in rankings:
        seen = set()
        for rank, doc in enumerate(ranking):
            if doc not in seen:
                seen.add(doc)
                scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda t: (-t[1], t[0]))
''',
        "k_left_out": '''
def rrf(rankings, k=60):
    scores = {}
    for ranking in rankings:
        seen = set()
        for rank, doc in enumerate(ranking, start=1):
            if doc not in seen:
                seen.add(doc)
                scores[doc] = scores.get(doc, 0.0) + 1.0 / rank
    return sorted(scores.items(), key=lambda t: (-t[1], t[0]))
''',
        "lowest_score_first": '''
def rrf(rankings, k=60):
    scores = {}
    for ranking in rankings:
        seen = set()
        for rank, doc in enumerate(ranking, start=1):
            if doc not in seen:
                seen.add(doc)
                scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda t: (t[1], t[0]))
''',
        "repeated_id_counted_twice": '''
def rrf(rankings, k=60):
    scores = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda t: (-t[1], t[0]))
''',
        "only_documents_in_every_ranking": '''
def rrf(rankings, k=60):
    rankings = [list(r) for r in rankings]
    common = set(rankings[0]).intersection(*rankings[1:]) if rankings else set()
    scores = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            if doc in common and doc not in ranking[:rank - 1]:
                scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda t: (-t[1], t[0]))
''',
        "ties_in_first_seen_order": '''
def rrf(rankings, k=60):
    scores = {}
    for ranking in rankings:
        seen = set()
        for rank, doc in enumerate(ranking, start=1):
            if doc not in seen:
                seen.add(doc)
                scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda t: -t[1])
''',
        "sums_ranks_not_reciprocals": '''
def rrf(rankings, k=60):
    scores = {}
    for ranking in rankings:
        seen = set()
        for rank, doc in enumerate(ranking, start=1):
            if doc not in seen:
                seen.add(doc)
                scores[doc] = scores.get(doc, 0.0) - (k + rank)
    return sorted(scores.items(), key=lambda t: (-t[1], t[0]))
''',
    },
    "fused_prompt": {
        "first_ranking_only": '''
def fused_prompt(question, rankings, texts, n=3, k=60):
    if n < 1:
        raise ValueError("n")
    doc_ids = list(dict.fromkeys(rankings[0]))[:n]
    return build_prompt(question, [texts[d] for d in doc_ids]), doc_ids
''',
        "worst_n_documents": '''
def fused_prompt(question, rankings, texts, n=3, k=60):
    if n < 1:
        raise ValueError("n")
    doc_ids = [d for d, _ in rrf(rankings, k)[-n:]]
    return build_prompt(question, [texts[d] for d in doc_ids]), doc_ids
''',
        "passages_sorted_by_id": '''
def fused_prompt(question, rankings, texts, n=3, k=60):
    if n < 1:
        raise ValueError("n")
    doc_ids = sorted(d for d, _ in rrf(rankings, k)[:n])
    return build_prompt(question, [texts[d] for d in doc_ids]), doc_ids
''',
        "k_not_passed_on": '''
def fused_prompt(question, rankings, texts, n=3, k=60):
    if n < 1:
        raise ValueError("n")
    doc_ids = [d for d, _ in rrf(rankings)[:n]]
    return build_prompt(question, [texts[d] for d in doc_ids]), doc_ids
''',
        "one_passage_too_few": '''
def fused_prompt(question, rankings, texts, n=3, k=60):
    if n < 1:
        raise ValueError("n")
    doc_ids = [d for d, _ in rrf(rankings, k)[:n - 1]]
    return build_prompt(question, [texts[d] for d in doc_ids]), doc_ids
''',
        "n_zero_accepted": '''
def fused_prompt(question, rankings, texts, n=3, k=60):
    doc_ids = [d for d, _ in rrf(rankings, k)[:n]]
    return build_prompt(question, [texts[d] for d in doc_ids]), doc_ids
''',
    },
    "is_supported": {
        "case_sensitive": '''
def is_supported(answer, passages):
    want = re.findall(r"[A-Za-z0-9]+", answer)
    if not want:
        return False
    for p in passages:
        words = re.findall(r"[A-Za-z0-9]+", p)
        if any(words[i:i + len(want)] == want for i in range(len(words) - len(want) + 1)):
            return True
    return False
''',
        "substring_of_the_text": '''
def is_supported(answer, passages):
    a = answer.strip().lower()
    return bool(a) and any(a in p.lower() for p in passages)
''',
        "every_word_somewhere": '''
def is_supported(answer, passages):
    want = re.findall(r"[a-z0-9]+", answer.lower())
    if not want:
        return False
    return any(all(w in re.findall(r"[a-z0-9]+", p.lower()) for w in want) for p in passages)
''',
        "punctuation_kept": '''
def is_supported(answer, passages):
    want = answer.lower().split()
    if not want:
        return False
    for p in passages:
        words = p.lower().split()
        if any(words[i:i + len(want)] == want for i in range(len(words) - len(want) + 1)):
            return True
    return False
''',
        "empty_answer_supported": '''
def is_supported(answer, passages):
    want = re.findall(r"[a-z0-9]+", answer.lower())
    for p in passages:
        words = re.findall(r"[a-z0-9]+", p.lower())
        if any(words[i:i + len(want)] == want for i in range(len(words) - len(want) + 1)):
            return True
    return False
''',
        "any_word_of_the_answer": '''
def is_supported(answer, passages):
    want = re.findall(r"[a-z0-9]+", answer.lower())
    return any(w in re.findall(r"[a-z0-9]+", p.lower()) for w in want for p in passages)
''',
    },
}
