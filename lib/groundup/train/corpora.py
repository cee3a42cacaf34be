"""Which text to train on: the built-in corpus, a file of yours, or a verified download.

``load_corpus(name)`` accepts ``"builtin"`` (Python's documentation, no network), the
path of a UTF-8 text file, or the name of a ``groundup.data`` dataset. It also knows
the TinyStories files (Eldan & Li 2023) that the ``gpt2-124m`` preset trains on.

TinyStories lives on the Hugging Face Hub, where a large file is stored with Git LFS:
the repository holds a ~130-byte *pointer* instead of the file,

    version https://git-lfs.github.com/spec/v1
    oid sha256:<64 hex digits: the SHA-256 of the real file>
    size <bytes>

so the publisher's own SHA-256 of every file can be read before downloading it. We
record the files' sizes here (and their digests, once verified: then no pointer is read);
``tinystories_dataset`` reads the pointer, refuses a file
whose size is not the recorded one (it changed upstream), and registers a
``groundup.data.Dataset`` with the pointer's digest, so the 2.2 GB download is checked
like any other (a cut-short or altered file is never kept).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from groundup import data as gdata

#: Where the Hub is. ``HF_ENDPOINT`` (the variable ``huggingface_hub`` also reads) names a
#: mirror; the tests point it at 127.0.0.1.
DEFAULT_HF_ENDPOINT = "https://huggingface.co"

TINYSTORIES_REPO = "roneneldan/TinyStories"
#: name -> (file in the dataset repository, size in bytes, pinned SHA-256 or None). The V2
#: files hold only stories written by GPT-4; sizes as recorded by several independent public
#: sources. No digest is pinned yet (none could be checked offline): until one is, it is read
#: from the Hub's LFS pointer at download time.
TINYSTORIES_FILES: dict[str, tuple[str, int, str | None]] = {
    "tinystories": ("TinyStoriesV2-GPT4-train.txt", 2_227_753_162, None),
    "tinystories_valid": ("TinyStoriesV2-GPT4-valid.txt", 22_502_601, None),
}


def hf_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", DEFAULT_HF_ENDPOINT).rstrip("/")


def hub_file_url(repo: str, filename: str, *, kind: str = "resolve", revision: str = "main") -> str:
    """``resolve`` = the file itself; ``raw`` = what git stores (the LFS pointer for a large file)."""
    return f"{hf_endpoint()}/datasets/{repo}/{kind}/{revision}/{filename}"


def hub_lfs_pointer(
    repo: str, filename: str, *, revision: str = "main", timeout: float = 30.0
) -> tuple[str, int]:
    """(sha256, size) of a large file in a Hub dataset, read
    from its Git LFS pointer."""
    import requests

    url = hub_file_url(repo, filename, kind="raw", revision=revision)
    fallback = (
        f"Download {hub_file_url(repo, filename, revision=revision)} yourself and pass "
        f"its path (data=/path/to/{filename})."
    )
    try:
        response = requests.get(url, timeout=timeout)
        response.raise_for_status()
    except requests.HTTPError as exc:
        raise gdata.HTTPStatusError(
            f"reading the checksum of {filename} from {url} failed: HTTP "
            f"{exc.response.status_code}. {fallback}"
        ) from None
    except requests.RequestException as exc:
        raise gdata.OfflineError(
            f"reading the checksum of {filename} from {url} failed: could not reach "
            f"the server ({type(exc).__name__}); you appear to be offline. {fallback}"
        ) from None
    text = response.text[:1000]
    oid = re.search(r"^oid sha256:([0-9a-f]{64})\s*$", text, re.MULTILINE)
    size = re.search(r"^size (\d+)\s*$", text, re.MULTILINE)
    if not (text.startswith("version https://git-lfs") and oid and size):
        raise gdata.DatasetError(
            f"{url} is not a Git LFS pointer (it starts {text[:60]!r}), so the SHA-256 "
            f"of {filename} is unknown and the download cannot be verified. {fallback}"
        )
    return oid.group(1), int(size.group(1))


def tinystories_dataset(name: str) -> gdata.Dataset:
    """Register TinyStories file ``name`` with ``groundup.data``: its pinned digest if
    there is one, else the digest of the Hub's LFS pointer, after
    checking the pointer's size."""
    filename, size, sha256 = TINYSTORIES_FILES[name]
    if sha256 is None:
        sha256, hub_size = hub_lfs_pointer(TINYSTORIES_REPO, filename)
        if hub_size != size:
            raise gdata.DatasetError(
                f"the Hub says {filename} has {hub_size:,} bytes; the course recorded "
                f"{size:,}. The file changed upstream, so this course's numbers would "
                "not hold for it. To train on it anyway, download "
                f"{hub_file_url(TINYSTORIES_REPO, filename)} and pass its path "
                f"(data=/path/to/{filename})."
            )
    return gdata.register(
        gdata.Dataset(
            name=name,
            url=hub_file_url(TINYSTORIES_REPO, filename),
            sha256=sha256,
            filename=filename,
            description=f"TinyStories V2 (Eldan & Li 2023): {filename}",
            size_bytes=size,
        ),
        replace=True,
    )


def load_corpus(name: str, max_chars: int = 0, *, progress: bool = True) -> str:
    """The text of a corpus: ``"builtin"``, a path to a UTF-8 file, ``"tinystories"``,
    ``"tinystories_valid"`` or another ``groundup.data`` name (downloaded once through
    ``groundup.data.fetch`` and checked against its SHA-256)."""
    if name == "builtin":
        text = gdata.builtin_corpus()
    elif Path(name).is_file():
        text = Path(name).read_text(encoding="utf-8")
    else:
        if name in TINYSTORIES_FILES and name not in gdata.dataset_names():
            tinystories_dataset(name)  # one small request for the digest, then fetch as usual
        text = gdata.fetch(name, progress=progress).read_text(encoding="utf-8")
    return text[:max_chars] if max_chars > 0 else text
