"""Training data: tokenize a corpus once into flat token files, then cut random windows.

The whole corpus becomes one long row of token ids written to disk as raw integers
(``train.bin`` = first 90%, ``val.bin`` = last 10%). Training reads them through
``np.memmap``, so a corpus larger than memory costs nothing to open, and a batch is
``batch_size`` random windows of ``block_size + 1`` tokens: x is a window, y the same
window shifted left by one (the next token at every position).

    corpus text --tokenize--> [5, 17, 2, 9, ...] --90/10--> train.bin, val.bin, meta.json

Token ids are stored as ``uint16`` (2 bytes) when the vocabulary fits in 65,536 ids (GPT-2's
50,257 do); cl100k has 100,277 ids, more than uint16 can hold, so it is stored as ``uint32``.
Which text to tokenize is ``corpora.load_corpus``'s job.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from groundup.train.corpora import load_corpus


# ----------------------------------------------------------------------------- tokenizers
class CharVocab:
    """One id per distinct character, in code-point order.

    >>> v = CharVocab.from_text("hello")
    >>> v.chars, v.encode("hole").tolist(), v.decode([3, 1])
    ('ehlo', [1, 3, 2, 0], 'oh')
    """

    def __init__(self, chars: str):
        self.chars = chars
        self._points = np.array([ord(c) for c in chars], dtype=np.uint32)  # sorted code points

    @classmethod
    def from_text(cls, text: str) -> "CharVocab":
        return cls("".join(sorted(set(text))))

    def encode(self, text: str) -> np.ndarray:
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)  # one uint32 per character
        ids = np.searchsorted(self._points, points)  # position in the sorted alphabet = id
        bad = (ids >= len(self._points)) | (self._points[np.minimum(ids, len(self._points) - 1)] != points)
        if bad.any():
            raise ValueError(f"character {chr(points[bad.argmax()])!r} is not in this vocabulary of {len(self.chars)}.")
        return ids

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)


def _pretrained_tokenizer(spec: str):
    """The course's Tokenizer for "cl100k" (GPT-4's, offline) or "gpt2" (GPT-2's, downloaded once)."""
    from groundup.tokenizer import load_cl100k, load_gpt2

    return {"cl100k": load_cl100k, "gpt2": load_gpt2}[spec]()


def _pretrained_encoder(spec: str):
    """(encode_batch, vocab_size) for "cl100k" or "gpt2". With tiktoken installed, its Rust
    encoder runs the same ranks, pattern and special tokens (same ids, tested), ~3x faster
    and on all cores."""
    tok = _pretrained_tokenizer(spec)
    try:
        import tiktoken
    except ImportError:
        return (lambda texts: [tok.encode_ordinary(t) for t in texts]), tok.vocab_size
    ranks = {token: rank for rank, token in tok.vocab.items()}  # a from-ranks Tokenizer's vocab is rank -> bytes
    enc = tiktoken.Encoding(name=spec, pat_str=tok.pattern, mergeable_ranks=ranks, special_tokens=tok.special_tokens)
    threads = os.cpu_count() or 1
    return (lambda texts: enc.encode_ordinary_batch(texts, num_threads=threads)), enc.n_vocab


def make_tokenizer(spec: str, text: str, folder: Path):
    """-> (encode_batch: list of str -> list of ids, vocab_size, meta) for a tokenizer spec:
    "char", "gpt2" (GPT-2's BPE), "cl100k" (GPT-4's) or "bpe:<vocab_size>" (trained here)."""
    if spec == "char":
        vocab = CharVocab.from_text(text)
        return (lambda texts: [vocab.encode(t) for t in texts]), vocab.vocab_size, {"chars": vocab.chars}
    if spec in ("cl100k", "gpt2"):
        encode_batch, n = _pretrained_encoder(spec)
        return encode_batch, n, {}
    m = re.fullmatch(r"bpe:(\d+)", spec)
    if m:
        from groundup.tokenizer import Tokenizer

        tok = Tokenizer.train(text[:2_000_000], int(m.group(1)), progress=False)  # merges from <= 2M chars
        tok.save(folder / "tokenizer.json")
        return (lambda texts: [tok.encode_ordinary(t) for t in texts]), tok.vocab_size, {"tokenizer_file": "tokenizer.json"}
    raise ValueError(f"unknown tokenizer {spec!r}: use 'char', 'gpt2', 'cl100k' or 'bpe:<vocab_size>' (e.g. bpe:1024).")


def load_decoder(folder: str | Path):
    """ids -> text for a prepared data folder (to print samples)."""
    meta = json.loads((Path(folder) / "meta.json").read_text())
    if meta["tokenizer"] == "char":
        return CharVocab(meta["chars"]).decode
    if meta["tokenizer"] in ("cl100k", "gpt2"):
        return _pretrained_tokenizer(meta["tokenizer"]).decode
    from groundup.tokenizer import Tokenizer

    return Tokenizer.load(Path(folder) / meta["tokenizer_file"]).decode


# ----------------------------------------------------------------------------- prepare
@dataclass(frozen=True)
class DataMeta:
    """What ``prepare`` wrote."""

    folder: Path  # holds train.bin, val.bin, meta.json
    vocab_size: int  # number of distinct token ids the model must embed
    dtype: str  # "uint16" or "uint32"
    n_train: int  # tokens in train.bin
    n_val: int  # tokens in val.bin


def prepare(
    data: str,
    tokenizer: str,
    data_dir: str | Path,
    *,
    val_fraction: float = 0.1,
    max_chars: int = 0,
    chunk_chars: int = 4_000_000,
    progress: bool = True,
) -> DataMeta:
    """Tokenize corpus ``data`` once into
    ``data_dir/<corpus>-<tokenizer>/``; reuse it after that.

    The text is encoded in pieces of ~``chunk_chars`` characters, each cut just after a
    newline (BPE tokens never span a newline-to-text boundary in these patterns), so a
    corpus of gigabytes never has to exist as one Python list of ints."""
    key = re.sub(
        r"[^A-Za-z0-9_.-]+",
        "_",
        f"{Path(data).stem if Path(data).is_file() else data}-{tokenizer}",
    )
    folder = Path(data_dir) / (key + (f"-{max_chars}" if max_chars else ""))
    meta_path = folder / "meta.json"
    folder.parent.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock  # a dependency of torch

    # Two processes preparing the same corpus (pages built in parallel, test workers):
    # the second waits for the first and reuses its files instead of rewriting them.
    with FileLock(str(folder) + ".lock"):
        if meta_path.exists():
            meta = json.loads(meta_path.read_text())
            if (meta.get("data"), meta.get("tokenizer"), meta.get("val_fraction")) == (
                data,
                tokenizer,
                val_fraction,
            ):
                return _meta(folder, meta)
        return _tokenize_to(
            folder, data, tokenizer, val_fraction, max_chars, chunk_chars, progress
        )


def _tokenize_to(folder: Path, data: str, tokenizer: str, val_fraction: float, max_chars: int,
                 chunk_chars: int, progress: bool) -> DataMeta:
    meta_path = folder / "meta.json"
    folder.mkdir(parents=True, exist_ok=True)
    text = load_corpus(data, max_chars, progress=progress)
    encode_batch, vocab_size, extra = make_tokenizer(tokenizer, text, folder)
    dtype = np.uint16 if vocab_size <= 2**16 else np.uint32  # cl100k (100,277 ids) needs 32 bits
    bounds, start = [], 0  # [(start, end)] of pieces that each end just after a newline
    while start < len(text):
        end = min(len(text), start + chunk_chars)
        if end < len(text):
            cut = text.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        bounds.append((start, end))
        start = end
    from tqdm.auto import tqdm

    pieces, group = [], max(1, os.cpu_count() or 1)  # a batch of pieces per call: one per core
    with tqdm(total=len(text), desc=f"tokenize ({tokenizer})", unit="char", unit_scale=True,
              disable=not progress or len(text) < 5 * chunk_chars) as bar:  # a bar only for long work
        for i in range(0, len(bounds), group):
            batch = [text[a:b] for a, b in bounds[i:i + group]]
            pieces.extend(np.asarray(ids, dtype=dtype) for ids in encode_batch(batch))
            bar.update(sum(map(len, batch)))
    ids = np.concatenate(pieces) if pieces else np.zeros(0, dtype=dtype)
    n_train = int(len(ids) * (1 - val_fraction))
    ids[:n_train].tofile(folder / "train.bin")
    ids[n_train:].tofile(folder / "val.bin")
    meta = {"data": data, "tokenizer": tokenizer, "val_fraction": val_fraction, "vocab_size": int(vocab_size),
            "dtype": np.dtype(dtype).name, "n_train": n_train, "n_val": int(len(ids) - n_train), **extra}
    meta_path.write_text(json.dumps(meta, indent=1))  # written last: its presence means "complete"
    return _meta(folder, meta)


def _meta(folder: Path, meta: dict) -> DataMeta:
    return DataMeta(folder, meta["vocab_size"], meta["dtype"], meta["n_train"], meta["n_val"])


def load_tokens(meta: DataMeta, split: str) -> np.memmap:
    """The tokens of ``split`` ("train" or "val") as a read-only memory map."""
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}.")
    return np.memmap(meta.folder / f"{split}.bin", dtype=meta.dtype, mode="r")


