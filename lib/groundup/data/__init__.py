"""Text to learn from: a corpus that ships with Python, and downloads we can trust.

* :mod:`~groundup.data.builtin` — ``builtin_corpus()`` needs no network at all. It is
  real English prose written by the Python developers: the documentation topics that
  ``help()`` shows, followed by the docstrings of the standard library. Tests, the
  book and the training pipeline use it, so nothing they run depends on a download.
* :mod:`~groundup.data.download` — ``fetch(name)`` downloads a registered dataset
  (Tiny Shakespeare first) into a cache folder and checks it against the SHA-256
  digest we recorded for it. A file that does not match is never kept, and every
  failure raises a ``DatasetError`` that names the dataset and says what to do next.
"""

from groundup.data.builtin import STDLIB_MODULES, builtin_corpus, builtin_corpus_path, builtin_documents
from groundup.data.download import (
    TINY_SHAKESPEARE_SHA256,
    ChecksumError,
    Dataset,
    DatasetError,
    HTTPStatusError,
    OfflineError,
    UnknownDatasetError,
    dataset_names,
    default_cache_dir,
    fetch,
    get_dataset,
    load_text,
    register,
)

__all__ = [
    "builtin_corpus", "builtin_documents", "builtin_corpus_path", "STDLIB_MODULES",
    "Dataset", "register", "get_dataset", "dataset_names", "default_cache_dir",
    "fetch", "load_text", "TINY_SHAKESPEARE_SHA256",
    "DatasetError", "UnknownDatasetError", "ChecksumError", "HTTPStatusError",
    "OfflineError",
]
