"""The Part II experiments at a tiny size: structure, plots, and the recall result itself."""

import math

import pytest
import torch

from groundup.experiments import extrapolation, recall


# --- recall ------------------------------------------------------------------------


def test_recall_batches_hold_the_answer_far_back():
    c = recall.RecallConfig.small()
    x, y, pos = recall.make_recall_batch(c, 64, torch.Generator().manual_seed(0))
    assert x.shape == (64, c.seq_len) and y.shape == pos.shape == (64,)
    assert torch.all(c.seq_len - 1 - pos >= c.min_distance)
    query_key = x[:, -1] - c.n_filler - c.n_keys * c.n_values
    assert torch.all((0 <= query_key) & (query_key < c.n_keys))
    pair = x[torch.arange(64), pos] - c.n_filler  # the pair token the answer needs
    assert torch.equal(pair // c.n_values, query_key) and torch.equal(pair % c.n_values, y)
    is_pair = (x >= c.n_filler) & (x < c.n_filler + c.n_keys * c.n_values)
    assert torch.all(is_pair.sum(1) == c.n_pairs)
    assert not is_pair[:, -c.window:].any()  # model (b)'s window holds no pair at all
    with pytest.raises(ValueError, match="n_keys"):
        recall.RecallConfig(n_pairs=9, n_keys=8)


@pytest.fixture(scope="module")
def recall_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("recall") / "recall.png"
    results = recall.main(["--tiny", "--out", str(out)])  # the command line, at the test size
    return results, out


def test_recall_attention_beats_a_local_window(recall_results):
    results, _ = recall_results
    c = results.config
    assert set(results.accuracy) == set(results.by_distance) == {"attention", "window", "recurrent"}
    assert results.chance == pytest.approx(1 / c.n_values)
    # Seeded; measured 1.00 vs 0.145 (window) and 0.117 (GRU), chance 0.125. Margins allow other BLAS builds.
    assert results.accuracy["attention"] >= 0.9
    assert results.accuracy["window"] <= results.chance + 0.1
    assert results.accuracy["recurrent"] <= results.chance + 0.15
    # Attention finds the pair by content at every distance, near the query or at the start.
    assert results.distances[0] == 1 and results.distances[-1] == c.seq_len - 1
    assert all(len(a) == len(results.distances) for a in results.by_distance.values())
    assert min(results.by_distance["attention"]) >= 0.9
    # The attention model's query looks at the pair it needs.
    n = len(results.pair_position)
    assert results.attention.shape == (n, c.seq_len)
    torch.testing.assert_close(results.attention.sum(1), torch.ones(n))
    on_pair = results.attention[torch.arange(n), results.pair_position]
    assert on_pair.mean() > 0.5
    assert len(results.head_on_pair) == c.n_head and len(results.heads_shown) == len(results.correct) == n
    assert results.best_head_on_pair > 0.5


def test_recall_results_structure_and_plot(recall_results):
    results, png = recall_results
    assert len(results.curves["attention"]) == len(results.curve_steps) == len(results.curves["window"])
    assert results.curve_steps[-1] == results.config.steps
    assert results.n_params > 0 and results.n_params_recurrent > 0 and results.seconds > 0
    assert len(results.curves["recurrent"]) == len(results.curve_steps)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_recall_models_share_parameters_and_differ_only_in_the_mask():
    c = recall.RecallConfig.tiny()
    a, b = recall.RecallModel(c), recall.RecallModel(c, window=c.window)
    assert [p.shape for p in a.parameters()] == [p.shape for p in b.parameters()]
    b.load_state_dict(a.state_dict())
    x, _, _ = recall.make_recall_batch(c, 4, torch.Generator().manual_seed(0))
    assert not torch.allclose(a(x), b(x))
    x_short = x[:, -c.window:]  # with no more than `window` tokens the band hides nothing
    torch.testing.assert_close(a(x_short), b(x_short))


def test_move_pair_puts_the_needed_pair_at_the_distance_and_keeps_every_token():
    c = recall.RecallConfig.tiny()
    x, y, pos = recall.make_recall_batch(c, 32, torch.Generator().manual_seed(0))
    for d in (1, 5, c.seq_len - 1):
        moved, where = recall.move_pair(x, pos, d)
        assert torch.all(where == c.seq_len - 1 - d)
        assert torch.equal(moved[torch.arange(32), where], x[torch.arange(32), pos])  # the needed pair itself
        assert torch.equal(moved.sort(1).values, x.sort(1).values)  # a swap: the same tokens
        assert torch.equal(moved[:, -1], x[:, -1])  # the query stays last
    with pytest.raises(ValueError, match="distance"):
        recall.move_pair(x, pos, c.seq_len)


def test_recall_model_takes_a_plugged_in_attention_layer():
    from groundup.attention import MultiHeadAttention

    c = recall.RecallConfig.tiny()
    torch.manual_seed(0)
    default = recall.RecallModel(c)
    # The answer is read at the last token, which sees every key with or without the causal mask.
    plugged = recall.RecallModel(c, attention=MultiHeadAttention(c.n_embd, c.n_head, causal=False))
    plugged.load_state_dict(default.state_dict())
    x, _, _ = recall.make_recall_batch(c, 8, torch.Generator().manual_seed(1))
    torch.testing.assert_close(plugged(x), default(x))
    assert recall.RecurrentRecallModel(c)(x).shape == (8, c.n_values)


# --- extrapolation ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def extrapolation_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("extrapolation") / "extrapolation.png"
    results = extrapolation.main(["--tiny", "--out", str(out), "--json", str(out.with_suffix(".json"))])
    return results, out


PI_KINDS = ["rope+PI", "rope+FT", "rope+PI+FT"]


def test_extrapolation_results_structure(extrapolation_results):
    results, png = extrapolation_results
    c = results.config
    T, L = c.block_size, c.block_size * c.eval_factor
    # Position interpolation's readings of the rope model come right after it.
    assert list(results.loss_by_position) == ["learned", "sinusoidal", "rope", *PI_KINDS, "alibi"]
    for kind, curve in results.loss_by_position.items():
        assert len(curve) == L
        steps = {"rope+PI": 0, "rope+FT": c.finetune_steps, "rope+PI+FT": c.finetune_steps}.get(kind, c.steps)
        assert len(results.train_loss[kind]) == steps
        finite = [v for v in curve if not math.isnan(v)]
        assert all(0 < v < 10 for v in finite)
        if kind == "learned":
            assert len(finite) == T and all(math.isnan(v) for v in curve[T:])
            assert "fails outright" in results.notes[kind]
        else:
            assert len(finite) == L
    bands = results.band_means()
    assert math.isnan(bands["learned"]["[T,2T)"]) and not math.isnan(bands["alibi"]["[2T,4T)"])
    assert set(results.context_means()["rope"]) == {T, 2 * T, 4 * T}
    assert "| alibi |" in extrapolation.format_table(results)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_extrapolation_results_round_trip_through_json(extrapolation_results):
    results, png = extrapolation_results
    loaded = extrapolation.load_results(png.with_suffix(".json"))
    assert loaded.config == results.config
    assert loaded.train_loss == results.train_loss and loaded.notes == results.notes
    for kind, curve in results.loss_by_position.items():  # NaN (learned past T) written as null and back
        assert [math.isnan(v) for v in loaded.loss_by_position[kind]] == [math.isnan(v) for v in curve]
        assert [v for v in loaded.loss_by_position[kind] if not math.isnan(v)] == [v for v in curve if not math.isnan(v)]
    assert extrapolation.format_table(loaded) == extrapolation.format_table(results)


def test_position_interpolation_reads_the_same_weights_with_scaled_positions():
    """rope+PI is the rope model with positions * 1/eval_factor: equal to a model built with that scale."""
    c = extrapolation.ExtrapolationConfig.tiny()
    from groundup.positions import RotaryPositions

    torch.manual_seed(0)
    model = extrapolation.TinyCausalLM(30, c, "rope").eval()
    x = torch.randint(30, (2, 4 * c.block_size))
    with torch.no_grad():
        direct = model(x)
        model.positions.scale = 0.25  # the cached tables follow the new scale
        interpolated = model(x)
        plugged = extrapolation.TinyCausalLM(30, c, "rope", positions=RotaryPositions(c.n_embd // c.n_head, scale=0.25))
        plugged.load_state_dict(model.state_dict())
        torch.testing.assert_close(plugged.eval()(x), interpolated)
    assert not torch.allclose(direct, interpolated)
    torch.testing.assert_close(direct[:, 0], interpolated[:, 0])  # position 0 is not turned either way


def test_extrapolation_config_rejects_bad_sizes():
    with pytest.raises(ValueError, match="finetune_steps"):
        extrapolation.ExtrapolationConfig(finetune_steps=-1)
    with pytest.raises(ValueError, match="block_size"):
        extrapolation.ExtrapolationConfig(block_size=0)


def test_extrapolation_loss_by_position_is_the_loss_of_a_shorter_window():
    """Causal attention: the loss at position p of a long window is that of a window of length p+1."""
    c = extrapolation.ExtrapolationConfig.tiny()
    with torch.no_grad():
        for kind in ("sinusoidal", "rope", "alibi"):
            torch.manual_seed(0)
            model = extrapolation.TinyCausalLM(30, c, kind).eval()
            x = torch.randint(30, (2, 4 * c.block_size))
            torch.testing.assert_close(model(x)[:, : c.block_size], model(x[:, : c.block_size]), atol=1e-5, rtol=1e-5)


def test_learned_positions_refuse_to_run_past_the_window():
    c = extrapolation.ExtrapolationConfig.tiny()
    model = extrapolation.TinyCausalLM(30, c, "learned")
    with pytest.raises(ValueError, match="cannot go past the training window"):
        model(torch.zeros(1, c.block_size + 1, dtype=torch.long))


# --- temperature (Chapter 7) ---------------------------------------------------------
from groundup.experiments import temperature  # noqa: E402


def test_char_ngram_judge_is_a_distribution_and_prefers_its_own_text():
    text = "the cat sat on the mat. " * 50
    lm = temperature.CharNGram(4).fit(text)
    for history in ("", "th", "the c", "zzz"):
        total = sum(lm.prob(c, history) for c in lm.alphabet) + lm.prob("\x00", history)
        assert math.isclose(total, 1.0, rel_tol=1e-9), history
    assert lm.nll("the cat sat on the mat.") < math.log(len(lm.alphabet) + 1) < lm.nll("tam eht no tas tac eht")
    with pytest.raises(ValueError):
        lm.nll("")


def test_diversity_and_consistency_measures():
    assert temperature.distinct_n(["a b c", "a b c"], 2) == 2 / 4
    assert temperature.repetition("abcdabcd", n=4) == 1 / 5
    assert temperature.repetition("abc", n=4) == 0.0
    assert temperature.jaccard_consistency(["x y", "x y", "x y"]) == 1.0
    assert temperature.prefix_agreement(["abc", "abd", "xyz"], chars=2) == 1 / 3
    z = torch.randn(5, 7)
    assert torch.all(temperature.entropy_nats(z, 0.0) == 0)
    assert torch.all(temperature.entropy_nats(z, 1e3) <= math.log(7) + 1e-6)
    assert torch.all(temperature.entropy_nats(z, 0.5) < temperature.entropy_nats(z, 2.0))


def test_temperature_experiment_at_the_test_size(tmp_path, monkeypatch):
    """The command line end to end at --tiny: a course model trained (and cached), measured, plotted."""
    monkeypatch.setenv("GROUNDUP_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "t.png"
    cfg = temperature.TemperatureConfig.tiny()
    run_ = temperature.course_model(cfg.train_steps)
    encode, decode = temperature.char_codec(run_.meta.folder)
    from groundup.data import builtin_corpus

    text = builtin_corpus(300_000)
    res = temperature.run(cfg, run_.model, encode, decode, text[:250_000], text[250_000:], progress=False)
    assert res.temperatures == list(cfg.temperatures)
    greedy, hot = 0, len(res.temperatures) - 1
    assert res.entropy[greedy] == 0 and res.entropy[hot] > res.entropy[1] > 0
    assert res.consistency[greedy] == 1.0 and res.prefix_agreement[greedy] == 1.0  # greedy is deterministic
    assert res.consistency[hot] < 1.0
    assert set(res.reference) == {"distinct1", "distinct2", "repetition", "judge_nll", "real_words"}
    assert all(len(getattr(res, k)) == len(res.temperatures) for k in ("distinct2", "judge_nll", "real_words"))
    temperature.plot(res, out)
    assert out.stat().st_size > 10_000
    assert temperature.main(["--tiny", "--out", str(tmp_path / "cli.png")]) == 0  # loads the cached model
    assert (tmp_path / "cli.png").exists()
    with pytest.raises(ValueError, match="too short"):
        temperature.run(cfg, run_.model, encode, decode, text[:1000], text[:500], progress=False)


def test_temperature_experiment_on_a_hugging_face_checkpoint(tmp_path, monkeypatch):
    """The --hf path (the real GPT-2 online) on a tiny local GPT2LMHeadModel, with cl100k standing in
    for GPT-2's downloaded tokenizer: prompts that encode to different lengths are batched apart."""
    from transformers import GPT2Config, GPT2LMHeadModel

    import groundup.tokenizer as tok

    cl100k = tok.load_cl100k()
    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=16, n_positions=128,
                               vocab_size=cl100k.vocab_size)).save_pretrained(tmp_path / "hf")
    monkeypatch.setattr(tok, "load_gpt2", lambda: cl100k)
    out = tmp_path / "hf.png"
    assert temperature.main(["--hf", str(tmp_path / "hf"), "--tiny", "--out", str(out)]) == 0
    assert out.exists()
