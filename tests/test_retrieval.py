"""groundup.retrieval (Chapter 11) against bm25s, rank_bm25 and pytrec_eval, offline, seconds.

The real collection is the course's own (``course_collection()``: 4,000 paragraphs of
Python's documentation, 400 judged queries), built from the built-in corpus and cached.
"""

import copy
import hashlib
import importlib.util
import io
import json
import math
import time
import zipfile

import numpy as np
import pytest

from groundup.retrieval import (
    BM25,
    TFIDF,
    Analyzer,
    Collection,
    CollectionError,
    bm25_scores_naive,
    course_collection,
    dcg,
    download_beir,
    evaluate,
    load_beir,
    ndcg_at_k,
    rank,
    run_from_hits,
    tokenize,
    write_beir,
)
from groundup.retrieval import collections as rcollections
from groundup.retrieval.bm25 import top_k_csr, top_k_sparse
from groundup.retrieval.cli import main as cli_main
from localhttp import serve

bm25s = pytest.importorskip("bm25s")


@pytest.fixture(scope="module")
def course():
    return course_collection()


@pytest.fixture(scope="module")
def indexed(course):
    ours = BM25()
    ours.index(course.doc_ids, course.doc_texts())
    theirs = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    theirs.index(bm25s.tokenize(course.doc_texts(), show_progress=False), show_progress=False)
    return ours, theirs


def small(course, n_docs=300, n_queries=40):
    """A sub-collection: the gold passages of the first queries plus other documents."""
    qids = list(course.queries)[:n_queries]
    keep = {d for q in qids for d in course.qrels[q]}
    keep |= set(list(course.corpus)[: n_docs - len(keep)])
    corpus = {d: course.corpus[d] for d in course.corpus if d in keep}
    return Collection(name="small", corpus=corpus, queries={q: course.queries[q] for q in qids},
                      qrels={q: course.qrels[q] for q in qids})


# ----------------------------------------------------------------------------- the analyser

