"""Downloads we can trust: a registry of files pinned by SHA-256, and ``fetch``.

``fetch(name)`` downloads a registered dataset (Tiny Shakespeare first) into a
cache folder and checks it against the SHA-256 digest we recorded for it. A file
that does not match is never kept, so a half-finished or altered download cannot
poison a later run. Every failure raises a ``DatasetError`` that names the
dataset and says what to do next.

Downloads go through ``pooch.retrieve``: our downloader streams into a temporary
file next to the target (with a tqdm bar), pooch moves it into place only after
the hash matches, and a cached file is hashed again on every ``fetch`` and
downloaded afresh if it changed.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os
import pathlib
import re
from typing import Any

__all__ = [
    "Dataset", "register", "get_dataset", "dataset_names", "default_cache_dir",
    "fetch", "load_text", "TINY_SHAKESPEARE_SHA256",
    "DatasetError", "UnknownDatasetError", "ChecksumError", "HTTPStatusError",
    "OfflineError",
]

# ---------------------------------------------------------------------------
# The registry of downloadable datasets
# ---------------------------------------------------------------------------

# SHA-256 of the char-rnn Tiny Shakespeare input.txt (1,115,394 bytes, 40,000 lines).
TINY_SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


@dataclasses.dataclass(frozen=True)
class Dataset:
    """One downloadable file, pinned by its SHA-256 digest.

    >>> Dataset("demo", "https://example.org/a.txt", "0" * 64, "a.txt", "A demo.", 3).name
    'demo'
    """

    name: str         # what learners type: fetch("tiny_shakespeare"); [a-z0-9_] only
    url: str          # where it is downloaded from (http:// or https://)
    sha256: str       # 64 lowercase hex digits of the file's SHA-256; the file must match
    filename: str     # its name inside the cache folder (no folders in it)
    description: str  # one sentence for humans: what it is, where it comes from
    size_bytes: int   # its size in bytes, to tell a cut-short download from a changed one

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9_]+", self.name or ""):
            raise ValueError(f"Dataset name must use only a-z, 0-9 and _, got {self.name!r}")
        if not re.fullmatch(r"https?://\S+", self.url or ""):
            raise ValueError(f"Dataset {self.name!r}: url must start with http:// or "
                             f"https://, got {self.url!r}")
        if not re.fullmatch(r"[0-9a-f]{64}", self.sha256 or ""):
            raise ValueError(
                f"Dataset {self.name!r}: sha256 must be 64 lowercase hex digits, got "
                f"{self.sha256!r}. Usual cause: a 'sha256:' prefix, upper case, or an MD5 "
                "(32 digits); compute it with hashlib.sha256(data).hexdigest().")
        if (not self.filename or self.filename in {".", ".."}
                or any(sep in self.filename for sep in "/\\")):
            raise ValueError(f"Dataset {self.name!r}: filename must be a bare file name, "
                             f"got {self.filename!r}")
        if isinstance(self.size_bytes, bool) or not isinstance(self.size_bytes, int) \
                or self.size_bytes < 0:
            raise ValueError(f"Dataset {self.name!r}: size_bytes must be an int >= 0, "
                             f"got {self.size_bytes!r}")


_REGISTRY: dict[str, Dataset] = {}


def register(dataset: Dataset, *, replace: bool = False) -> Dataset:
    """Add ``dataset`` to the registry so ``fetch(dataset.name)`` can find it.

    Registering the same entry twice is harmless (a notebook cell run again);
    a different entry under a taken name needs ``replace=True``.
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(f"register() expects a groundup.data.Dataset, got "
                        f"{type(dataset).__name__}")
    old = _REGISTRY.get(dataset.name)
    if old is not None and old != dataset and not replace:
        raise DatasetError(f"dataset {dataset.name!r} is already registered with other "
                           f"contents ({old.url}); pass replace=True to overwrite it")
    _REGISTRY[dataset.name] = dataset
    return dataset


def dataset_names() -> list[str]:
    """Names of the registered datasets, sorted: ``['tiny_shakespeare', ...]``."""
    return sorted(_REGISTRY)


