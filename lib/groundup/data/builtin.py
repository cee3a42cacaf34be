"""The built-in corpus: Python's own documentation, real English with no download.

``builtin_corpus()`` is the documentation topics that ``help()`` shows followed by the
docstrings of the standard library. Tests, the book and the training pipeline use it,
so nothing they run depends on the network.

This file is also run as a bare script (``python -I -S builtin.py --builtin-documents``)
to read the docstrings in a clean interpreter, so at import time it uses only the
standard library.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import json
import os
import pathlib
import pkgutil
import subprocess
import sys
import tempfile
import warnings
from typing import Any

__all__ = ["builtin_corpus", "builtin_documents", "builtin_corpus_path", "STDLIB_MODULES"]

# ---------------------------------------------------------------------------
# The built-in corpus: Python's own documentation
# ---------------------------------------------------------------------------

# Standard-library modules whose docstrings join the corpus, in the order they are
# read. Fixed (not sys.stdlib_module_names) so the corpus does not change when a
# module is added upstream. Left out: modules with side effects on import
# (antigravity, this, turtle, tkinter, idlelib, readline, rlcompleter, curses,
# webbrowser), modules deprecated in 3.11 (they warn on import), POSIX-only
# modules (so Linux, macOS and Windows stay close), and the `test` package.
# A package brings its submodules along, except `encodings` (one codec table each).
STDLIB_MODULES: tuple[str, ...] = tuple(sorted("""
    abc argparse array ast asyncio atexit base64 bdb binascii bisect builtins bz2
    cProfile calendar cmath cmd code codecs codeop collections colorsys compileall
    concurrent configparser contextlib contextvars copy copyreg csv ctypes
    dataclasses datetime dbm decimal difflib dis doctest email encodings enum errno
    faulthandler filecmp fileinput fnmatch fractions ftplib functools gc
    genericpath getopt getpass gettext glob graphlib gzip hashlib heapq hmac html
    http imaplib importlib inspect io ipaddress itertools json keyword linecache
    locale logging lzma mailbox marshal math mimetypes mmap modulefinder
    multiprocessing netrc ntpath nturl2path numbers opcode operator optparse os
    pathlib pdb pickle pickletools pkgutil platform plistlib poplib posixpath
    pprint profile pstats py_compile pyclbr pydoc pyexpat queue quopri random re
    reprlib runpy sched secrets select selectors shelve shlex shutil signal site
    smtplib socket socketserver sqlite3 ssl stat statistics string stringprep
    struct subprocess symtable sys sysconfig tabnanny tarfile tempfile textwrap
    threading time timeit token tokenize tomllib trace traceback tracemalloc types
    typing unicodedata unittest urllib uuid venv warnings wave weakref wsgiref xml
    xmlrpc zipapp zipfile zipimport zlib zoneinfo
