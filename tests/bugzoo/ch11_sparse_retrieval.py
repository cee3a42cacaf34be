"""Wrong implementations of the functions learners write in Chapter 11 (BM25 and nDCG)."""

BUGS = {
    "bm25_idf": {
        "robertson_idf_without_lucenes_plus_one": '''
def bm25_idf(df, n_docs):
    df = np.asarray(df, dtype=np.float64)
    return np.log((n_docs - df + 0.5) / (df + 0.5))
''',
        "classic_log_n_over_df": '''
def bm25_idf(df, n_docs):
    df = np.asarray(df, dtype=np.float64)
    return np.log(n_docs / df)
''',
        "log10_instead_of_natural_log": '''
def bm25_idf(df, n_docs):
    df = np.asarray(df, dtype=np.float64)
    return np.log10(1 + (n_docs - df + 0.5) / (df + 0.5))
''',
        "integer_division": '''
def bm25_idf(df, n_docs):
    df = np.asarray(df)
    return np.log(1 + (n_docs - df) // (df + 1) + 0.0)
''',
        "half_only_in_the_denominator": '''
def bm25_idf(df, n_docs):
    df = np.asarray(df, dtype=np.float64)
    return np.log(1 + (n_docs - df) / (df + 0.5))
''',
    },
    "bm25_scores": {
        "idf_without_lucenes_plus_one": '''
def bm25_scores(query_terms, docs_terms, k1=1.5, b=0.75):
    N = len(docs_terms)
    avgdl = sum(len(d) for d in docs_terms) / N
    df = Counter(t for d in docs_terms for t in set(d))
    scores = np.zeros(N)
    for j, d in enumerate(docs_terms):
        tf = Counter(d)
        for t in query_terms:
            if tf[t]:
                idf = math.log((N - df[t] + 0.5) / (df[t] + 0.5))
                scores[j] += idf * tf[t] / (tf[t] + k1 * (1 - b + b * len(d) / avgdl))
    return scores
''',
        "length_normalisation_inverted": '''
def bm25_scores(query_terms, docs_terms, k1=1.5, b=0.75):
    N = len(docs_terms)
    avgdl = sum(len(d) for d in docs_terms) / N
    df = Counter(t for d in docs_terms for t in set(d))
    scores = np.zeros(N)
    for j, d in enumerate(docs_terms):
        tf = Counter(d)
        for t in query_terms:
            if tf[t]:
                idf = math.log(1 + (N - df[t] + 0.5) / (df[t] + 0.5))
                scores[j] += idf * tf[t] / (tf[t] + k1 * (1 - b + b * avgdl / len(d)))
    return scores
''',
        "df_counts_occurrences_not_documents": '''
def bm25_scores(query_terms, docs_terms, k1=1.5, b=0.75):
    N = len(docs_terms)
    avgdl = sum(len(d) for d in docs_terms) / N
    df = Counter(t for d in docs_terms for t in d)
    scores = np.zeros(N)
    for j, d in enumerate(docs_terms):
        tf = Counter(d)
        for t in query_terms:
            if tf[t]:
                idf = math.log(1 + (N - df[t] + 0.5) / (df[t] + 0.5))
                scores[j] += idf * tf[t] / (tf[t] + k1 * (1 - b + b * len(d) / avgdl))
    return scores
''',
        "query_terms_deduplicated": '''
def bm25_scores(query_terms, docs_terms, k1=1.5, b=0.75):
    N = len(docs_terms)
    avgdl = sum(len(d) for d in docs_terms) / N
    df = Counter(t for d in docs_terms for t in set(d))
    scores = np.zeros(N)
    for j, d in enumerate(docs_terms):
        tf = Counter(d)
        for t in set(query_terms):
            if tf[t]:
                idf = math.log(1 + (N - df[t] + 0.5) / (df[t] + 0.5))
                scores[j] += idf * tf[t] / (tf[t] + k1 * (1 - b + b * len(d) / avgdl))
    return scores
''',
        "textbook_k1_plus_one_factor": '''
def bm25_scores(query_terms, docs_terms, k1=1.5, b=0.75):
    N = len(docs_terms)
    avgdl = sum(len(d) for d in docs_terms) / N
    df = Counter(t for d in docs_terms for t in set(d))
    scores = np.zeros(N)
    for j, d in enumerate(docs_terms):
        tf = Counter(d)
        for t in query_terms:
            if tf[t]:
                idf = math.log(1 + (N - df[t] + 0.5) / (df[t] + 0.5))
                scores[j] += idf * tf[t] * (k1 + 1) / (tf[t] + k1 * (1 - b + b * len(d) / avgdl))
    return scores
''',
        "b_and_one_minus_b_swapped": '''
def bm25_scores(query_terms, docs_terms, k1=1.5, b=0.75):
    N = len(docs_terms)
    avgdl = sum(len(d) for d in docs_terms) / N
    df = Counter(t for d in docs_terms for t in set(d))
    scores = np.zeros(N)
    for j, d in enumerate(docs_terms):
        tf = Counter(d)
        for t in query_terms:
            if tf[t]:
                idf = math.log(1 + (N - df[t] + 0.5) / (df[t] + 0.5))
                scores[j] += idf * tf[t] / (tf[t] + k1 * (b + (1 - b) * len(d) / avgdl))
    return scores
''',
        "no_saturation": '''
def bm25_scores(query_terms, docs_terms, k1=1.5, b=0.75):
    N = len(docs_terms)
    df = Counter(t for d in docs_terms for t in set(d))
    scores = np.zeros(N)
    for j, d in enumerate(docs_terms):
        tf = Counter(d)
        for t in query_terms:
            if tf[t]:
                scores[j] += math.log(1 + (N - df[t] + 0.5) / (df[t] + 0.5)) * tf[t]
    return scores
''',
        "avgdl_over_distinct_terms": '''
def bm25_scores(query_terms, docs_terms, k1=1.5, b=0.75):
    N = len(docs_terms)
    avgdl = sum(len(set(d)) for d in docs_terms) / N
    df = Counter(t for d in docs_terms for t in set(d))
    scores = np.zeros(N)
    for j, d in enumerate(docs_terms):
        tf = Counter(d)
        for t in query_terms:
            if tf[t]:
                idf = math.log(1 + (N - df[t] + 0.5) / (df[t] + 0.5))
                scores[j] += idf * tf[t] / (tf[t] + k1 * (1 - b + b * len(d) / avgdl))
    return scores
''',
    },
    "ndcg_at_k": {
        "ideal_from_the_retrieved_list": '''
def ndcg_at_k(ranking, judgments, k):
    gains = [judgments.get(d, 0) for d in ranking[:k]]
    dcg = lambda g: sum(x / math.log2(i + 2) for i, x in enumerate(g))
    ideal = dcg(sorted(gains, reverse=True))
    return dcg(gains) / ideal if ideal > 0 else 0.0
''',
        "exponential_gain": '''
def ndcg_at_k(ranking, judgments, k):
    dcg = lambda g: sum((2 ** x - 1) / math.log2(i + 2) for i, x in enumerate(g))
    ideal = dcg(sorted((g for g in judgments.values() if g > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg(judgments.get(d, 0) for d in ranking[:k]) / ideal
''',
        "rank_starts_at_zero_in_the_discount": '''
def ndcg_at_k(ranking, judgments, k):
    dcg = lambda g: sum(x / math.log2(i + 1) if i > 0 else x for i, x in enumerate(g))
    ideal = dcg(sorted((g for g in judgments.values() if g > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg(judgments.get(d, 0) for d in ranking[:k]) / ideal
''',
        "ideal_not_cut_at_k": '''
def ndcg_at_k(ranking, judgments, k):
    dcg = lambda g: sum(x / math.log2(i + 2) for i, x in enumerate(g))
    ideal = dcg(sorted((g for g in judgments.values() if g > 0), reverse=True))
    if ideal == 0:
        return 0.0
    return dcg(judgments.get(d, 0) for d in ranking[:k]) / ideal
''',
        "nan_when_nothing_is_relevant": '''
def ndcg_at_k(ranking, judgments, k):
    dcg = lambda g: sum(x / math.log2(i + 2) for i, x in enumerate(g))
    ideal = dcg(sorted((g for g in judgments.values() if g > 0), reverse=True)[:k])
    got = dcg(judgments.get(d, 0) for d in ranking[:k])
    return got / ideal if ideal else float("nan")
''',
        "whole_list_not_cut_at_k": '''
def ndcg_at_k(ranking, judgments, k):
    dcg = lambda g: sum(x / math.log2(i + 2) for i, x in enumerate(g))
    ideal = dcg(sorted((g for g in judgments.values() if g > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg(judgments.get(d, 0) for d in ranking) / ideal
''',
        "binary_relevance_ignores_grades": '''
def ndcg_at_k(ranking, judgments, k):
    dcg = lambda g: sum(x / math.log2(i + 2) for i, x in enumerate(g))
    ideal = dcg(sorted((1 for g in judgments.values() if g > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg(1 if judgments.get(d, 0) > 0 else 0 for d in ranking[:k]) / ideal
''',
    },
}
