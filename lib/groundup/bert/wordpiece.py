"""BERT's tokenizer: a basic tokenizer, then WordPiece (Devlin et al. 2019, sec. 3;
Wu et al. 2016, sec. 4.1; Schuster & Nakajima 2012).

Text goes through four stages, in the order of Hugging Face's ``BertTokenizerFast``
(the Rust ``BertNormalizer`` / ``BertPreTokenizer`` / ``WordPiece`` / ``TemplateProcessing``):

1. special tokens written in the text (``[MASK]``, ``[SEP]`` ...) are cut out first,
   exactly as written (case-sensitive), and never normalised;
2. normalise: drop NUL, U+FFFD and control/format characters, turn every whitespace
   into a space, put spaces around CJK ideographs, strip accents (NFD, then drop the
   non-spacing marks) and lower-case (uncased models);
3. pre-tokenise: split on whitespace and make every punctuation character its own word;
4. WordPiece: cut each word greedily into the longest vocabulary entries, left to right;
   every piece after the first carries the ``##`` prefix. A word with a part that no
   entry covers, or longer than 100 characters, becomes ``[UNK]`` as a whole.

Then ``[CLS] A [SEP]`` (or ``[CLS] A [SEP] B [SEP]``, token types 0...0 1...1),
truncation and padding.

>>> wp = WordPiece({"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4,
...                 "un": 5, "##aff": 6, "##able": 7, "!": 8})
>>> wp.tokenize("Unaffable!")
['un', '##aff', '##able', '!']
>>> wp.encode("Unaffable!")["input_ids"]
[2, 5, 6, 7, 8, 3]

Known difference: Python's ``unicodedata`` (Unicode 14 on 3.11) knows characters that
the Rust tokenizer's older Unicode tables do not (e.g. U+0890, a format character added
in Unicode 14, which the Rust code keeps and this one drops). Text written with such
characters can tokenise differently; tests/test_bert.py counts them.
"""
from __future__ import annotations

import functools
import json
import os
import unicodedata
from pathlib import Path

import regex

__all__ = ["WordPiece", "wordpiece_naive", "load_vocab", "is_cjk"]

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


# ----------------------------------------------------------------------------- characters
def is_cjk(cp: int) -> bool:
    """CJK Unified Ideographs (and extensions, compatibility ideographs): the blocks BERT
    splits into one-character words, since Chinese is written without spaces. Japanese
    kana and Korean Hangul are not in these blocks and are left alone.
    (The ranges of the Rust tokenizer, which skips U+2B820-U+2B91F.)"""
    return (
        0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B920 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F
    )


def _is_control(ch: str) -> bool:
    """Control, format, private-use, surrogate: removed (tab, newline, CR count as space)."""
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs")


def _is_whitespace(ch: str) -> bool:
    """Unicode White_Space (Python's isspace adds U+001C-U+001F, which are controls here)."""
    return ch.isspace() and unicodedata.category(ch) != "Cc" or ch in "\t\n\r\x0b\x0c\x85"