@pytest.mark.parametrize("module", ["text", "bm25", "evaluation", "__init__"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    mod = importlib.import_module("groundup.retrieval" + ("" if module == "__init__" else f".{module}"))
    assert doctest.testmod(mod, optionflags=doctest.ELLIPSIS).failed == 0


def test_tokenize_equals_bm25s_on_the_course_collection(course):
    texts = course.doc_texts() + list(course.queries.values()) + ["", "   ", "I a", "don't STOP!! über-cool x_y 3.14"]
    ours = [tokenize(t) for t in texts]
    theirs = bm25s.tokenize(texts, return_ids=False, show_progress=False)
    assert ours == theirs


def test_tokenize_with_a_stemmer_equals_bm25s(course):
    stem = lambda w: w[:-1] if w.endswith("s") else w  # noqa: E731  (any str -> str callable)
    texts = course.doc_texts()[:300]
    ours = Analyzer(stemmer=stem).many(texts)
    theirs = bm25s.tokenize(texts, return_ids=False, show_progress=False, stemmer=lambda ws: [stem(w) for w in ws])
    assert ours == theirs


def test_analyzer_options():
    assert Analyzer(stopwords=frozenset())("The cat") == ["the", "cat"]
    assert Analyzer(lower=False)("The Cat") == ["The", "Cat"]
    with pytest.raises(TypeError, match="str"):
        tokenize(None)


# ----------------------------------------------------------------------------- BM25 vs references

def test_bm25_scores_equal_bm25s_lucene(course, indexed):
    ours, theirs = indexed
    worst = 0.0
    for q in course.queries.values():
        got = ours.get_scores(q)
        terms = tokenize(q)
        want = theirs.get_scores(terms) if terms else np.zeros(len(course.corpus))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        worst = max(worst, float(np.max(np.abs(got - want))))
    assert worst < 1e-4


def test_bm25_other_k1_b_and_robertson_equal_bm25s(course):
    texts = course.doc_texts()[:1500]
    ids = course.doc_ids[:1500]
    queries = list(course.queries.values())[:100]
    for k1, b, method in ((0.9, 0.4, "lucene"), (1.2, 1.0, "robertson"), (2.0, 0.0, "lucene")):
        ours = BM25(k1=k1, b=b, method=method)
        ours.index(ids, texts)
        theirs = bm25s.BM25(method=method, k1=k1, b=b)
        theirs.index(bm25s.tokenize(texts, show_progress=False), show_progress=False)
        for q in queries:
            terms = [t for t in tokenize(q) if t in ours.vocab]
            want = theirs.get_scores(terms) if terms else np.zeros(len(texts))
            np.testing.assert_allclose(ours.get_scores(q), want, rtol=1e-5, atol=1e-6, err_msg=f"{k1=} {b=} {method=}")


def test_bm25_top_k_equals_bm25s_ranking(course, indexed):
    ours, theirs = indexed
    queries = list(course.queries.values())
    hits = ours.search(queries, k=10)
    docs, scores = theirs.retrieve(bm25s.tokenize(queries, return_ids=False, show_progress=False), k=10,
                                   show_progress=False, n_threads=1)
    for h, d, s in zip(hits, docs, scores):
        n = len(h)  # ours returns only documents sharing a term; bm25s pads with zero scores
        np.testing.assert_allclose([x for _, x in h], s[:n], rtol=1e-5)
        assert np.all(s[n:] == 0)
        # the same documents, up to the order of exact ties
        got = {course.doc_ids.index(doc) for doc, _ in h}
        assert len(got & set(d[:n].tolist())) >= n - sum(np.isclose(s[:n], s[n - 1]))


def test_naive_scorer_agrees_with_the_sparse_index(course):
    texts, queries = course.doc_texts()[:400], list(course.queries.values())[:60]
    bm25 = BM25(dtype=np.float64)
    bm25.index(course.doc_ids[:400], texts)
    docs_terms = [tokenize(t) for t in texts]
    for q in queries + ["file file file open", "the of and"]:
        np.testing.assert_allclose(bm25.get_scores(q), bm25_scores_naive(tokenize(q), docs_terms), rtol=1e-12,
                                   atol=1e-12)


def test_bm25_ranks_match_rank_bm25_where_the_variants_agree(course):
    """rank_bm25's BM25Okapi is Robertson's IDF times (k1 + 1) tf / (tf + k1 (...)).

    Where every query term has df < N/2 (IDF positive), it is exactly our "robertson" times
    (k1 + 1): same scores up to that constant, same ranking. The one difference: for a term
    in more than half the documents rank_bm25 replaces the negative IDF by 0.25 x the mean
    IDF; bm25s and we clip it at 0. Lucene's IDF differs from both (log(1 + x), not log x),
    so its ranking differs a little from rank_bm25's on every collection.
    """
    from rank_bm25 import BM25Okapi

    texts, queries = course.doc_texts()[:1000], list(course.queries.values())[:80]
    docs_terms = [tokenize(t) for t in texts]
    okapi = BM25Okapi(docs_terms, k1=1.5, b=0.75)
    ours = BM25(method="robertson", dtype=np.float64)
    ours.index(course.doc_ids[:1000], texts)
    df = {t: sum(1 for d in docs_terms if t in d) for q in queries for t in tokenize(q)}
    compared = 0
    for q in queries:
        terms = tokenize(q)
        if not terms or any(df[t] >= len(texts) / 2 for t in terms):
            continue
        want = okapi.get_scores(terms)
        got = ours.get_scores(q) * (1.5 + 1)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
        assert list(np.argsort(-got, kind="stable")[:10]) == list(np.argsort(-want, kind="stable")[:10])
        compared += 1
    assert compared > 60


def test_tfidf_is_the_cosine_in_term_space():
    docs = ["cat sat mat", "dog sat", "cat cat cat", "bird"]
    t = TFIDF(dtype=np.float64)
    t.index(["a", "b", "c", "d"], docs)
    N, terms = 4, [d.split() for d in docs]
    vocab = sorted({w for d in terms for w in d})
    idf = {w: math.log(N / sum(w in d for d in terms)) for w in vocab}
    vec = lambda ws: np.array([ws.count(w) * idf[w] for w in vocab])  # noqa: E731
    q = vec(["cat", "sat"])
    want = [v @ q / (np.linalg.norm(v) * np.linalg.norm(q)) if np.linalg.norm(v) else 0 for v in map(vec, terms)]
    np.testing.assert_allclose(t.get_scores("cat sat"), want, atol=1e-12)


# ----------------------------------------------------------------------------- bad input

def test_bad_queries_have_defined_results(indexed):
    ours, _ = indexed
    assert ours.search(["", "   ", "?!", "the of and to a", "zzqqxx notaword"], k=5) == [[], [], [], [], []]
    big = ("open the file and read every line " * 40_000)[:1_000_000]  # a 1 MB query
    t0 = time.perf_counter()
    hits = ours.search([big], k=5)[0]
    assert len(hits) == 5 and time.perf_counter() - t0 < 10
    assert ours.search([], k=5) == []
    with pytest.raises(TypeError, match="list of queries"):
        ours.search("a query", k=5)
    with pytest.raises(TypeError, match="str"):
        ours.search([None], k=5)
    for k in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            ours.search(["file"], k=k)


def test_bad_indexing_input():
    with pytest.raises(RuntimeError, match="index"):
        BM25().search(["x"])
    with pytest.raises(ValueError, match="pair up"):
        BM25().index(["a", "b"], ["one text"])
    with pytest.raises(ValueError, match="empty collection"):
        BM25().index([], [])
    with pytest.raises(ValueError, match="more than once"):
        BM25().index(["a", "a"], ["x y", "z w"])
    with pytest.raises(ValueError, match="method"):
        BM25(method="bm25+")
    with pytest.raises(ValueError, match="b must be"):
        BM25(b=1.5)
    bm25 = BM25()
    bm25.index(["a", "b"], ["", "the of"])  # documents with no terms at all
    assert bm25.search(["anything"], k=3) == [[]]


def test_top_k_ties_go_to_the_lower_document():
    import scipy.sparse as sp

    m = sp.csr_matrix(np.array([[0.5, 0.9, 0.9, 0.0, 0.9, 0.1], [0, 0, 0, 0, 0, 0]], dtype=np.float32))
    (c0, v0), (c1, v1) = top_k_sparse(m, 2)
    assert c0.tolist() == [1, 2] and len(c1) == 0
    rng = np.random.default_rng(0)
    dense = rng.integers(0, 4, size=(20, 50)).astype(np.float32)  # many ties
    for row, (cols, vals) in zip(dense, top_k_sparse(sp.csr_matrix(dense), 7)):
        nz = np.flatnonzero(row)
        want = nz[np.lexsort((nz, -row[nz]))][:7]
        assert cols.tolist() == want.tolist()


@pytest.mark.parametrize("k", [1, 3, 7, 60])
def test_batched_top_k_equals_the_per_row_reference(k):
    import scipy.sparse as sp

    rng = np.random.default_rng(k)
    dense = rng.integers(0, 5, size=(40, 50)).astype(np.float32) * rng.choice([1.0, 0.5], size=(40, 50)).astype(np.float32)
    dense[3] = 0  # a row with no hits
    dense[5, :4] = [1, 1, 1, 0]  # a row with fewer hits than k
    m = sp.csr_matrix(dense)
    cols, vals, counts = top_k_csr(m, k)
    want = top_k_sparse(m, k)
    assert counts.tolist() == [len(c) for c, _ in want]
    assert cols.tolist() == np.concatenate([c for c, _ in want]).tolist()
    assert vals.tolist() == np.concatenate([v for _, v in want]).tolist()


def test_search_arrays_equals_search(course, indexed):
    ours, _ = indexed
    queries = list(course.queries.values())[:50] + ["", "the of"]
    docs, scores = ours.search_arrays(queries, k=20)
    for hits, d, s in zip(ours.search(queries, k=20), docs, scores):
        n = len(hits)
        assert [ours.doc_ids[j] for j in d[:n]] == [h for h, _ in hits] and np.all(d[n:] == -1)
        np.testing.assert_array_equal(s[:n], np.array([x for _, x in hits], dtype=np.float32))


# ----------------------------------------------------------------------------- the numba backend

def with_backend(retriever, backend):
    """The same index, scored by another backend (a shallow copy: W is shared, not rebuilt)."""
    other = copy.copy(retriever)
    other.backend = backend
    return other


@pytest.mark.parametrize("k", [1, 10, 100, 5000])
def test_numba_backend_equals_scipy_on_the_course_collection(course, indexed, k):
    pytest.importorskip("numba")
    scipy_side = with_backend(indexed[0], "scipy")
    numba_side = with_backend(indexed[0], "numba")
    # every judged query, queries that share no term (no hits: padding), a term repeated (counts twice)
    queries = list(course.queries.values()) + ["", "the of", "zzqqxx notaword", "file file file open"]
    want_docs, want_scores = scipy_side.search_arrays(queries, k=k)
    got_docs, got_scores = numba_side.search_arrays(queries, k=k)
    assert got_docs.shape == (len(queries), k)  # k = 5000 > N = 4000: padded like scipy's
    np.testing.assert_array_equal(got_docs, want_docs)  # same documents, same order (ties included)
    np.testing.assert_allclose(got_scores, want_scores, rtol=1e-6, atol=0)
    assert np.all(got_docs[-4:-1] == -1) and np.all(got_scores[-4:-1] == 0)
    if k <= 100:
        assert numba_side.search(queries, k=k) == scipy_side.search(queries, k=k)


def test_numba_backend_breaks_ties_like_scipy():
    pytest.importorskip("numba")
    # identical documents score identically: ties everywhere, decided by position alone
    texts = ["open the file", "read the file", "open the file", "close it", "open the file", "read the file"] * 5
    ids = [f"d{i}" for i in range(len(texts))]
    for cls in (BM25, TFIDF):
        scipy_side, numba_side = cls(backend="scipy"), cls(backend="numba")
        for r in (scipy_side, numba_side):
            r.index(ids, texts)
        for k in (1, 4, 7, 30):
            queries = ["open file", "file", "read", "close", "nothing"]
            got, want = numba_side.search(queries, k=k), scipy_side.search(queries, k=k)
            assert [[d for d, _ in h] for h in got] == [[d for d, _ in h] for h in want], (cls, k)
    docs, _ = numba_side.search_arrays(["open"], k=3)
    assert docs[0].tolist() == [0, 2, 4]  # three tied documents: the lower position first


def test_numba_backend_keeps_queries_of_a_batch_apart(course, indexed):
    """Scores must not leak from one query of a batch into the next (the buffers are reset, not reallocated)."""
    pytest.importorskip("numba")
    numba_side = with_backend(indexed[0], "numba")
    a, b = "open a file and read its lines", "read the lines of a file"  # many documents in common
    alone_a, alone_b = (numba_side.search_arrays([q], k=20) for q in (a, b))
    for batch in ([a, b], [b, a], [a, a, b, b]):
        docs, scores = numba_side.search_arrays(batch, k=20)
        for row, q in enumerate(batch):
            want_docs, want_scores = alone_a if q == a else alone_b
            np.testing.assert_array_equal(docs[row], want_docs[0])
            np.testing.assert_array_equal(scores[row], want_scores[0])


@pytest.mark.parametrize("k", [1, 3, 7, 60])
def test_numba_kernel_equals_the_sparse_product(k):
    """The kernel alone, on a random index with integer weights (ties everywhere), against top_k_csr."""
    pytest.importorskip("numba")
    import scipy.sparse as sp

    from groundup.retrieval.bm25_numba import top_k_postings

    rng = np.random.default_rng(k)
    W = sp.random(30, 50, density=0.2, format="csr", dtype=np.float32, rng=rng)  # (V, N)
    W.data = rng.integers(1, 4, size=W.nnz).astype(np.float32)
    q = rng.integers(0, 2, size=(40, 30)).astype(np.float32)  # (Q, V)
    q[3] = 0  # a query sharing no term
    q = sp.csr_matrix(q)
    docs, scores, counts = top_k_postings(q.indptr.astype(np.int64), q.indices.astype(np.int64), q.data,
                                          W.indptr, W.indices, W.data, 50, k)
    cols, vals, want_counts = top_k_csr((q @ W).tocsr(), k)
    np.testing.assert_array_equal(counts, want_counts)
    keep = np.arange(k) < counts[:, None]
    np.testing.assert_array_equal(docs[keep], cols)
    np.testing.assert_array_equal(scores[keep], vals)
    assert np.all(docs[~keep] == -1) and np.all(scores[~keep] == 0) and counts[3] == 0


def test_backend_choice(monkeypatch, indexed):
    from groundup.retrieval import bm25 as bm25_module

    with pytest.raises(ValueError, match="backend"):
        BM25(backend="cuda")
    assert not indexed[0]._use_numba()  # auto, 40,027 postings: below NUMBA_MIN_POSTINGS, scipy
    monkeypatch.setattr(bm25_module, "NUMBA_MIN_POSTINGS", 0)
    if importlib.util.find_spec("numba"):
        assert with_backend(indexed[0], "auto")._use_numba()
    monkeypatch.setattr(bm25_module, "_numba_available", lambda: False)
    with pytest.raises(ImportError, match="pip install numba"):
        BM25(backend="numba")
    assert not with_backend(indexed[0], "auto")._use_numba()  # no numba: auto is scipy


# ----------------------------------------------------------------------------- metrics vs pytrec_eval

def test_metrics_equal_pytrec_eval_on_real_runs(course, indexed):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    ours, _ = indexed
    qids = list(course.queries)
    tfidf = TFIDF()
    tfidf.index(course.doc_ids, course.doc_texts())
    runs = {"bm25": run_from_hits(qids, ours.search([course.queries[q] for q in qids], k=100)),
            "tfidf": run_from_hits(qids, tfidf.search([course.queries[q] for q in qids], k=100))}
    # and a run with many exact ties (scores rounded), to check the tie order
    runs["ties"] = {q: {d: round(s, 0) for d, s in r.items()} for q, r in runs["bm25"].items()}
    measures = {"ndcg_cut_10", "ndcg_cut_100", "recall_10", "recall_100", "P_10", "recip_rank"}
    for name, run in runs.items():
        ref = pytrec_eval.RelevanceEvaluator(course.qrels, measures).evaluate(run)
        top10 = {q: {d: run[q][d] for d in rank(run[q])[:10]} for q in run}
        ref_rr = pytrec_eval.RelevanceEvaluator(course.qrels, {"recip_rank"}).evaluate(top10)
        got = evaluate(run, course.qrels, ["ndcg@10", "ndcg@100", "recall@10", "recall@100", "precision@10",
                                           "mrr@10"], per_query=True)
        for q in ref:
            assert got["ndcg@10"][q] == pytest.approx(ref[q]["ndcg_cut_10"], abs=1e-12), (name, q)
            assert got["ndcg@100"][q] == pytest.approx(ref[q]["ndcg_cut_100"], abs=1e-12), (name, q)
            assert got["recall@10"][q] == pytest.approx(ref[q]["recall_10"], abs=1e-12)
            assert got["recall@100"][q] == pytest.approx(ref[q]["recall_100"], abs=1e-12)
            assert got["precision@10"][q] == pytest.approx(ref[q]["P_10"], abs=1e-12)
            assert got["mrr@10"][q] == pytest.approx(ref_rr[q]["recip_rank"], abs=1e-12)
        means = evaluate(run, course.qrels, ["ndcg@10"])
        assert means["ndcg@10"] == pytest.approx(np.mean([ref[q]["ndcg_cut_10"] for q in ref]), abs=1e-12)
        assert means["queries"] == len(course.qrels) and means["skipped"] == 0


def test_ndcg_ideal_comes_from_the_judgments():
    judged = {"a": 2, "b": 1, "c": 0, "z": 2}  # z is relevant but never retrieved
    ranking = ["b", "a", "c"]
    want = (1 / math.log2(2) + 2 / math.log2(3)) / (2 + 2 / math.log2(3) + 1 / math.log2(4))
    assert ndcg_at_k(ranking, judged, 3) == pytest.approx(want)
    assert ndcg_at_k(["x"], {"x": 0}, 5) == 0.0  # nothing relevant: 0, not 0/0
    assert dcg([]) == 0.0


def test_evaluate_edge_cases():
    qrels = {"q1": {"a": 1}, "q2": {"b": 0}, "q3": {"c": 1}}
    run = {"q1": {"a": 1.0}}  # q3 not in the run: scores 0; q2 has nothing relevant: left out
    out = evaluate(run, qrels, ["mrr@10", "recall@5"])
    assert out == {"mrr@10": 0.5, "recall@5": 0.5, "queries": 2, "skipped": 1}
    with pytest.raises(ValueError, match="unknown metric"):
        evaluate(run, qrels, ["ndcg10"])
    with pytest.raises(ValueError, match="unknown metric"):
        evaluate(run, qrels, ["map@0"])


# ----------------------------------------------------------------------------- collections

@pytest.mark.slow
def test_course_collection_is_judged_and_deterministic(course):
    assert len(course.corpus) == 4000 and len(course.queries) == 400
    assert all(sum(g == 2 for g in j.values()) == 1 for j in course.qrels.values())
    again = rcollections._build_course_collection(400, 4000, 0, {})
    assert again.corpus == course.corpus and again.qrels == course.qrels and again.queries == course.queries
    assert not set(course.queries.values()) & {d["text"] for d in course.corpus.values()}


def test_beir_round_trip(course, tmp_path):
    sub = small(course)
    write_beir(sub, tmp_path / "mini")
    back = load_beir(tmp_path / "mini")
    assert back.corpus == sub.corpus and back.queries == sub.queries and back.qrels == sub.qrels
    assert back.name == "mini" and back.split == "test"


def _folder(tmp_path, corpus=None, queries=None, qrels=None):
    root = tmp_path / "c"
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    (root / "corpus.jsonl").write_text(corpus if corpus is not None else
                                       '{"_id": "d1", "title": "T", "text": "open a file"}\n'
                                       '{"_id": "d2", "text": "sort a list"}\n')
    (root / "queries.jsonl").write_text(queries if queries is not None else '{"_id": "q1", "text": "read a file"}\n')
    (root / "qrels" / "test.tsv").write_text(qrels if qrels is not None else "query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    return root


@pytest.mark.parametrize("where, kwargs, message", [
    ("corpus", {"corpus": '{"_id": "d1", "text": "x"}\n{"_id": "d2", "text": "y"\n'}, "corpus.jsonl line 2: not valid JSON"),
    ("corpus", {"corpus": '{"text": "x"}\n'}, "corpus.jsonl line 1: no '_id'"),
    ("corpus", {"corpus": '{"_id": "d1", "text": "x"}\n{"_id": "d1", "text": "y"}\n'}, "line 2: duplicate _id 'd1'"),
    ("corpus", {"corpus": '["d1", "x"]\n'}, "line 1: expected a JSON object"),
    ("corpus", {"corpus": '{"_id": "d1", "text": 3}\n'}, "'text' must be a string"),
    ("corpus", {"corpus": "\n"}, "holds no documents"),
    ("queries", {"queries": '{"_id": "q1"}\n'}, "queries.jsonl line 1: no 'text'"),
    ("qrels", {"qrels": "q1\td1\t1\n"}, "test.tsv line 1: expected the header"),
    ("qrels", {"qrels": "query-id\tcorpus-id\tscore\nq1 d1 1\n"}, "test.tsv line 2: expected 3 tab-separated"),
    ("qrels", {"qrels": "query-id\tcorpus-id\tscore\nq1\td1\thigh\n"}, "line 2: the score must be an integer"),
    ("qrels", {"qrels": "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td1\t2\n"}, "line 3: query 'q1' judges"),
    ("qrels", {"qrels": "query-id\tcorpus-id\tscore\nq9\td1\t1\n"}, "does not have, e.g. 'q9'"),
])
def test_malformed_collections_name_file_and_line(tmp_path, where, kwargs, message):
    with pytest.raises(CollectionError, match=message.replace("(", r"\(")):
        load_beir(_folder(tmp_path, **kwargs))


def test_missing_files_and_unknown_documents(tmp_path):
    root = _folder(tmp_path)
    with pytest.raises(CollectionError, match="dev.tsv is missing; the splits here are"):
        load_beir(root, split="dev")
    (root / "queries.jsonl").unlink()
    with pytest.raises(CollectionError, match="queries.jsonl is missing"):
        load_beir(root)
    with pytest.raises(CollectionError, match="not a folder"):
        load_beir(tmp_path / "nowhere")
    root = _folder(tmp_path, qrels="query-id\tcorpus-id\tscore\nq1\td9\t1\n")
    with pytest.warns(UserWarning, match="not in corpus.jsonl"):
        c = load_beir(root)
    assert c.qrels == {"q1": {"d9": 1}}


# ----------------------------------------------------------------------------- download

def _beir_zip(name, course):
    buf = io.BytesIO()
    sub = small(course, n_docs=60, n_queries=5)
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{name}/corpus.jsonl", "".join(json.dumps({"_id": d, **v}) + "\n" for d, v in sub.corpus.items()))
        z.writestr(f"{name}/queries.jsonl", "".join(json.dumps({"_id": q, "text": t}) + "\n" for q, t in sub.queries.items()))
        z.writestr(f"{name}/qrels/test.tsv", "query-id\tcorpus-id\tscore\n" + "".join(
            f"{q}\t{d}\t{g}\n" for q, j in sub.qrels.items() for d, g in j.items()))
    return buf.getvalue(), sub


def test_download_beir_from_a_local_server(server, monkeypatch, tmp_path, course):
    body, sub = _beir_zip("mini", course)
    monkeypatch.setattr(rcollections, "BEIR_COLLECTIONS", {"mini": (hashlib.sha256(body).hexdigest(), "A test zip.")})
    url = serve(server, "/mini.zip", body)
    folder = download_beir("mini", tmp_path / "cache", url=url, progress=False)
    c = load_beir(folder, name="mini")
    assert c.corpus == sub.corpus and c.qrels == sub.qrels
    assert download_beir("mini", tmp_path / "cache", url=url, progress=False) == folder
    assert server.hits["/mini.zip"] == 1  # the second call did not download again


def test_corrupted_download_is_refused_and_nothing_kept(server, monkeypatch, tmp_path, course):
    from groundup.data import ChecksumError

    body, _ = _beir_zip("mini", course)
    monkeypatch.setattr(rcollections, "BEIR_COLLECTIONS", {"mini": (hashlib.sha256(body).hexdigest(), "A test zip.")})
    url = serve(server, "/mini.zip", body[:-100] + b"x" * 100)  # same length, other bytes
    with pytest.raises(ChecksumError, match="SHA-256 mismatch"):
        download_beir("mini", tmp_path / "cache", url=url, progress=False)
    left = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert left == []


def test_unknown_collection_name(monkeypatch):
    from groundup.data import UnknownDatasetError

    with pytest.raises(UnknownDatasetError, match="unknown dataset 'beir_nosuch'"):
        download_beir("nosuch")
    with pytest.raises(CollectionError, match="neither a folder nor a known collection"):
        rcollections.load_collection("nosuch")


def test_registered_beir_collections_are_pinned():
    for name, (sha256, description) in rcollections.BEIR_COLLECTIONS.items():
        assert len(sha256) == 64 and int(sha256, 16) >= 0 and description


# ----------------------------------------------------------------------------- the command

def test_cli_evaluates_a_beir_folder_end_to_end(course, tmp_path, capsys):
    sub = small(course)
    write_beir(sub, tmp_path / "mini")
    assert cli_main(["evaluate", str(tmp_path / "mini"), "--method", "bm25", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    bm25 = BM25()
    bm25.index(sub.doc_ids, sub.doc_texts())
    qids = list(sub.queries)
    want = evaluate(run_from_hits(qids, bm25.search([sub.queries[q] for q in qids], k=100)), sub.qrels)
    for m in ("ndcg@10", "recall@100", "mrr@10"):
        assert out[m] == pytest.approx(want[m])
    assert out["documents"] == len(sub.corpus) and out["queries"] == len(qids)
    assert out["queries_per_second"] > 0 and out["index_seconds"] >= 0
    assert cli_main(["evaluate", str(tmp_path / "mini"), "--no-progress", "--metrics", "ndcg@5", "precision@3"]) == 0
    text = capsys.readouterr().out
    assert "ndcg@5" in text and "precision@3" in text and "queries/s" in text and "index" in text


def test_cli_errors_are_clear(tmp_path, capsys):
    root = _folder(tmp_path, qrels="q1\td1\t1\n")
    assert cli_main(["evaluate", str(root), "--no-progress"]) == 2
    assert "test.tsv line 1: expected the header" in capsys.readouterr().err
    assert cli_main(["evaluate", str(_folder(tmp_path)), "--metrics", "ndcg", "--no-progress"]) == 2
    assert "unknown metric" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("method", ["dense", "hybrid"])
def test_cli_dense_and_hybrid(course, tmp_path, capsys, method):
    pytest.importorskip(f"groundup.retrieval.{method}")
    write_beir(small(course, n_docs=200, n_queries=20), tmp_path / "mini")
    assert cli_main(["evaluate", str(tmp_path / "mini"), "--method", method, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert 0 < out["ndcg@10"] <= 1 and out["queries"] == 20