def get_dataset(name: str) -> Dataset:
    """The registry entry for ``name``; ``UnknownDatasetError`` lists the known names."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), dataset_names(), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownDatasetError(
            f"unknown dataset {name!r}. Known datasets: {', '.join(dataset_names())}.{hint} "
            "A later chapter may add more with groundup.data.register(Dataset(...)).") from None


register(Dataset(
    name="tiny_shakespeare",
    url="https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
    sha256=TINY_SHAKESPEARE_SHA256,
    filename="tiny_shakespeare.txt",
    description="40,000 lines from Shakespeare's plays, the char-rnn corpus (Karpathy, 2015).",
    size_bytes=1_115_394,
))

# GPT-2's tokenizer: tiktoken's r50k_base ranks (50,256 byte sequences; <|endoftext|> is 50,256).
# The digest is the one tiktoken itself pins for this URL (tiktoken_ext/openai_public.py);
# the size is not recorded, so a cut-short download is reported as a changed file.
register(Dataset(
    name="r50k_base",
    url="https://openaipublic.blob.core.windows.net/encodings/r50k_base.tiktoken",
    sha256="306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",  # = tokenizer.GPT2_SHA256
    filename="r50k_base.tiktoken",
    description="GPT-2's byte-level BPE ranks (Radford et al. 2019), as tiktoken's r50k_base.",
    size_bytes=0,
))


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


class DatasetError(RuntimeError):
    """Anything that went wrong finding, downloading or checking a dataset."""


class UnknownDatasetError(DatasetError):
    """No dataset of that name is registered."""


class ChecksumError(DatasetError):
    """The downloaded bytes are not the recorded file (changed or cut short)."""

    expected: str = ""       # the SHA-256 recorded in the registry
    got: str = ""            # the SHA-256 of the bytes that arrived
    received_bytes: int = 0  # how many bytes arrived before the check failed


class HTTPStatusError(DatasetError):
    """The server answered with an error status such as 404."""


class OfflineError(DatasetError):
    """The server could not be reached at all (no network, DNS, refused, timed out)."""


# ---------------------------------------------------------------------------
# Downloads
# ---------------------------------------------------------------------------


def default_cache_dir() -> pathlib.Path:
    """``$GROUNDUP_CACHE`` if set, else ``~/.cache/groundup``."""
    env = os.environ.get("GROUNDUP_CACHE")
    return pathlib.Path(env).expanduser() if env else pathlib.Path.home() / ".cache" / "groundup"


def _sha256_of(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class _Downloader:
    """A pooch downloader: streams ``url`` into the temporary file pooch hands it.

    pooch.retrieve still does the rest (temporary file, SHA-256 check, move into
    place, re-check of a cached file). We stream ourselves rather than use
    pooch.HTTPDownloader because that one leaves the connection open when a
    download fails (a ResourceWarning later) and we want the bytes received and
    their hash, to tell a cut-short download from a changed file.
    """

    def __init__(self, dataset: Dataset, progress: bool, timeout: float = 30.0) -> None:
        self.dataset, self.progress, self.timeout = dataset, progress, timeout
        self.nbytes, self.sha256 = 0, hashlib.sha256(b"").hexdigest()

    def __call__(self, url: str, output_file: str, pooch_obj: Any = None) -> None:
        import requests
        from tqdm.auto import tqdm

        sha, self.nbytes = hashlib.sha256(), 0
        with requests.get(url, stream=True, timeout=self.timeout) as response, \
                open(output_file, "wb") as f:
            response.raise_for_status()
            # The registry's size, not Content-Length: a gzip-encoded reply is smaller.
            total = self.dataset.size_bytes or int(response.headers.get("content-length", 0))
            with tqdm(total=total or None, desc=self.dataset.name, unit="B", unit_scale=True,
                      disable=not self.progress) as bar:
                try:
                    for chunk in response.iter_content(chunk_size=1 << 16):
                        f.write(chunk)
                        sha.update(chunk)
                        self.nbytes += len(chunk)
                        bar.update(len(chunk))
                finally:
                    self.sha256 = sha.hexdigest()


def _reason(exc: BaseException) -> str:
    """The first message inside an exception (requests nests urllib3's in tuples)."""
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop(0)
        if isinstance(item, str):
            return item
        todo.extend(item if isinstance(item, (tuple, list)) else getattr(item, "args", ()))
    return type(exc).__name__


def _explain(exc: BaseException, ds: Dataset, url: str, got: _Downloader) -> DatasetError | None:
    """Turn what pooch/requests raised into a DatasetError a learner can act on."""
    import requests

    what = f"downloading dataset {ds.name!r} from {url} failed"
    not_kept = "The file was not kept."
    of = f" of the expected {ds.size_bytes:,}" if ds.size_bytes else ""  # 0: size not recorded
    cut = (f"received {got.nbytes:,}{of} bytes, so the download was cut short "
           "(usual cause: a dropped connection; run fetch again)")
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        code, reason = exc.response.status_code, exc.response.reason
        hint = ("the file moved or the URL has a typo; check "
                f"groundup.data.get_dataset({ds.name!r}).url or pass url= a mirror"
                if code in (403, 404, 410) else "the server has a problem; try again later")
        return HTTPStatusError(f"{what}: the server answered HTTP {code} ({reason}). "
                               f"Usual cause: {hint}.")
    if isinstance(exc, ValueError) and "hash" in str(exc).lower():  # pooch's mismatch
        why = (cut if got.nbytes < ds.size_bytes else
               "the bytes differ from the recorded file (usual cause: the file changed "
               "upstream, or a proxy or captive portal answered instead of the server)")
        err = ChecksumError(f"{what}: SHA-256 mismatch, expected {ds.sha256}, got "
                            f"{got.sha256}; {why}. {not_kept}")
    elif isinstance(exc, requests.exceptions.ChunkedEncodingError) or (
            isinstance(exc, requests.ConnectionError) and got.nbytes > 0):
        err = ChecksumError(f"{what}: the connection broke mid-file ({_reason(exc)}); {cut}. "
                            f"Expected SHA-256 {ds.sha256}, got {got.sha256} for the "
                            f"partial file. {not_kept}")
    elif isinstance(exc, requests.exceptions.SSLError):
        return DatasetError(f"{what}: the TLS certificate check failed ({exc}). Usual cause: "
                            "a corporate proxy or an outdated certificate store. Offline, "
                            "use groundup.data.builtin_corpus() instead.")
    elif isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        errno = re.search(r"\[Errno -?\d+\][^'\")]*", str(exc))  # "[Errno 111] Connection refused"
        why = errno.group(0).strip() if errno else f"{type(exc).__name__}: {_reason(exc)}"
        return OfflineError(f"{what}: could not reach the server ({why}); you appear to be "
                            "offline; use groundup.data.builtin_corpus() instead.")
    elif isinstance(exc, requests.RequestException):
        return DatasetError(f"{what}: {type(exc).__name__}: {exc}")
    else:
        return None
    err.expected, err.got, err.received_bytes = ds.sha256, got.sha256, got.nbytes
    return err


def fetch(name: str, cache_dir: str | os.PathLike | None = None, *, url: str | None = None,
          progress: bool = True) -> pathlib.Path:
    """Download dataset ``name`` into the cache (once), verify it, return its path.

    The file lands in ``cache_dir`` (default: ``default_cache_dir()``) under
    ``get_dataset(name).filename``. If it is already there, it is hashed again and
    returned without touching the network; if it no longer matches, it is
    downloaded again. ``url`` replaces the registered address (a mirror; the tests
    point it at 127.0.0.1); the SHA-256 check stays the same. ``progress`` shows a
    tqdm bar while downloading.

    Raises ``UnknownDatasetError``, ``ChecksumError`` (changed or truncated file),
    ``HTTPStatusError`` (e.g. 404) or ``OfflineError`` (no connection), all
    ``DatasetError``. After a failure nothing of the download is left in the cache.

    >>> path = fetch("tiny_shakespeare")  # doctest: +SKIP
    >>> path.name, path.stat().st_size  # doctest: +SKIP
    ('tiny_shakespeare.txt', 1115394)
    """
    import pooch

    ds = get_dataset(name)
    source = ds.url if url is None else url
    if not isinstance(source, str) or not re.fullmatch(r"https?://\S+", source):
        raise ValueError(f"fetch({name!r}): url must start with http:// or https://, "
                         f"got {source!r}")
    folder = default_cache_dir() if cache_dir is None else pathlib.Path(cache_dir).expanduser()
    folder = folder.resolve()
    target = folder / ds.filename
    got = _Downloader(ds, progress)
    try:
        path = pooch.retrieve(source, known_hash=f"sha256:{ds.sha256}", fname=ds.filename,
                              path=folder, downloader=got)
    except BaseException as exc:
        # pooch already deletes its temporary file; a cached file that failed its
        # re-check and could not be replaced is known to be bad, so it goes too.
        if target.is_file() and _sha256_of(target) != ds.sha256:
            target.unlink(missing_ok=True)
        err = _explain(exc, ds, source, got) if isinstance(exc, Exception) else None
        if err is None:
            raise
        raise err from exc
    return pathlib.Path(path)


def load_text(name: str, cache_dir: str | os.PathLike | None = None, *, url: str | None = None,
              progress: bool = True, encoding: str = "utf-8") -> str:
    """``fetch(name, ...)`` and return the file's text, byte for byte (no newline rewriting).

    >>> text = load_text("tiny_shakespeare")  # doctest: +SKIP
    >>> text[:14], len(text)  # doctest: +SKIP
    ('First Citizen:', 1115394)
    """
    path = fetch(name, cache_dir, url=url, progress=progress)
    try:
        return path.read_bytes().decode(encoding)
    except UnicodeDecodeError as exc:
        raise DatasetError(f"dataset {name!r} ({path}) is not {encoding} text: {exc}. "
                           "Use fetch() for its path if it is a binary file.") from None
