"""Chapter 12: dense retrieval, IVF, fusion, chunking and the Qdrant engine, against
brute force, faiss, the RRF definition and qdrant-client's local mode (offline, seconds)."""

import pytest
import torch
import torch.nn.functional as F

from groundup.retrieval.ann import IVFIndex, IVFRetriever, assign, kmeans
from groundup.retrieval.chunking import chunk_text, paragraph_spans, sentence_spans
from groundup.retrieval.dense import DenseRetriever, exact_search, exact_search_naive
from groundup.retrieval.hybrid import HybridRetriever, normalize_scores, rrf, rrf_naive, score_fusion
from groundup.retrieval.scale import shuffled_order, split_passages


def unit(n, d, seed=0, clusters=None):
    """n random unit vectors of width d; with ``clusters``, drawn around that many centres (like real embeddings)."""
    g = torch.Generator().manual_seed(seed)
    if clusters is None:
        return F.normalize(torch.randn(n, d, generator=g), dim=1)
    centres = torch.randn(clusters, d, generator=g)
    which = torch.randint(0, clusters, (n,), generator=g)
    return F.normalize(centres[which] + 0.6 * torch.randn(n, d, generator=g), dim=1)


def toy_embed(texts):
    """A tiny bag-of-letters encoder: deterministic, fast, and a real function of the text."""
    out = torch.zeros(len(texts), 26)
    for i, t in enumerate(texts):
        for ch in t.lower():
            if "a" <= ch <= "z":
                out[i, ord(ch) - 97] += 1
    return out + 1e-3


# ---------------------------------------------------------------------------------------
# Exact search
# ---------------------------------------------------------------------------------------

def test_exact_search_equals_brute_force():
    x, q = unit(300, 32, 1), unit(4, 32, 2)
    s, i = exact_search(q, x, 10, block=64)  # several blocks merged
    s_ref, i_ref = exact_search_naive(q, x, 10)
    assert torch.equal(i, i_ref)
    torch.testing.assert_close(s, s_ref)
    full = q @ x.T
    assert torch.equal(i, torch.sort(full, dim=1, descending=True, stable=True).indices[:, :10])


def test_exact_search_ties_go_to_lower_id_across_blocks():
    x = torch.tensor([[1.0, 0.0]] * 6 + [[0.0, 1.0]] * 2)
    s, i = exact_search(torch.tensor([[1.0, 0.0]]), x, 4, block=3)
    assert i.tolist() == [[0, 1, 2, 3]]


def test_exact_search_float64():
    x, q = unit(100, 8, 3).double(), unit(3, 8, 4).double()
    s, i = exact_search(q, x, 5)
    assert s.dtype == torch.float64
    assert torch.equal(i, exact_search_naive(q, x, 5)[1])


def test_dense_retriever_with_a_learner_encoder():
    r = DenseRetriever(embed=toy_embed)
    docs = ["open a file for reading", "sort a list in place", "zzz buzz fizz"]
    r.index(["a", "b", "c"], docs)
    hits = r.search(["fizz buzz", "sorting lists"], k=2)
    assert hits[0][0][0] == "c" and hits[1][0][0] == "b"
    assert len(hits[0]) == 2 and hits[0][0][1] >= hits[0][1][1]
    v = F.normalize(toy_embed(docs), dim=1)
    r2 = DenseRetriever(embed=toy_embed)
    r2.index(["a", "b", "c"], vectors=v)
    assert r2.search(["fizz buzz"], k=3) == r.search(["fizz buzz"], k=3)