# ----------------------------------------------------------------------------- batches
class RandomWindows:
    """Random (x, y) batches from a token array, reproducible from a seed.

    With several processes (DDP), ``shared=False`` gives each rank its own stream
    (seed + rank); ``shared=True`` has every rank draw the same stream of
    ``batch_size * world_size`` windows and keep its own slice, so that N processes see
    exactly the windows one process would see with N times the accumulation steps.

    >>> w = RandomWindows(np.arange(100), block_size=4, batch_size=2, seed=0)
    >>> x, y = w.next()
    >>> x.shape, bool((y[:, :-1] == x[:, 1:]).all())
    (torch.Size([2, 4]), True)
    """

    def __init__(self, tokens: np.ndarray, block_size: int, batch_size: int, *, seed: int,
                 rank: int = 0, world_size: int = 1, shared: bool = False, device: str = "cpu"):
        if len(tokens) <= block_size:
            raise ValueError(
                f"the data has {len(tokens)} tokens, too few for one window of block_size+1={block_size + 1}. "
                "Use a bigger corpus (max_chars=0) or a smaller block_size."
            )
        self.tokens, self.block_size, self.batch_size = tokens, block_size, batch_size
        self.rank, self.world_size, self.shared, self.device = rank, world_size, shared, device
        self.generator = torch.Generator().manual_seed(seed if shared else seed + rank)
        self._offsets = np.arange(block_size + 1)  # (T+1,)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        B, T = self.batch_size, self.block_size
        n = B * self.world_size if self.shared else B
        starts = torch.randint(
            len(self.tokens) - T, (n,), generator=self.generator
        ).numpy()  # (n,)
        if self.shared:
            starts = starts[self.rank * B:(self.rank + 1) * B]  # (B,) this rank's slice
        buf = torch.from_numpy(
            self.tokens[starts[:, None] + self._offsets].astype(np.int64)
        )  # (B, T+1)
        x, y = buf[:, :-1], buf[:, 1:]  # (B, T) each: y is x shifted by one
        if self.device.startswith("cuda"):
            return x.pin_memory().to(self.device, non_blocking=True), y.pin_memory().to(
                self.device, non_blocking=True
            )
        return x.contiguous(), y.contiguous()

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
