"""groundup.lm against PyTorch's softmax and cross-entropy, and the two bigram models against each other."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from groundup.experiments import threads
from groundup.lm import (
    BigramCounts,
    BigramLM,
    BigramTrainConfig,
    cross_entropy,
    get_batch,
    log_softmax,
    make_batches,
    perplexity,
    softmax,
    train_bigram,
)


@pytest.fixture(scope="module")
def char_corpus():
    """~100k characters of Python's own documentation (ships with CPython), as ids."""
    from pydoc_data.topics import topics

    text = "".join(topics[k] for k in sorted(topics))[:100_000]
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    return torch.tensor([stoi[c] for c in text]), len(chars)


# --- softmax / cross-entropy -------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-50, 50), min_size=1, max_size=12), st.floats(-1000, 1000))
def test_softmax_matches_torch_and_ignores_shifts(values, shift):
    z = torch.tensor(values, dtype=torch.float64)
    torch.testing.assert_close(softmax(z), torch.softmax(z, -1))
    torch.testing.assert_close(softmax(z + shift), torch.softmax(z, -1), atol=1e-9, rtol=1e-7)
    torch.testing.assert_close(log_softmax(z), torch.log_softmax(z, -1))


def test_softmax_is_stable_for_huge_logits_and_works_on_any_dim():
    z = torch.tensor([[1000.0, 999.0], [-1000.0, -1001.0]])
    assert torch.isfinite(softmax(z)).all()
    torch.testing.assert_close(softmax(z), torch.softmax(z, dim=-1))
    torch.testing.assert_close(softmax(z, dim=0), torch.softmax(z, dim=0))


def test_cross_entropy_matches_torch_in_both_layouts():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 5, 11, generator=g) * 3
    targets = torch.randint(11, (3, 5), generator=g)
    ref = F.cross_entropy(logits.view(-1, 11), targets.view(-1))
    torch.testing.assert_close(cross_entropy(logits, targets), ref)
    torch.testing.assert_close(cross_entropy(logits.view(15, 11), targets.view(15)), ref)
    targets[0, :2] = -100
    torch.testing.assert_close(
        cross_entropy(logits, targets), F.cross_entropy(logits.view(-1, 11), targets.view(-1))
    )


def test_cross_entropy_gradients_match_torch():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(7, 4, generator=g, requires_grad=True)
    t = torch.randint(4, (7,), generator=g)
    (ga,) = torch.autograd.grad(cross_entropy(a, t), a)
    (gb,) = torch.autograd.grad(F.cross_entropy(a, t), a)
    torch.testing.assert_close(ga, gb)


def test_cross_entropy_errors_and_perplexity():
    with pytest.raises(ValueError, match=r"targets must be \(B, T\)"):
        cross_entropy(torch.zeros(2, 3, 4), torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(TypeError, match="integer token ids"):
        cross_entropy(torch.zeros(2, 4), torch.zeros(2))
    assert perplexity(math.log(7.0)) == pytest.approx(7.0)
    assert perplexity(torch.tensor(0.0)) == 1.0


# --- batches -------------------------------------------------------------------------


def test_get_batch_targets_are_inputs_shifted_by_one():
    data = torch.arange(100) * 3
    x, y = get_batch(data, block_size=8, batch_size=16, generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (16, 8)
    assert torch.equal(y, x + 3)
    assert int(y.max()) <= 297
    with pytest.raises(ValueError, match="too few"):
        get_batch(torch.arange(4), block_size=4, batch_size=1)


def test_make_batches_covers_the_stream_once():
    data = torch.arange(23)
    xs = torch.cat([x.flatten() for x, _ in make_batches(data, block_size=5, batch_size=3)])
    assert xs.tolist() == list(range(20))
    for x, y in make_batches(data, 5, 3):
        assert torch.equal(y, x + 1)


# --- bigram models ---------------------------------------------------------------------


def test_bigram_counts_by_hand_and_smoothing():
    m = BigramCounts(k=1.0).fit([0, 1, 1, 2], vocab_size=3)
    assert m.counts.tolist() == [[0, 1, 0], [0, 1, 1], [0, 0, 0]]
    torch.testing.assert_close(m.probs[0], torch.tensor([1 / 4, 2 / 4, 1 / 4]))
    torch.testing.assert_close(m.probs.sum(1), torch.ones(3))
    # nll by hand: P(1|0)=2/4, P(1|1)=2/5, P(2|1)=2/5
    assert m.nll([0, 1, 1, 2]) == pytest.approx(-(math.log(0.5) + 2 * math.log(0.4)) / 3, rel=1e-6)
    unseen = BigramCounts(k=0.0).fit([0, 1], vocab_size=3)
    assert unseen.nll([1, 2]) == pytest.approx(math.log(3))  # row 1 never seen: uniform
    with pytest.raises(RuntimeError, match="fit"):
        BigramCounts().probs
    with pytest.raises(ValueError, match="out of range"):
        BigramCounts().fit([0, 5], vocab_size=3)


def test_bigram_counts_sample_follows_the_table():
    m = BigramCounts(k=0.0).fit([0, 1, 2, 0, 1, 2, 0], vocab_size=3)  # deterministic cycle
    assert m.sample(6, start=0, generator=torch.Generator().manual_seed(0)) == [0, 1, 2, 0, 1, 2, 0]


def test_bigram_lm_starts_at_ln_v_and_learns_the_counts(char_corpus):
    data, V = char_corpus
    torch.manual_seed(0)
    model = BigramLM(V)
    x, y = data[None, :-1], data[None, 1:]
    with torch.no_grad():
        initial = model(x, y)[1].item()
    assert initial == pytest.approx(math.log(V), abs=0.02)

    with threads(1):  # tiny matrices: one thread is as fast, and immune to busy cores
        losses = train_bigram(model, data, BigramTrainConfig(steps=600, lr=0.1, seed=0), progress=False)
    assert len(losses) == 600 and losses[-1] < losses[0]
    with torch.no_grad():
        learned = model(x, y)[1].item()
    counted = BigramCounts(k=0.0).fit(data, V).nll(data)  # the best any bigram table can do here
    assert counted < learned < counted + 0.05, (learned, counted)

    out = model.generate(torch.zeros(2, 1, dtype=torch.long), 10, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 11) and int(out.max()) < V