def test_dense_retriever_bad_input():
    r = DenseRetriever(embed=toy_embed)
    with pytest.raises(RuntimeError, match="index"):
        r.search(["q"], 1)
    r.index(["a", "b"], ["one", "two"])
    with pytest.raises(ValueError, match="empty"):
        r.search([], 1)
    with pytest.raises(ValueError, match="more than the 2 documents"):
        r.search(["q"], 3)
    with pytest.raises(ValueError, match="positive"):
        r.search(["q"], 0)
    with pytest.raises(TypeError, match="list"):
        r.search("q", 1)
    with pytest.raises(ValueError, match="unit vectors"):
        r.index(["a", "b"], vectors=torch.tensor([[3.0, 4.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="distinct"):
        r.index(["a", "a"], ["x", "y"])
    with pytest.raises(ValueError, match="same model"):
        exact_search(unit(2, 8), unit(5, 16), 2)
    with pytest.raises(ValueError, match="unit vectors"):
        r.search_vectors(torch.tensor([[2.0] + [0.0] * 25]), 1)


def test_dense_retriever_default_is_minilm():
    """The no-argument constructor the Chapter 11 CLI uses: MiniLM, cached document vectors."""
    from groundup.embeddings import embed_cached

    docs = ["How to open a file for reading.", "Sort a list in place.", "The cat sat on the mat."]
    r = DenseRetriever()
    r.index(["f", "s", "c"], docs)
    hits = r.search(["read the contents of a text file", "a kitten on a rug"], k=3)
    assert [h[0][0] for h in hits] == ["f", "c"]
    ref, _ = embed_cached(docs, normalize=True, max_length=128)
    torch.testing.assert_close(r.vectors, ref)


# ---------------------------------------------------------------------------------------
# IVF
# ---------------------------------------------------------------------------------------

def test_kmeans_assign_and_empty_cells():
    x = unit(300, 8, 5, clusters=6)
    c = kmeans(x, 6, n_iter=10)
    assert c.shape == (6, 8)
    torch.testing.assert_close(c.norm(dim=1), torch.ones(6))
    cell = assign(x, c)
    assert torch.equal(cell, (x @ c.T).argmax(1))
    with pytest.raises(ValueError, match="n_clusters"):
        kmeans(x[:3], 4)


@pytest.mark.parametrize("nlist", [1, 7, 32])
def test_ivf_with_nprobe_nlist_equals_exact(nlist):
    x, q = unit(2000, 24, 6, clusters=20), unit(9, 24, 7)
    ivf = IVFIndex(nlist=nlist, nprobe=nlist).build(x)
    s, i = ivf.search(q, 10)
    s_ref, i_ref = exact_search(q, x, 10)
    assert torch.equal(i, i_ref)
    torch.testing.assert_close(s, s_ref)


def test_ivf_naive_and_fast_agree_and_nprobe_matters():
    x, q = unit(1500, 16, 8, clusters=30), unit(12, 16, 9)
    ivf = IVFIndex(nlist=30, nprobe=2).build(x)
    for nprobe in (1, 2, 5):
        s, i = ivf.search(q, 5, nprobe=nprobe)
        s_n, i_n = ivf.search_naive(q, 5, nprobe=nprobe)
        assert torch.equal(i, i_n)
        torch.testing.assert_close(s, s_n)
    exact = exact_search(q, x, 10)[1]
    rec = [sum(len(set(a) & set(b)) for a, b in zip(ivf.search(q, 10, nprobe=p)[1].tolist(), exact.tolist()))
           for p in (1, 4, 30)]
    assert rec[0] <= rec[1] <= rec[2] == 10 * len(q)


def test_ivf_pads_when_cells_hold_fewer_than_k():
    x = torch.tensor([[1.0, 0.0], [0.99, 0.141], [0.0, 1.0], [-1.0, 0.0]])
    x = F.normalize(x, dim=1)
    ivf = IVFIndex(nlist=2, nprobe=1).set_centroids(torch.tensor([[1.0, 0.0], [-1.0, 0.0]])).add(x)
    s, i = ivf.search(torch.tensor([[-1.0, 0.0]]), 3)
    assert i[0, 0] == 3 and (i[0, 1:] == -1).all() and torch.isinf(s[0, 1:]).all()


def test_ivf_matches_faiss_ivfflat_on_the_same_centroids():
    faiss = pytest.importorskip("faiss")
    import numpy as np

    x, q = unit(4000, 32, 10, clusters=40), unit(50, 32, 11, clusters=40)
    ivf = IVFIndex(nlist=64, nprobe=4).build(x)
    quantizer = faiss.IndexFlatIP(32)
    quantizer.add(ivf.centroids.numpy())
    index = faiss.IndexIVFFlat(quantizer, 32, 64, faiss.METRIC_INNER_PRODUCT)
    index.is_trained = True  # our k-means cells: both indexes then hold the same inverted lists
    index.add(x.numpy())
    exact = exact_search(q, x, 10)[1].tolist()
    for nprobe in (1, 4, 16):
        index.nprobe = nprobe
        fs, fi = index.search(q.numpy(), 10)
        s, i = ivf.search(q, 10, nprobe=nprobe)
        ours = sum(len(set(a) & set(b)) for a, b in zip(i.tolist(), exact)) / (10 * len(exact))
        theirs = sum(len(set(a.tolist()) & set(b)) for a, b in zip(fi, exact)) / (10 * len(exact))
        assert abs(ours - theirs) < 0.01, (nprobe, ours, theirs)
        np.testing.assert_allclose(s.numpy(), fs, atol=1e-5)


def test_ivf_bad_input():
    x = unit(200, 8, 12)
    ivf = IVFIndex(nlist=4, nprobe=2)
    with pytest.raises(RuntimeError, match="empty"):
        ivf.search(x[:1], 1)
    with pytest.raises(RuntimeError, match="train"):
        ivf.add(x)
    ivf.build(x)
    with pytest.raises(ValueError, match="nprobe"):
        ivf.search(x[:1], 1, nprobe=5)
    with pytest.raises(ValueError, match="more than the 200"):
        ivf.search(x[:1], 201)
    with pytest.raises(ValueError, match="width"):
        ivf.search(unit(1, 9), 1)
    with pytest.raises(ValueError, match="unit vectors"):
        ivf.search(x[:1] * 2, 1)


def test_ivf_retriever_interface():
    docs = [f"doc {w} about {w}" for w in ("apple", "banana", "cherry", "quince", "zebra", "mango")]
    r = IVFRetriever(nlist=2, nprobe=2, dense=DenseRetriever(embed=toy_embed))
    r.index([str(i) for i in range(6)], docs)
    exact = DenseRetriever(embed=toy_embed)
    exact.index([str(i) for i in range(6)], docs)
    got, ref = r.search(["zebra", "quince"], 3), exact.search(["zebra", "quince"], 3)
    assert [[d for d, _ in h] for h in got] == [[d for d, _ in h] for h in ref]
    assert [s for h in got for _, s in h] == pytest.approx([s for h in ref for _, s in h], abs=1e-6)


# ---------------------------------------------------------------------------------------
# Fusion
# ---------------------------------------------------------------------------------------

def test_rrf_hand_worked_example():
    # BM25 ranks d1, d2, d3; dense ranks d3, d1, d4. With k = 60 (Cormack et al. 2009):
    # d1: 1/61 + 1/62, d3: 1/63 + 1/61, d2: 1/62, d4: 1/63.
    fused = rrf([["d1", "d2", "d3"], [("d3", 0.9), ("d1", 0.8), ("d4", 0.1)]], k=60)
    assert [d for d, _ in fused] == ["d1", "d3", "d2", "d4"]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[1][1] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[3][1] == pytest.approx(1 / 63)
    assert rrf([["a"]], k=0) == [("a", 1.0)]  # rank 1, not 0: no division by zero


def test_rrf_equals_the_definition():
    g = torch.Generator().manual_seed(13)
    docs = [f"d{i}" for i in range(40)]
    rankings = [[docs[j] for j in torch.randperm(40, generator=g)[:n].tolist()] for n in (25, 30, 10)]
    for k in (1, 60):
        got = rrf(rankings, k=k)
        ref = rrf_naive(rankings, k=k)
        assert [d for d, _ in got] == [d for d, _ in ref]
        assert [s for _, s in got] == pytest.approx([s for _, s in ref])
    # by hand, from the formula: sum over rankings of 1 / (k + rank), rank from 1
    by_hand = {}
    for r in rankings:
        for rank, d in enumerate(r, start=1):
            by_hand[d] = by_hand.get(d, 0.0) + 1 / (60 + rank)
    assert dict(rrf(rankings)) == pytest.approx(by_hand)
    assert rrf(rankings, limit=5) == rrf(rankings)[:5]
    assert rrf([["a", "a", "b"]]) == [("a", 1 / 61), ("b", 1 / 63)]  # a repeat counts once, at its best place


def test_score_fusion():
    assert normalize_scores([("a", 2.0), ("b", 2.0)]) == {"a": 1.0, "b": 1.0}
    z = normalize_scores([("a", 3.0), ("b", 1.0)], "zscore")
    assert z == {"a": 1.0, "b": -1.0}
    fused = score_fusion([[("a", 12.0), ("b", 8.0), ("c", 4.0)], [("c", 0.9), ("a", 0.5)]], weights=[0.5, 0.5])
    assert fused == [("a", 0.5), ("c", 0.5), ("b", 0.25)]
    assert score_fusion([[("a", 1.0), ("b", 0.0)], [("b", 1.0), ("a", 0.0)]], weights=[1.0, 0.0])[0][0] == "a"
    with pytest.raises(ValueError, match="weights"):
        score_fusion([[("a", 1.0)]], weights=[0.5, 0.5])
    with pytest.raises(ValueError, match="minmax"):
        normalize_scores([("a", 1.0)], "softmax")


def test_hybrid_retriever_fuses_bm25_and_dense():
    from groundup.retrieval.bm25 import BM25

    docs = ["open a file for reading", "sort a list in place", "zzz buzz fizz", "read the whole file"]
    ids = ["a", "b", "c", "d"]
    h = HybridRetriever([BM25(), DenseRetriever(embed=toy_embed)], depth=4)
    h.index(ids, docs)
    got = h.search(["read file"], k=3)[0]
    b = BM25()
    b.index(ids, docs)
    d = DenseRetriever(embed=toy_embed)
    d.index(ids, docs)
    assert got == rrf([b.search(["read file"], 4)[0], d.search(["read file"], 4)[0]], limit=3)
    for fusion in ("minmax", "zscore"):
        h2 = HybridRetriever([BM25(), DenseRetriever(embed=toy_embed)], fusion=fusion, weights=[0.5, 0.5])
        h2.index(ids, docs)
        assert len(h2.search(["read file"], k=2)[0]) == 2
    with pytest.raises(ValueError, match="empty"):
        h.search([], 1)
    with pytest.raises(ValueError, match="k must"):
        h.search(["x"], 5)
    with pytest.raises(ValueError, match="fusion"):
        HybridRetriever([], fusion="max")


# ---------------------------------------------------------------------------------------
# Chunking
# ---------------------------------------------------------------------------------------

TEXT = ("Retrieval finds passages. A chunk is a passage cut from a longer document!\n\n"
        "Chunks carry offsets, so answers can cite them? Yes. " + " ".join(f"w{i}" for i in range(57)) +
        "\n\n  Last paragraph,   with odd   spacing.  ")


@pytest.mark.parametrize("boundary", ["tokens", "sentence", "paragraph"])
@pytest.mark.parametrize("size", [1, 3, 8, 50, 500])
def test_chunk_offsets_reconstruct_the_text(boundary, size):
    chunks = chunk_text(TEXT, size=size, boundary=boundary)
    words = TEXT.split()
    assert all(TEXT[c.start:c.end] == c.text for c in chunks)
    assert all(1 <= c.n_words == len(c.text.split()) <= size for c in chunks)
    assert [w for c in chunks for w in c.text.split()] == words  # every word once, in order
    pieces = [TEXT[:chunks[0].start]] + [TEXT[a.end:b.start] for a, b in zip(chunks, chunks[1:])] + [TEXT[chunks[-1].end:]]
    assert all(p.strip() == "" for p in pieces)  # only whitespace between chunks


@pytest.mark.parametrize("size,overlap", [(2, 1), (5, 2), (8, 7), (10, 0), (10, 3)])
def test_token_overlap_is_exactly_overlap(size, overlap):
    chunks = chunk_text(TEXT, size=size, overlap=overlap)
    words = TEXT.split()
    step = size - overlap
    for j, c in enumerate(chunks):
        assert c.text.split() == words[j * step:j * step + size]
    for a, b in zip(chunks, chunks[1:]):
        assert a.text.split()[-overlap:] == b.text.split()[:overlap] if overlap else a.end <= b.start
    assert chunks[-1].end == len(TEXT.rstrip())  # the last word is in the last chunk
    assert len(chunks) == max(1, -(-(len(words) - overlap) // step))


def test_sentence_and_paragraph_boundaries():
    assert [TEXT[a:b] for a, b in sentence_spans(TEXT)][:4] == [
        "Retrieval finds passages.", "A chunk is a passage cut from a longer document!",
        "Chunks carry offsets, so answers can cite them?", "Yes."]
    assert len(paragraph_spans(TEXT)) == 3
    chunks = chunk_text(TEXT, size=12, boundary="sentence")
    assert chunks[0].text == "Retrieval finds passages."  # the next sentence would not fit
    assert chunks[1].text == "A chunk is a passage cut from a longer document!"
    paragraphs = [TEXT[a:b] for a, b in paragraph_spans(TEXT)]
    chunks = chunk_text(TEXT, size=14, boundary="paragraph")
    assert chunks[0].text == paragraphs[0] and chunks[-1].text == paragraphs[-1]  # the 66-word one is cut
    assert chunk_text(TEXT, size=200, boundary="paragraph")[0].text == TEXT.strip()  # all fit in one
    with_overlap = chunk_text("A b. C d. E f. G h.", size=4, overlap=2, boundary="sentence")
    assert [c.text for c in with_overlap] == ["A b. C d.", "C d. E f.", "E f. G h."]


def test_chunk_errors():
    with pytest.raises(ValueError, match="smaller than size"):
        chunk_text("a b c", size=3, overlap=3)
    with pytest.raises(ValueError, match="size"):
        chunk_text("a b c", size=0)
    with pytest.raises(ValueError, match="overlap"):
        chunk_text("a b c", size=3, overlap=-1)
    with pytest.raises(ValueError, match="boundary"):
        chunk_text("a b c", size=3, boundary="words")
    with pytest.raises(TypeError, match="str"):
        chunk_text(["a b"], size=3)
    assert chunk_text("", size=3) == [] and chunk_text("  \n ", size=3, boundary="sentence") == []


# ---------------------------------------------------------------------------------------
# The vector engine (Qdrant, embedded local mode)
# ---------------------------------------------------------------------------------------

def test_qdrant_local_mode_returns_the_exact_top_k(tmp_path):
    pytest.importorskip("qdrant_client")
    from groundup.retrieval.engine import QdrantRetriever

    x, q = unit(300, 16, 14), unit(5, 16, 15)
    ids = [f"doc{i}" for i in range(300)]
    for location in (":memory:", tmp_path / "qdrant"):
        engine = QdrantRetriever(location)
        engine.index(ids, vectors=x)
        got = engine.search_vectors(q, 10)
        s, i = exact_search(q, x, 10)
        assert [[d for d, _ in h] for h in got] == [[ids[j] for j in row] for row in i.tolist()]
        assert [sc for h in got for _, sc in h] == pytest.approx(s.flatten().tolist(), abs=1e-5)
        engine.close()
    engine = QdrantRetriever(embed=toy_embed)
    engine.index(["a", "b"], ["fizz buzz", "sort lists"])
    assert engine.search(["buzz"], 1)[0][0][0] == "a"
    with pytest.raises(ValueError, match="empty"):
        engine.search([], 1)
    with pytest.raises(ValueError, match="more than"):
        engine.search(["x"], 3)


# ---------------------------------------------------------------------------------------
# The scale corpus (its pieces; the full build is the benchmark's)
# ---------------------------------------------------------------------------------------

def test_split_passages_and_order():
    text = "Short.\n\n>>> code()\n\n" + " ".join(["word"] * 30) + ". " + "Another sentence here for sure."
    got = split_passages(text, max_words=20, min_words=3)
    assert all(3 <= len(p.split()) <= 20 for p in got)
    assert "code()" not in " ".join(got)
    order = shuffled_order(100, seed=1)
    assert sorted(order) == list(range(100)) and order == shuffled_order(100, seed=1)