""".split()))
_NO_SUBMODULES = {"encodings"}
_SKIP_PARTS = {"__main__", "test", "tests"}  # unittest/__main__.py runs tests on import
_MIN_DOC_CHARS = 40  # shorter docstrings are mostly "Return self==value." boilerplate


def _import_all() -> list[Any]:
    """Import every module of STDLIB_MODULES and its submodules, sorted by name."""
    modules: dict[str, Any] = {}

    def visit(name: str) -> None:
        try:
            module = importlib.import_module(name)
        except Exception:  # absent from this build (e.g. dbm.gnu, sqlite3): skip
            return
        modules[name] = module
        if hasattr(module, "__path__") and name not in _NO_SUBMODULES:
            for info in sorted(pkgutil.iter_modules(module.__path__), key=lambda i: i.name):
                if info.name not in _SKIP_PARTS:
                    visit(f"{name}.{info.name}")

    for name in STDLIB_MODULES:
        visit(name)
    return [modules[name] for name in sorted(modules)]


def _docstrings(module: Any, known: set[str]) -> list[tuple[str, str]]:
    """(title, docstring) for a module, its functions, classes and their members.

    An object defined in another module of the list is left to that module (so a
    lazily exposed re-export cannot reorder the corpus), and only standard-library
    objects count (IPython adds ``display`` to ``builtins`` in a notebook).
    """
    out = [(module.__name__, inspect.getdoc(module))]

    def belongs(obj: Any) -> bool:
        home = getattr(obj, "__module__", None) or module.__name__
        if home != module.__name__ and home in known:
            return False
        return home.split(".")[0] in sys.stdlib_module_names

    def visit_class(cls: type, title: str, depth: int) -> None:
        out.append((title, inspect.getdoc(cls)))
        for attr, value in sorted(vars(cls).items()):
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if isinstance(value, property) or inspect.isroutine(value):
                out.append((f"{title}.{attr}", inspect.getdoc(value)))
            elif inspect.isclass(value) and depth < 2 and value.__qualname__.startswith(
                    cls.__qualname__ + "."):
                visit_class(value, f"{title}.{attr}", depth + 1)

    for attr, obj in sorted(vars(module).items()):
        try:
            if inspect.isclass(obj) and belongs(obj):
                visit_class(obj, f"{module.__name__}.{attr}", 0)
            elif inspect.isroutine(obj) and belongs(obj):
                out.append((f"{module.__name__}.{attr}", inspect.getdoc(obj)))
        except Exception:  # an exotic descriptor that refuses introspection
            continue
    return out


def _collect_documents() -> list[tuple[str, str]]:
    """Gather the corpus in this interpreter (``builtin_documents`` runs it in a clean one)."""
    docs: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(title: str, text: str | None) -> None:
        text = (text or "").strip()
        if len(text) >= _MIN_DOC_CHARS and text not in seen:
            seen.add(text)
            docs.append((title, text))

    try:
        from pydoc_data.topics import topics
    except ImportError:  # some Linux distributions package it separately
        topics = {}
    for key in sorted(topics):
        add(f"topic: {key}", topics[key])
    with warnings.catch_warnings():  # typing.io & co. warn when their docs are read
        warnings.simplefilter("ignore")
        modules = _import_all()
        known = {m.__name__ for m in modules}
        for module in modules:
            for title, text in _docstrings(module, known):
                add(title, text)
    return docs


@functools.lru_cache(maxsize=1)
def builtin_documents() -> tuple[tuple[str, str], ...]:
    """The built-in corpus as (title, text) documents, in corpus order.

    First the topics of ``pydoc_data.topics`` (titles like ``"topic: assert"``;
    78 distinct texts on 3.11, as "if" and "else" share one), then each distinct
    standard-library docstring of at least 40 characters, titled by where it was
    found (``"json.dumps"``). A good small collection for retrieval.

    The docstrings are read in a fresh ``python -I -S`` process: libraries imported
    here may have patched the standard library (``transformers`` adds methods to
    ``logging.Logger``, ``torch`` wraps ``inspect.getfile``), and ~470 imported
    modules need not stay in this process. If no child process can be started,
    the text is gathered here, with a warning that it may differ.

    >>> docs = builtin_documents()
    >>> docs[0][0], docs[0][1][:26]
    ('topic: assert', 'The "assert" statement\\n***')
    """
    try:
        done = subprocess.run([sys.executable, "-I", "-S", os.path.abspath(__file__),
                               "--builtin-documents"], capture_output=True, timeout=120,
                              check=True)
        docs = json.loads(done.stdout)
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        warnings.warn(f"could not start a clean Python to read the standard library "
                      f"({exc!r}); reading it in this process, so the built-in corpus may "
                      "differ from other runs", RuntimeWarning, stacklevel=2)
        docs = _collect_documents()
    return tuple((str(title), str(text)) for title, text in docs)


@functools.lru_cache(maxsize=1)
def _builtin_corpus_text() -> str:
    return "\n\n".join(text for _, text in builtin_documents()) + "\n"


def builtin_corpus(max_chars: int | None = None) -> str:
    """Real English text that ships with CPython: no download, same text every run.

    It is Python's documentation topics (``pydoc_data.topics``, what ``help("assert")``
    prints: 79 topics, 465k characters) followed by the docstrings of the
    ``STDLIB_MODULES`` and their submodules (each distinct docstring once), joined by
    blank lines. On CPython 3.11 on Linux that is about 1.9 million characters
    (1.9 MB of UTF-8, almost all ASCII). It is identical across runs and machines
    for one Python version and operating system, whatever this process imported
    first; another version has other docstrings. The first call reads ~470
    standard-library modules in a child process (about 0.5 s); later calls return
    the cached string.

    ``max_chars`` keeps only the first ``max_chars`` characters.

    >>> builtin_corpus(max_chars=22)
    'The "assert" statement'
    """
    if max_chars is not None and (isinstance(max_chars, bool) or not isinstance(max_chars, int)
                                  or max_chars < 0):
        raise ValueError(f"max_chars must be None or an int >= 0, got {max_chars!r}")
    text = _builtin_corpus_text()
    return text if max_chars is None else text[:max_chars]


def builtin_corpus_path(cache_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """Write the built-in corpus once as a UTF-8 file in the cache and return its path.

    The name carries the Python version and a hash of the text, e.g.
    ``builtin_corpus-py311-1a2b3c4d5e6f.txt``, so another Python never reuses it.
    The file is written to a temporary name and renamed, so it is never half there.
    """
    from groundup.data.download import _sha256_of, default_cache_dir  # not at the top: see below

    data = _builtin_corpus_text().encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    folder = default_cache_dir() if cache_dir is None else pathlib.Path(cache_dir).expanduser()
    path = folder / f"builtin_corpus-py{sys.version_info[0]}{sys.version_info[1]}-{digest[:12]}.txt"
    if path.is_file() and _sha256_of(path) == digest:
        return path
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".builtin_corpus-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise
    return path


if __name__ == "__main__" and sys.argv[1:] == ["--builtin-documents"]:
    sys.stdout.write(json.dumps(_collect_documents()))  # ASCII: json escapes the rest
