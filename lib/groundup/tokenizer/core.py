"""The ``Tokenizer``: learned (or tiktoken) BPE plus special tokens, encode/decode, save/load.

A tokenizer is either

* *trained here*: an ordered merge list ``(a, b) -> new id`` on top of the 256 byte tokens;
  a chunk is encoded by replaying the earliest-learned applicable merge (as taught), or
* *built from tiktoken ranks* (``cl100k_base``): a table ``token bytes -> rank`` with no
  merge list; a chunk is encoded with tiktoken's own rank rule, so the ids match
  tiktoken's exactly (see :func:`~groundup.tokenizer.bpe.encode_chunk_with_ranks`).

Both share the split pattern, special tokens, decoding and the file format.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Literal

import regex

from groundup.tokenizer.bpe import (
    GPT4_SPLIT_PATTERN,
    bpe_parts,
    build_vocab,
    check_text,
    compile_pattern,
    encode_chunk_with_merges,
    encode_chunk_with_ranks,
)
from groundup.tokenizer.train import Merges, train_fast, train_naive

FORMAT = "groundup-bpe"  # the "format" field of a saved tokenizer
VERSION = 1  # bump when the file layout changes

AllowedSpecial = Literal["all", "none", "none_raise"] | Collection[str]


class Tokenizer:
    """Byte-level BPE tokenizer (GPT-2/GPT-4 style).

    Attributes: ``merges`` ((a, b) -> id, in learned order), ``vocab`` (id -> bytes),
    ``pattern`` (the split regex), ``special_tokens`` (name -> id).

    >>> tok = Tokenizer.train("low lower lowest " * 20, 260, special_tokens=["<|end|>"])
    >>> [tok.vocab[i] for i in tok.merges.values()]
    [b'lo', b'low', b' low', b' lowe']
    >>> ids = tok.encode(" lower<|end|>", allowed_special="all")
    >>> ids, tok.decode(ids)
    ([259, 114, 260], ' lower<|end|>')
    """

    def __init__(
        self,
        merges: Mapping[tuple[int, int], int] | Merges = (),
        pattern: str = GPT4_SPLIT_PATTERN,
        special_tokens: Mapping[str, int] | None = None,
        *,
        cache_size: int = 1 << 16,
    ) -> None:
        items = list(merges.items()) if isinstance(merges, Mapping) else list(merges)
        _check_merges(items)
        self._merges: dict[tuple[int, int], int] | None = {tuple(p): i for p, i in items}
        self._ranks: dict[bytes, int] | None = None  # set only by from_tiktoken
        self.vocab: dict[int, bytes] = build_vocab(items)
        self._setup(pattern, special_tokens, cache_size)

    @classmethod
    def from_tiktoken(
        cls,
        mergeable_ranks: Mapping[bytes, int],
        pattern: str,
        special_tokens: Mapping[str, int] | None = None,
        *,
        cache_size: int = 1 << 16,
    ) -> Tokenizer:
        """A tokenizer that encodes exactly like ``tiktoken.Encoding`` with the same arguments."""
        missing = [b for b in range(256) if bytes([b]) not in mergeable_ranks]
        if missing:
            raise ValueError(
                f"mergeable_ranks must hold all 256 single bytes; {len(missing)} are missing "
                f"(first: {bytes([missing[0]])!r}). Was the ranks file truncated?"
            )
        if len(set(mergeable_ranks.values())) != len(mergeable_ranks):
            raise ValueError("mergeable_ranks gives the same rank to two different tokens.")
        tok = cls.__new__(cls)
        tok._merges = None  # recovered from the ranks on first use of .merges
        tok._ranks = dict(mergeable_ranks)
        tok.vocab = {rank: token for token, rank in mergeable_ranks.items()}
        tok._setup(pattern, special_tokens, cache_size)
        return tok

    def _setup(self, pattern: str, special_tokens: Mapping[str, int] | None, cache_size: int) -> None:
        self.pattern = pattern
        self.special_tokens = dict(special_tokens or {})
        clash = {n: i for n, i in self.special_tokens.items() if i in self.vocab}
        if clash:
            raise ValueError(
                f"special token ids must not reuse ordinary token ids, but {clash} do "
                f"(ordinary ids are 0..{max(self.vocab)}). Give special tokens ids after the vocabulary."
            )
        self._cache_size = cache_size
        self._id_to_bytes = {**self.vocab, **{i: n.encode("utf-8") for n, i in self.special_tokens.items()}}
        self._encode_chunk = functools.lru_cache(maxsize=cache_size)(self._encode_chunk_uncached)

    # ----------------------------------------------------------------------- training

    @classmethod
    def train(
        cls,
        text: str,
        vocab_size: int,
        pattern: str = GPT4_SPLIT_PATTERN,
        special_tokens: Mapping[str, int] | Iterable[str] | None = None,
        method: Literal["fast", "naive"] = "fast",
        progress: bool = False,
    ) -> Tokenizer:
        """Learn ``vocab_size - 256`` merges from ``text``, then add the special tokens.

        ``vocab_size`` counts the 256 bytes and the merges; special tokens given as
        names get the ids right after them (GPT-2: 50,256 + ``<|endoftext|>`` = 50,257).
        Special-token strings in ``text`` are cut out before training.
        """
        trainers = {"fast": train_fast, "naive": train_naive}
        if method not in trainers:
            raise ValueError(f"method must be 'fast' or 'naive', got {method!r}.")
        if isinstance(special_tokens, str):
            special_tokens = [special_tokens]  # one name, not a sequence of characters
        names = list(special_tokens or ())
        merges = trainers[method](text, vocab_size, pattern, progress, special_tokens=names)
        if isinstance(special_tokens, Mapping):
            specials = dict(special_tokens)
        else:
            specials = {name: 256 + len(merges) + i for i, name in enumerate(names)}
        return cls(merges, pattern, specials)

    # ----------------------------------------------------------------------- encoding

    def _encode_chunk_uncached(self, chunk: str) -> tuple[int, ...]:
        data = chunk.encode("utf-8")
        if self._ranks is not None:
            return tuple(encode_chunk_with_ranks(data, self._ranks))
        return tuple(encode_chunk_with_merges(data, self._merges))

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode ``text``, treating special-token strings as ordinary text."""
        check_text(text, "encode_ordinary()")
        ids: list[int] = []
        encode_chunk = self._encode_chunk
        for chunk in compile_pattern(self.pattern).findall(text):
            ids.extend(encode_chunk(chunk))
        return ids

    def encode(self, text: str, allowed_special: AllowedSpecial = "none_raise") -> list[int]:
        """Encode ``text``; ``allowed_special`` says what to do with special-token strings.

        ``"all"``: encode each as its special id. ``"none"``: treat them as ordinary
        text. ``"none_raise"`` (default, like tiktoken): raise if one appears. A set of
        names: those become special ids, and any other special token raises.
        """
        check_text(text, "encode()")
        if allowed_special == "all":
            allowed = set(self.special_tokens)
        elif allowed_special in ("none", "none_raise"):
            allowed = set()
        elif isinstance(allowed_special, Collection) and not isinstance(allowed_special, str):
            unknown = set(allowed_special) - set(self.special_tokens)
            if unknown:
                raise ValueError(
                    f"allowed_special names unknown special tokens {sorted(unknown)}; "
                    f"this tokenizer has {sorted(self.special_tokens)}."
                )
            allowed = set(allowed_special)
        else:
            raise ValueError(
                "allowed_special must be 'all', 'none', 'none_raise' or a set of special-token "
                f"names, got {allowed_special!r}."
            )
        if allowed_special != "none":
            disallowed = set(self.special_tokens) - allowed
            found = _special_regex(frozenset(disallowed)).search(text) if disallowed else None
            if found:
                raise ValueError(
                    f"text contains the special token {found.group()!r} at position {found.start()}, "
                    "but it is not allowed. Pass allowed_special='all' to encode it as a special "
                    "token, or allowed_special='none' to encode it as plain text."
                )
        if not allowed:
            return self.encode_ordinary(text)
        ids: list[int] = []
        # A capturing group makes split() keep the specials: [text, special, text, ...].
        pieces = regex.split(f"({_special_regex(frozenset(allowed)).pattern})", text)
        for i, piece in enumerate(pieces):
            if i % 2:
                ids.append(self.special_tokens[piece])
            elif piece:
                ids.extend(self.encode_ordinary(piece))
        return ids

    # ----------------------------------------------------------------------- decoding

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The bytes of the tokens ``ids``, joined.

        >>> Tokenizer().decode_bytes([104, 105])
        b'hi'
        """
        if hasattr(ids, "tolist"):  # a torch tensor or numpy array
            ids = ids.tolist()
        elif not isinstance(ids, (list, tuple)):
            ids = list(ids)  # a generator can be read only once
        table = self._id_to_bytes
        try:
            return b"".join([table[i] for i in ids])
        except (KeyError, TypeError):
            bad = next(i for i in ids if not isinstance(i, int) or i not in table)
            specials = sorted(self.special_tokens.values())
            raise ValueError(
                f"token id {bad!r} is not in this tokenizer's vocabulary: valid ids are "
                f"0..{max(self.vocab)}" + (f" and the special ids {specials}" if specials else "")
                + ". Did these ids come from a different tokenizer?"
            ) from None

    def decode(self, ids: Iterable[int]) -> str:
        """Decode ``ids`` to text: join all the tokens' bytes, then decode UTF-8 once.

        A token may hold half a character, so decoding token by token would fail; bytes
        that are not valid UTF-8 become U+FFFD (``errors="replace"``), as in GPT-2.

        >>> Tokenizer().decode([0xE2, 0x82, 0xAC])
        '€'
        """
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    # ----------------------------------------------------------------------- sizes

    @property
    def merges(self) -> dict[tuple[int, int], int]:
        """The merge list. For tiktoken ranks it is recovered on first use: each token's
        merge is the last join that rank-based BPE makes on its bytes using only
        lower-ranked tokens (a few seconds for ``cl100k_base``)."""
        if self._merges is None:
            self._merges = _recover_merges(self._ranks)
        return self._merges

    @property
    def vocab_size(self) -> int:
        """One more than the largest id: the number of rows an embedding table needs."""
        return max([max(self.vocab), *self.special_tokens.values()]) + 1

    def __len__(self) -> int:
        """How many distinct tokens (ordinary + special) exist; ``<= vocab_size``."""
        return len(self.vocab) + len(self.special_tokens)

    def __repr__(self) -> str:
        kind = "tiktoken ranks" if self._ranks is not None else f"{len(self._merges)} merges"
        return f"Tokenizer({kind}, {len(self)} tokens, special={list(self.special_tokens)})"

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        del state["_encode_chunk"]  # an lru_cache is not picklable; rebuilt on load
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._encode_chunk = functools.lru_cache(maxsize=self._cache_size)(self._encode_chunk_uncached)

    # ----------------------------------------------------------------------- files

    def save(self, path: str | os.PathLike) -> None:
        """Write a small JSON file: format, version, pattern, special tokens, then the
        merges ``[a, b, id]`` in learned order (or, for tiktoken ranks, ``[hex bytes, rank]``)."""
        data: dict = {"format": FORMAT, "version": VERSION, "pattern": self.pattern,
                      "special_tokens": self.special_tokens}
        if self._ranks is not None:
            data["ranks"] = [[t.hex(), r] for t, r in sorted(self._ranks.items(), key=lambda kv: kv[1])]
        else:
            data["merges"] = [[a, b, i] for (a, b), i in self._merges.items()]
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=0)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Tokenizer:
        """Read a file written by :meth:`save`, checking it on the way."""
        def bad(why: str) -> ValueError:
            return ValueError(f"{os.fspath(path)!r} is not a valid {FORMAT} tokenizer file: {why}.")

        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise bad(f"it is not JSON ({err}); was it truncated or written by another tool?") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise bad(f'expected a JSON object with "format": "{FORMAT}"')
        if data.get("version") != VERSION:
            raise bad(f"version {data.get('version')!r} is unknown; this library reads version {VERSION}")
        pattern, specials = data.get("pattern"), data.get("special_tokens")
        if not isinstance(pattern, str) or not isinstance(specials, dict):
            raise bad('"pattern" must be a string and "special_tokens" an object')
        try:
            if "ranks" in data:
                ranks = {bytes.fromhex(t): int(r) for t, r in data["ranks"]}
                return cls.from_tiktoken(ranks, pattern, specials)
            merges = [((int(a), int(b)), int(i)) for a, b, i in data["merges"]]
            return cls(merges, pattern, specials)
        except (KeyError, TypeError, ValueError) as err:
            raise bad(f"its merges/ranks are malformed ({err})") from None


# --------------------------------------------------------------------------- helpers


@functools.lru_cache(maxsize=64)
def _special_regex(names: frozenset[str]) -> regex.Pattern:
    """Match any of ``names``; longer names first so one special cannot shadow a longer one."""
    return regex.compile("|".join(regex.escape(n) for n in sorted(names, key=len, reverse=True)))


def _check_merges(items: Sequence[tuple[tuple[int, int], int]]) -> None:
    """Each merge must join two existing tokens into the next new id (256, 257, ...)."""
    for k, ((a, b), idx) in enumerate(items):
        if idx != 256 + k:
            raise ValueError(f"merge #{k} {(a, b)} -> {idx}: expected new id {256 + k} (ids count up from 256).")
        if not (0 <= a < idx and 0 <= b < idx):
            raise ValueError(f"merge #{k} {(a, b)} -> {idx} joins a token that does not exist yet.")


def _recover_merges(ranks: Mapping[bytes, int]) -> dict[tuple[int, int], int]:
    merges: dict[tuple[int, int], int] = {}
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) < 2:
            continue
        parts = bpe_parts(token, ranks, max_rank=rank)
        if len(parts) == 2:  # otherwise no pair of lower tokens builds it; cl100k has none
            merges[(ranks[parts[0]], ranks[parts[1]])] = rank
    return merges
