"""groundup.data: the built-in corpus, and verified downloads from a server on 127.0.0.1.

No test touches the real network: every download goes to an http.server started
here on port 0, or to a port that refuses connections, or to a host whose name
lookup is made to fail.
"""

import collections
import doctest
import hashlib
import logging
import os
import socket
import string
import subprocess
import sys

import pytest
from localhttp import serve

from groundup import data
from groundup.data import (
    TINY_SHAKESPEARE_SHA256,
    ChecksumError,
    Dataset,
    DatasetError,
    HTTPStatusError,
    OfflineError,
    UnknownDatasetError,
    builtin_corpus,
    builtin_corpus_path,
    builtin_documents,
    dataset_names,
    fetch,
    get_dataset,
    load_text,
    register,
)

# Real English, not a lorem ipsum: every byte value except a few, so a flipped or
# missing byte shows up in the hash. 64 KiB, a few chunks for pooch's downloader.
GOOD = ("To be, or not to be, that is the question. \u00e9\u00e8 \u2014 "
        * 1400).encode("utf-8")[: 64 * 1024]
GOOD_SHA = hashlib.sha256(GOOD).hexdigest()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.fixture(autouse=True)
def _isolated(data_sandbox):
    """Every test here: private registry, cache in tmp_path, no proxy before 127.0.0.1."""


def _register_good(name="demo_text"):
    return register(Dataset(name=name, url="https://example.invalid/never-used.txt",
                            sha256=GOOD_SHA, filename=f"{name}.txt",
                            description="A test file served from 127.0.0.1.",
                            size_bytes=len(GOOD)))


def _cache(tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir()
    return folder


# --- the built-in corpus ------------------------------------------------------


def test_builtin_corpus_is_a_deterministic_string_of_a_few_megabytes():
    text = builtin_corpus()
    assert isinstance(text, str)
    assert builtin_corpus() == text
    assert _sha(builtin_corpus()[:100_000]) == _sha(text[:100_000])
    # 3.11 on Linux: 1,870,333 characters (topics 465k + docstrings ~1.4M).
    assert 1_500_000 <= len(text) <= 6_000_000, len(text)
    assert 1_500_000 <= len(text.encode("utf-8")) <= 6_000_000
    assert text.startswith('The "assert" statement\n')


def test_builtin_corpus_is_the_same_in_a_fresh_interpreter_with_another_hash_seed():
    code = ("import hashlib; from groundup.data import builtin_corpus; "
            "print(hashlib.sha256(builtin_corpus().encode('utf-8')).hexdigest())")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True, timeout=120)
    assert out.stdout.strip() == _sha(builtin_corpus())


def test_builtin_corpus_ignores_what_libraries_patched_into_the_stdlib(monkeypatch):
    before = builtin_corpus()

    def patched_in(self):
        """A method that a third-party library added to logging.Logger at import time."""

    monkeypatch.setattr(logging.Logger, "patched_in", patched_in, raising=False)
    builtin_documents.cache_clear()
    data.builtin._builtin_corpus_text.cache_clear()
    after = builtin_corpus()
    assert after == before
    assert "third-party library added" not in after


def test_builtin_corpus_falls_back_to_this_process_with_a_warning(monkeypatch):
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    builtin_documents.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="clean Python"):
            docs = builtin_documents()
        assert docs[0][0] == "topic: assert" and len(docs) > 5000
    finally:
        builtin_documents.cache_clear()  # later tests get the child-process version


def test_max_chars_keeps_a_prefix():
    full = builtin_corpus()
    assert builtin_corpus(max_chars=1000) == full[:1000]
    assert len(builtin_corpus(max_chars=1000)) == 1000
    assert builtin_corpus(max_chars=0) == ""
    assert builtin_corpus(max_chars=10**9) == full
    for bad in (-1, 2.5, True, "100"):
        with pytest.raises(ValueError, match="max_chars"):
            builtin_corpus(max_chars=bad)


def test_builtin_corpus_is_mostly_printable_english():
    text = builtin_corpus()
    printable = set(string.printable)
    assert sum(ch in printable for ch in text) / len(text) > 0.99
    words = collections.Counter(text.lower().split())
    top = {w for w, _ in words.most_common(15)}
    assert {"the", "a", "of", "to", "and", "is"} <= top, top


def test_builtin_documents_are_the_corpus_in_order():
    docs = builtin_documents()
    titles = [title for title, _ in docs]
    assert sum(t.startswith("topic: ") for t in titles) == 78  # "if" and "else" share one
    assert titles[:78] == sorted(titles[:78])
    assert {"json.dumps", "builtins.len", "collections.OrderedDict"} <= set(titles)
    assert len({text for _, text in docs}) == len(docs)
    assert all(len(text) >= 40 and text == text.strip() for _, text in docs)
    assert builtin_corpus() == "\n\n".join(text for _, text in docs) + "\n"