def _is_punctuation(ch: str) -> bool:
    """ASCII symbols such as $ + < = > ^ ` | ~ count as punctuation, plus every Unicode P*."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


# ----------------------------------------------------------------------------- WordPiece
def wordpiece_naive(word: str, vocab: dict[str, int] | set[str], unk: str = "[UNK]",
                    max_chars: int = 100) -> list[str]:
    """Greedy longest-match-first (Wu et al. 2016): from the current start, try the
    whole rest of the word, then one character shorter, ... until a vocabulary entry
    matches; pieces after the first are looked up with the ``##`` prefix.

    >>> wordpiece_naive("unaffable", {"un", "##aff", "##able"})
    ['un', '##aff', '##able']
    >>> wordpiece_naive("unaffablex", {"un", "##aff", "##able"})   # no piece covers "x"
    ['[UNK]']
    """
    if len(word) > max_chars:
        return [unk]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:  # not even one character matched: the whole word is unknown
            return [unk]
        pieces.append(piece)
        start = end
    return pieces


def load_vocab(path: str | os.PathLike) -> dict[str, int]:
    """vocab.txt: one token per line, its id is the line number (0-based)."""
    with open(path, encoding="utf-8") as f:
        return {line.rstrip("\n"): i for i, line in enumerate(f)}


class WordPiece:
    """BERT's tokenizer, equal to ``transformers``' ``BertTokenizerFast`` on the same vocabulary.

    Args:
        vocab: token -> id (``WordPiece.from_file("vocab.txt")`` reads one).
        lowercase: uncased models lower-case (and so strip accents) before WordPiece.
        strip_accents: None follows ``lowercase``, as in BERT.
        tokenize_chinese_chars: spaces around CJK ideographs.
        model_max_length: the longest input the model takes (the position table), used by
            ``truncation=True`` when no ``max_length`` is given.
    """

    def __init__(self, vocab: dict[str, int], *, lowercase: bool = True, strip_accents: bool | None = None,
                 tokenize_chinese_chars: bool = True, model_max_length: int = 512,
                 max_input_chars_per_word: int = 100):
        missing = [t for t in SPECIAL_TOKENS if t not in vocab]
        if missing:
            raise ValueError(f"a BERT vocabulary needs the special tokens {SPECIAL_TOKENS}; this one lacks "
                             f"{missing}. Is it a vocab.txt of a BERT model (one token per line)?")
        self.vocab = dict(vocab)
        self.inv_vocab = {i: t for t, i in self.vocab.items()}
        self.lowercase = lowercase
        self.strip_accents = lowercase if strip_accents is None else strip_accents
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.model_max_length = model_max_length
        self.max_input_chars_per_word = max_input_chars_per_word
        self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id = (self.vocab[t] for t in SPECIAL_TOKENS)
        # Longest special token first, so "[CLS]" is never read as "[" "CLS" "]".
        self._special = regex.compile("|".join(regex.escape(t) for t in sorted(SPECIAL_TOKENS, key=len, reverse=True)))
        self._longest = max(len(t) for t in self.vocab)  # no match can be longer than this
        self._pieces = functools.lru_cache(maxsize=1 << 16)(self._wordpiece)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_file(cls, vocab_file: str | os.PathLike, **kwargs) -> "WordPiece":
        """From a vocab.txt; keyword arguments as ``WordPiece(...)``."""
        return cls(load_vocab(vocab_file), **kwargs)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike) -> "WordPiece":
        """From a Hugging Face model folder: vocab.txt and, if present, tokenizer_config.json
        (``do_lower_case``, ``strip_accents``, ``tokenize_chinese_chars``, ``model_max_length``)."""
        path = Path(path)
        if not (path / "vocab.txt").exists():
            raise FileNotFoundError(f"{path} has no vocab.txt: a BERT tokenizer needs its WordPiece vocabulary.")
        cfg = {}
        if (path / "tokenizer_config.json").exists():
            cfg = json.loads((path / "tokenizer_config.json").read_text())
        return cls.from_file(
            path / "vocab.txt", lowercase=cfg.get("do_lower_case", True), strip_accents=cfg.get("strip_accents"),
            tokenize_chinese_chars=cfg.get("tokenize_chinese_chars", True),
            model_max_length=min(int(cfg.get("model_max_length", 512)), 10**6),
        )

    def __len__(self) -> int:
        return len(self.vocab)

    # ------------------------------------------------------------------ the four stages
    def normalize(self, text: str) -> str:
        """Clean, space out CJK, strip accents, lower-case: ``"Héllo\\x00 世界" -> "hello  世  界 "``."""
        out = []
        for ch in text:
            if ch == "\x00" or ch == "\ufffd" or _is_control(ch):
                continue
            if _is_whitespace(ch):
                out.append(" ")
            elif self.tokenize_chinese_chars and is_cjk(ord(ch)):
                out.append(f" {ch} ")
            else:
                out.append(ch)
        text = "".join(out)
        if self.strip_accents:
            # NFD splits "é" into "e" + U+0301 (a non-spacing mark, category Mn), then drop the marks.
            text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
        if self.lowercase:
            # Character by character, as the Rust code does (str.lower() would turn a final
            # capital sigma into the final form "ς"; BERT's vocabulary expects "σ").
            text = "".join(c.lower() for c in text)
        return text

    @staticmethod
    def pre_tokenize(text: str) -> list[str]:
        """Split on whitespace; each punctuation character is a word of its own.

        >>> WordPiece.pre_tokenize("don't stop...now")
        ['don', "'", 't', 'stop', '.', '.', '.', 'now']
        """
        words, cur = [], []
        for ch in text:
            if _is_whitespace(ch):
                if cur:
                    words.append("".join(cur)); cur = []
            elif _is_punctuation(ch):
                if cur:
                    words.append("".join(cur)); cur = []
                words.append(ch)
            else:
                cur.append(ch)
        if cur:
            words.append("".join(cur))
        return words

    def _wordpiece(self, word: str) -> tuple[str, ...]:
        """``wordpiece_naive`` that starts each search at the longest vocabulary entry
        instead of the end of the word (same result; long words cost far fewer lookups)."""
        if len(word) > self.max_input_chars_per_word:
            return ("[UNK]",)
        pieces, start, n = [], 0, len(word)
        while start < n:
            end = min(n, start + self._longest)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    break
                end -= 1
            if end == start:
                return ("[UNK]",)
            pieces.append(piece)
            start = end
        return tuple(pieces)

    def tokenize(self, text: str) -> list[str]:
        """Text -> WordPiece tokens, no [CLS]/[SEP]: ``"Héllo!" -> ['hello', '!']``."""
        tokens, pos = [], 0
        for m in self._special.finditer(text):
            tokens += self._tokenize_plain(text[pos:m.start()])
            tokens.append(m.group())
            pos = m.end()
        return tokens + self._tokenize_plain(text[pos:])

    def _tokenize_plain(self, text: str) -> list[str]:
        return [p for word in self.pre_tokenize(self.normalize(text)) for p in self._pieces(word)]

    def convert_tokens_to_ids(self, tokens: list[str]) -> list[int]:
        return [self.vocab.get(t, self.unk_id) for t in tokens]

    def convert_ids_to_tokens(self, ids) -> list[str]:
        return [self.inv_vocab[int(i)] for i in ids]

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        """Ids -> text, joining ``##`` pieces to the piece before (accents and case are gone)."""
        toks = [t for t in self.convert_ids_to_tokens(ids) if not (skip_special_tokens and t in SPECIAL_TOKENS)]
        return " ".join(toks).replace(" ##", "")

    # ------------------------------------------------------------------ encoding
    def _truncate(self, a: list[int], b: list[int] | None, max_length: int) -> tuple[list[int], list[int] | None]:
        """Cut to ``max_length`` ids with the special tokens. Pairs: 'longest first' as the
        Rust tokenizer computes it (the shorter input keeps up to half the room)."""
        room = max_length - (2 if b is None else 3)  # [CLS] A [SEP] (B [SEP])
        if room < 0:
            raise ValueError(f"max_length={max_length} leaves no room for the text after [CLS] and [SEP].")
        if b is None:
            return a[:room], None
        if len(a) + len(b) <= room:
            return a, b
        n1, n2 = len(a), len(b)
        swap = n1 > n2
        if swap:
            n1, n2 = n2, n1
        n2 = n1 if n1 > room else max(n1, room - n1)
        if n1 + n2 > room:
            n1 = room // 2
            n2 = n1 + room % 2
        if swap:
            n1, n2 = n2, n1
        return a[:n1], b[:n2]

    def encode(self, text: str, text_pair: str | None = None, *, add_special_tokens: bool = True,
               truncation: bool = False, max_length: int | None = None) -> dict[str, list[int]]:
        """One text (or pair) -> ``{"input_ids", "token_type_ids", "attention_mask"}``, no padding.

        Segment (token type) ids are 0 for ``[CLS] A [SEP]`` and 1 for ``B [SEP]``.
        """
        if not isinstance(text, str) or (text_pair is not None and not isinstance(text_pair, str)):
            raise TypeError(f"encode expects str inputs, got {type(text).__name__}"
                            f"{'' if text_pair is None else ' and ' + type(text_pair).__name__}.")
        a = self.convert_tokens_to_ids(self.tokenize(text))
        b = None if text_pair is None else self.convert_tokens_to_ids(self.tokenize(text_pair))
        if truncation:
            a, b = self._truncate(a, b, max_length or self.model_max_length)
        if add_special_tokens:
            ids = [self.cls_id] + a + [self.sep_id]
            types = [0] * len(ids)
            if b is not None:
                ids += b + [self.sep_id]
                types += [1] * (len(b) + 1)
        else:
            ids = a + (b or [])
            types = [0] * len(a) + [1] * len(b or [])
        return {"input_ids": ids, "token_type_ids": types, "attention_mask": [1] * len(ids)}

    def __call__(self, text: str | list[str], text_pair: str | list[str] | None = None, *,
                 padding: bool | str = False, truncation: bool = False, max_length: int | None = None,
                 add_special_tokens: bool = True, return_tensors: str | None = None):
        """Like a Hugging Face tokenizer call: a text or a list of texts (and pairs).

        ``padding``: False, True / "longest" (to the longest in the batch) or "max_length";
        padding goes on the right with ``[PAD]``, token type 0 and attention mask 0.
        ``return_tensors="pt"`` gives int64 tensors (B, T) (the lists must then be padded).
        """
        single = isinstance(text, str)
        texts = [text] if single else list(text)
        pairs = None if text_pair is None else ([text_pair] if isinstance(text_pair, str) else list(text_pair))
        if pairs is not None and len(pairs) != len(texts):
            raise ValueError(f"got {len(texts)} texts but {len(pairs)} text pairs; give one pair per text.")
        if padding not in (False, True, "longest", "max_length", "do_not_pad"):
            raise ValueError(f"padding must be False, True, 'longest' or 'max_length', got {padding!r}.")
        if padding == "max_length" and max_length is None:
            max_length = self.model_max_length
        encs = [self.encode(t, None if pairs is None else pairs[i], add_special_tokens=add_special_tokens,
                            truncation=truncation, max_length=max_length) for i, t in enumerate(texts)]
        if padding in (True, "longest", "max_length"):
            T = max_length if padding == "max_length" else max((len(e["input_ids"]) for e in encs), default=0)
            for e in encs:
                n = T - len(e["input_ids"])
                if n > 0:
                    e["input_ids"] += [self.pad_id] * n
                    e["token_type_ids"] += [0] * n
                    e["attention_mask"] += [0] * n
        out = {k: [e[k] for e in encs] for k in ("input_ids", "token_type_ids", "attention_mask")}
        if return_tensors == "pt":
            import torch

            lengths = {len(r) for r in out["input_ids"]}
            if len(lengths) > 1:
                raise ValueError("return_tensors='pt' needs rows of one length: pass padding=True.")
            return {k: torch.tensor(v, dtype=torch.long).reshape(len(encs), -1) for k, v in out.items()}  # (B, T)
        if return_tensors is not None:
            raise ValueError(f"return_tensors must be None or 'pt', got {return_tensors!r}.")
        return {k: v[0] for k, v in out.items()} if single else out
