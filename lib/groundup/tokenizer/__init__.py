"""Byte-level BPE tokenization (Chapter 1, "Tokens").

* :mod:`~groundup.tokenizer.bpe` — split patterns, ``get_stats``, ``merge``, the encode rules
* :mod:`~groundup.tokenizer.train` — ``train_naive`` (taught) and ``train_fast`` (same merges)
* :mod:`~groundup.tokenizer.core` — the ``Tokenizer`` class
* :mod:`~groundup.tokenizer.tiktoken_compat` — tiktoken rank files, ``load_cl100k`` and ``load_gpt2``
"""

from groundup.tokenizer.bpe import (
    GPT2_SPLIT_PATTERN,
    GPT4_SPLIT_PATTERN,
    build_vocab,
    encode_chunk_with_merges,
    encode_chunk_with_ranks,
    get_stats,
    merge,
    split_chunks,
)
from groundup.tokenizer.core import Tokenizer
from groundup.tokenizer.tiktoken_compat import (
    CL100K_SHA256,
    CL100K_SPECIAL_TOKENS,
    GPT2_SHA256,
    load_cl100k,
    load_gpt2,
    read_tiktoken_ranks,
)
from groundup.tokenizer.train import train_fast, train_naive

__all__ = [
    "GPT2_SPLIT_PATTERN",
    "GPT4_SPLIT_PATTERN",
    "CL100K_SHA256",
    "CL100K_SPECIAL_TOKENS",
    "GPT2_SHA256",
    "Tokenizer",
    "build_vocab",
    "encode_chunk_with_merges",
    "encode_chunk_with_ranks",
    "get_stats",
    "load_cl100k",
    "load_gpt2",
    "merge",
    "read_tiktoken_ranks",
    "split_chunks",
    "train_fast",
    "train_naive",
]