def test_builtin_corpus_path_writes_the_corpus_once():
    path = builtin_corpus_path()
    assert path.parent == data.default_cache_dir()
    assert path.read_bytes().decode("utf-8") == builtin_corpus()
    stamp = path.stat().st_mtime_ns
    assert builtin_corpus_path() == path
    assert path.stat().st_mtime_ns == stamp
    path.write_text("damaged")
    assert builtin_corpus_path() == path
    assert path.read_bytes().decode("utf-8") == builtin_corpus()
    assert [p.name for p in path.parent.iterdir()] == [path.name]


@pytest.mark.parametrize("module", [data.builtin, data.download])
def test_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0


# --- the registry -------------------------------------------------------------


def test_tiny_shakespeare_is_registered_with_its_real_digest():
    ds = get_dataset("tiny_shakespeare")
    assert ds.sha256 == TINY_SHAKESPEARE_SHA256
    assert ds.size_bytes == 1_115_394
    assert ds.url.endswith("/char-rnn/master/data/tinyshakespeare/input.txt")
    assert "tiny_shakespeare" in dataset_names()


def test_unknown_name_lists_the_known_ones_and_suggests_a_close_one():
    with pytest.raises(UnknownDatasetError) as info:
        fetch("tiny_shakespear")
    msg = str(info.value)
    assert "'tiny_shakespear'" in msg and "tiny_shakespeare" in msg
    assert "Did you mean 'tiny_shakespeare'?" in msg
    assert isinstance(info.value, DatasetError) and isinstance(info.value, RuntimeError)


def test_register_is_idempotent_and_refuses_silent_overwrites():
    ds = _register_good()
    assert register(ds) is ds  # the same cell run twice
    other = Dataset("demo_text", "https://example.invalid/b.txt", "1" * 64, "b.txt", "B.", 1)
    with pytest.raises(DatasetError, match="'demo_text' is already registered"):
        register(other)
    register(other, replace=True)
    assert get_dataset("demo_text") == other
    with pytest.raises(TypeError, match="Dataset"):
        register({"name": "x"})


@pytest.mark.parametrize("field, value, match", [
    ("name", "Tiny Shakespeare", "name must use only"),
    ("url", "ftp://example.org/a.txt", "http:// or https://"),
    ("sha256", "sha256:" + "0" * 64, "'sha256:' prefix"),
    ("sha256", "0" * 32, "64 lowercase hex"),
    ("filename", "../a.txt", "bare file name"),
    ("size_bytes", -1, "size_bytes"),
])
def test_dataset_rejects_bad_fields_with_a_reason(field, value, match):
    fields = dict(name="ok", url="https://example.org/a.txt", sha256="0" * 64,
                  filename="a.txt", description="d", size_bytes=1)
    fields[field] = value
    with pytest.raises(ValueError, match=match):
        Dataset(**fields)


# --- downloads from 127.0.0.1 -------------------------------------------------


def test_fetch_downloads_verifies_and_caches(server, tmp_path):
    _register_good()
    url = serve(server, "/good.txt", GOOD)
    cache = _cache(tmp_path)
    path = fetch("demo_text", cache, url=url, progress=True)
    assert path == cache / "demo_text.txt"
    assert path.read_bytes() == GOOD
    assert server.hits["/good.txt"] == 1
    assert fetch("demo_text", cache, url=url, progress=False) == path
    assert load_text("demo_text", cache, url=url, progress=False) == GOOD.decode("utf-8")
    assert server.hits["/good.txt"] == 1  # served from the cache, re-hashed, not downloaded
    assert sorted(p.name for p in cache.iterdir()) == ["demo_text.txt"]


def test_fetch_uses_the_default_cache_dir(server):
    _register_good()
    path = fetch("demo_text", url=serve(server, "/good.txt", GOOD), progress=False)
    assert path.parent == data.default_cache_dir()
    assert path.read_bytes() == GOOD


def test_a_cached_file_that_changed_is_downloaded_again(server, tmp_path):
    _register_good()
    url = serve(server, "/good.txt", GOOD)
    cache = _cache(tmp_path)
    path = fetch("demo_text", cache, url=url, progress=False)
    path.write_bytes(GOOD[:-1] + b"!")
    assert fetch("demo_text", cache, url=url, progress=False).read_bytes() == GOOD
    assert server.hits["/good.txt"] == 2


def test_a_corrupted_download_raises_and_leaves_nothing(server, tmp_path):
    _register_good()
    bad = bytearray(GOOD)
    bad[1000:1004] = b"XXXX"  # same length, four bytes changed
    cache = _cache(tmp_path)
    with pytest.raises(ChecksumError) as info:
        fetch("demo_text", cache, url=serve(server, "/bad.txt", bytes(bad)), progress=False)
    msg = str(info.value)
    got = hashlib.sha256(bytes(bad)).hexdigest()
    assert "'demo_text'" in msg and GOOD_SHA in msg and got in msg
    assert "not kept" in msg and "bytes differ" in msg
    assert (info.value.expected, info.value.got) == (GOOD_SHA, got)
    assert list(cache.iterdir()) == []


def test_a_truncated_file_raises_and_leaves_nothing(server, tmp_path):
    _register_good()
    cache = _cache(tmp_path)
    with pytest.raises(ChecksumError) as info:
        fetch("demo_text", cache, url=serve(server, "/short.txt", GOOD[:30_000]),
              progress=False)
    msg = str(info.value)
    assert "'demo_text'" in msg and "30,000 of the expected 65,536 bytes" in msg
    assert hashlib.sha256(GOOD[:30_000]).hexdigest() in msg and "not kept" in msg
    assert list(cache.iterdir()) == []


def test_a_connection_that_breaks_mid_file_raises_and_leaves_nothing(server, tmp_path):
    _register_good()
    cache = _cache(tmp_path)
    url = serve(server, "/cut.txt", GOOD[:20_000], length=len(GOOD))  # promises 64 KiB
    with pytest.raises(ChecksumError) as info:
        fetch("demo_text", cache, url=url, progress=True)
    msg = str(info.value)
    assert "'demo_text'" in msg and "connection broke" in msg and "not kept" in msg
    assert "IncompleteRead(20000 bytes read, 45536 more expected)" in msg
    # the downloader writes whole 64 KiB chunks, so a partial last one never lands
    assert 0 <= info.value.received_bytes <= 20_000
    assert f"received {info.value.received_bytes:,} of the expected 65,536 bytes" in msg
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize("status, hint", [(404, "URL has a typo"), (500, "try again later")])
def test_an_http_error_names_the_status_and_the_url(server, tmp_path, status, hint):
    _register_good()
    cache = _cache(tmp_path)
    url = serve(server, "/gone.txt", b"oops", status=status)
    with pytest.raises(HTTPStatusError) as info:
        fetch("demo_text", cache, url=url, progress=False)
    msg = str(info.value)
    assert "'demo_text'" in msg and f"HTTP {status}" in msg and url in msg and hint in msg
    assert list(cache.iterdir()) == []


def _refusing_port():
    """A port that is bound but not listening: connecting to it is refused at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def test_a_refused_connection_says_offline_and_names_the_builtin_corpus(tmp_path):
    _register_good()
    cache = _cache(tmp_path)
    with _refusing_port() as sock:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/good.txt"
        with pytest.raises(OfflineError) as info:
            fetch("demo_text", cache, url=url, progress=False)
    msg = str(info.value)
    assert "'demo_text'" in msg and "you appear to be offline" in msg
    assert "[Errno 111] Connection refused" in msg or "refused" in msg.lower()
    assert "groundup.data.builtin_corpus()" in msg
    assert list(cache.iterdir()) == []


def test_a_failed_name_lookup_says_offline(monkeypatch, tmp_path):
    _register_good()
    cache = _cache(tmp_path)

    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(OfflineError, match="builtin_corpus") as info:
        fetch("demo_text", cache, url="http://data.example.invalid/good.txt", progress=False)
    assert "Name or service not known" in str(info.value)
    assert list(cache.iterdir()) == []


def test_offline_with_a_damaged_cached_file_removes_it(tmp_path):
    _register_good()
    cache = _cache(tmp_path)
    (cache / "demo_text.txt").write_bytes(GOOD[:100])
    with _refusing_port() as sock:
        with pytest.raises(OfflineError):
            fetch("demo_text", cache, url=f"http://127.0.0.1:{sock.getsockname()[1]}/x",
                  progress=False)
    assert list(cache.iterdir()) == []


def test_a_missing_cache_dir_is_created_and_a_failure_leaves_no_file(server, tmp_path):
    _register_good()
    cache = tmp_path / "not" / "yet"
    with pytest.raises(HTTPStatusError):
        fetch("demo_text", cache, url=server.base + "/nothing-here", progress=False)
    assert not cache.exists() or list(cache.iterdir()) == []
    assert fetch("demo_text", cache, url=serve(server, "/g.txt", GOOD),
                 progress=False).read_bytes() == GOOD


def test_fetch_rejects_a_url_that_is_not_http(tmp_path):
    _register_good()
    with pytest.raises(ValueError, match="http:// or https://"):
        fetch("demo_text", tmp_path, url="file:///etc/passwd")


def test_load_text_refuses_binary_with_a_reason(server, tmp_path):
    blob = bytes(range(256)) * 4
    register(Dataset("demo_blob", "https://example.invalid/b.bin",
                     hashlib.sha256(blob).hexdigest(), "b.bin", "Bytes.", len(blob)))
    url = serve(server, "/b.bin", blob)
    with pytest.raises(DatasetError, match="'demo_blob'.*not utf-8 text"):
        load_text("demo_blob", tmp_path, url=url, progress=False)
    assert fetch("demo_blob", tmp_path, url=url, progress=False).read_bytes() == blob
