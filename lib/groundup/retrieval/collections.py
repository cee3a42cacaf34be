"""Judged collections in the BEIR layout: load, check, write, download, and the course's own.

BEIR (Thakur et al. 2021) stores a collection as a folder:

    corpus.jsonl        one JSON object a line: {"_id": "d1", "title": "...", "text": "..."}
    queries.jsonl       one JSON object a line: {"_id": "q1", "text": "..."}
    qrels/test.tsv      a header line "query-id<TAB>corpus-id<TAB>score", then one judgement a line

``load_beir(path, split)`` reads such a folder and checks it as it goes: a malformed line
stops the load with an error that names the file and the line (``CollectionError``).
Only the queries judged in the split are kept. A judgement of a document that is not in
the corpus is kept (the document is relevant; no retriever can find it) with a warning.

``course_collection()`` is the course's own small collection, built offline and
deterministically from the built-in corpus (Python's documentation; see
``groundup.embeddings.corpus.retrieval_set``): a query is the one-line summary of a
standard-library docstring, and

* grade 2: the docstring's next paragraph (its *gold passage*);
* grade 1: any other paragraph of the same docstring that is in the collection;

the rest of the collection is paragraphs drawn at random from the whole corpus. Judgements
come from the structure of the text, not from any retriever, so no system is favoured by
how they were made (unlike the pooled judgements of TREC-style collections).

``download_beir(name)`` fetches a BEIR collection by name (a zip pinned by SHA-256 in
``groundup.data``'s registry), unpacks it into the cache and returns its folder.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
import warnings
import zipfile
from pathlib import Path

from groundup.retrieval.base import Collection, Qrels

__all__ = ["CollectionError", "load_beir", "write_beir", "course_collection", "BEIR_COLLECTIONS", "download_beir",
           "load_collection"]

QRELS_HEADER = ("query-id", "corpus-id", "score")


class CollectionError(ValueError):
    """A BEIR-layout folder that cannot be read: missing file, malformed line, unknown id."""


# ---------------------------------------------------------------------------
# Reading and writing a BEIR folder
# ---------------------------------------------------------------------------


def _read_jsonl(path: Path, required: tuple[str, ...]) -> dict[str, dict[str, str]]:
    if not path.is_file():
        raise CollectionError(f"{path} is missing: a BEIR collection folder holds corpus.jsonl, queries.jsonl "
                              "and qrels/<split>.tsv")
    out: dict[str, dict[str, str]] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path.name} line {n}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CollectionError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno}); each line "
                                      "must be one JSON object") from None
            if not isinstance(row, dict):
                raise CollectionError(f"{where}: expected a JSON object like {{\"_id\": ..., \"text\": ...}}, got "
                                      f"{type(row).__name__}")
            for key in required:
                if key not in row:
                    raise CollectionError(f"{where}: no {key!r} field (fields present: {sorted(row)})")
            doc_id = row["_id"]
            if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)) or str(doc_id) == "":
                raise CollectionError(f"{where}: '_id' must be a non-empty string, got {doc_id!r}")
            doc_id = str(doc_id)
            if doc_id in out:
                raise CollectionError(f"{where}: duplicate _id {doc_id!r}")
            fields = {}
            for key in ("title", "text"):
                value = row.get(key, "")
                if value is None:
                    value = ""
                if not isinstance(value, str):
                    raise CollectionError(f"{where}: {key!r} must be a string, got {type(value).__name__}")
                fields[key] = value
            fields.update((k, v) for k, v in row.items() if k not in ("_id", "title", "text") and isinstance(v, str))
            out[doc_id] = fields
    return out


def _read_qrels(path: Path) -> tuple[Qrels, int]:
    """The judgements of one split, and how many rows there were."""
    if not path.is_file():
        have = sorted(p.stem for p in path.parent.glob("*.tsv")) if path.parent.is_dir() else []
        raise CollectionError(f"{path} is missing" + (f"; the splits here are {have}" if have else
                                                     ": judgements go in qrels/<split>.tsv"))
    qrels: Qrels = {}
    rows = 0
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\r\n").split("\t")
        if [h.strip().lower() for h in header] != list(QRELS_HEADER):
            raise CollectionError(f"{path.name} line 1: expected the header 'query-id<TAB>corpus-id<TAB>score', got "
                                  f"{chr(9).join(header)!r}")
        for n, line in enumerate(f, 2):
            if not line.strip():
                continue
            cells = line.rstrip("\r\n").split("\t")
            where = f"{path.name} line {n}"
            if len(cells) != 3:
                raise CollectionError(f"{where}: expected 3 tab-separated fields (query-id, corpus-id, score), got "
                                      f"{len(cells)}: {line.strip()[:80]!r}")
            q, d, score = (c.strip() for c in cells)
            try:
                grade = int(score)
            except ValueError:
                raise CollectionError(f"{where}: the score must be an integer grade (0 = not relevant), got "
                                      f"{score!r}") from None
            if d in qrels.setdefault(q, {}):
                raise CollectionError(f"{where}: query {q!r} judges document {d!r} a second time")
            qrels[q][d] = grade
            rows += 1
    return qrels, rows


def load_beir(path: str | os.PathLike, split: str = "test", *, name: str | None = None) -> Collection:
    """Read a BEIR-layout folder; raise ``CollectionError`` naming the file and line of any malformed input."""
    root = Path(path)
    if not root.is_dir():
        raise CollectionError(f"{root} is not a folder: a BEIR collection is a folder with corpus.jsonl, "
                              "queries.jsonl and qrels/<split>.tsv")
    corpus = _read_jsonl(root / "corpus.jsonl", ("_id",))
    if not corpus:
        raise CollectionError(f"{root / 'corpus.jsonl'} holds no documents")
    all_queries = _read_jsonl(root / "queries.jsonl", ("_id", "text"))
    qrels, _ = _read_qrels(root / "qrels" / f"{split}.tsv")
    unknown = [q for q in qrels if q not in all_queries]
    if unknown:
        raise CollectionError(f"qrels/{split}.tsv judges {len(unknown)} quer{'y' if len(unknown) == 1 else 'ies'} "
                              f"that queries.jsonl does not have, e.g. {unknown[0]!r}")
    missing = sum(1 for j in qrels.values() for d in j if d not in corpus)
    if missing:
        warnings.warn(f"{root.name}: {missing} judgement(s) in qrels/{split}.tsv name documents that are not in "
                      "corpus.jsonl; they are kept (no retriever can find them)", stacklevel=2)
    queries = {q: all_queries[q]["text"] for q in qrels}
    return Collection(name=name or root.name, corpus=corpus, queries=queries, qrels=qrels, split=split,
                      metadata={"path": str(root)})


def write_beir(collection: Collection, path: str | os.PathLike) -> Path:
    """Write ``collection`` as a BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv); returns it."""
    root = Path(path)
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    with open(root / "corpus.jsonl", "w", encoding="utf-8") as f:
        for doc_id, doc in collection.corpus.items():
            f.write(json.dumps({"_id": doc_id, **doc}, ensure_ascii=False) + "\n")
    with open(root / "queries.jsonl", "w", encoding="utf-8") as f:
        for q, text in collection.queries.items():
            f.write(json.dumps({"_id": q, "text": text}, ensure_ascii=False) + "\n")
    with open(root / "qrels" / f"{collection.split}.tsv", "w", encoding="utf-8") as f:
        f.write("\t".join(QRELS_HEADER) + "\n")
        for q, judgments in collection.qrels.items():
            for d, grade in judgments.items():
                f.write(f"{q}\t{d}\t{grade}\n")
    return root


# ---------------------------------------------------------------------------
# The course's own collection
# ---------------------------------------------------------------------------


COURSE_COLLECTION_VERSION = "1"  # bump when the construction below changes: a new cache entry


@functools.lru_cache(maxsize=4)
def course_collection(n_queries: int = 400, n_passages: int = 4000, seed: int = 0, *, cache: bool = True) -> Collection:
    """The course's judged collection: docstring summaries as queries over paragraphs of Python's docs.

    Built offline from ``groundup.data.builtin_documents()``, the same on every run of the
    same Python version; with ``cache`` the folder is written once under
    ``$GROUNDUP_CACHE/retrieval/`` (BEIR layout) and read back in a fraction of a second
    after. Query ids ``q0000...``, document ids ``p00000...``; each document keeps where it
    came from in a ``"source"`` field (e.g. ``"json.dumps"``), which retrievers do not index
    (``Collection.doc_texts`` is title + text, and the title is empty). Grades: 2 for the
    gold passage, 1 for another paragraph of the same docstring.
    """
    import hashlib
    import sys

    key = hashlib.sha256(json.dumps([COURSE_COLLECTION_VERSION, sys.version, n_queries, n_passages, seed]).encode())
    folder = _cache_root() / "retrieval" / f"course-{key.hexdigest()[:16]}"
    meta = {"source": "groundup.retrieval.course_collection", "n_queries": str(n_queries),
            "n_passages": str(n_passages), "seed": str(seed)}
    if cache and (folder / "qrels" / "test.tsv").is_file():
        try:
            c = load_beir(folder, "test", name="course")
            return Collection(name="course", corpus=c.corpus, queries=c.queries, qrels=c.qrels, metadata=meta)
        except CollectionError:  # a damaged cache entry: build it again
            pass
    collection = _build_course_collection(n_queries, n_passages, seed, meta)
    if cache:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".course-", dir=folder.parent))
        try:
            write_beir(collection, tmp)
            shutil.rmtree(folder, ignore_errors=True)
            tmp.rename(folder)
        except OSError:
            pass  # another process wrote it first, or a read-only cache: the collection is still returned
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return collection


def _cache_root() -> Path:
    env = os.environ.get("GROUNDUP_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "groundup"


def _build_course_collection(n_queries: int, n_passages: int, seed: int, meta: dict[str, str]) -> Collection:
    from groundup.embeddings.corpus import retrieval_set

    rs = retrieval_set(n_queries=n_queries, n_passages=n_passages, seed=seed)
    doc_ids = [f"p{j:05d}" for j in range(len(rs.passages))]
    corpus = {d: {"title": "", "text": p, "source": s} for d, p, s in zip(doc_ids, rs.passages, rs.passage_titles)}
    by_source: dict[str, list[str]] = {}
    for d, s in zip(doc_ids, rs.passage_titles):
        by_source.setdefault(s, []).append(d)
    queries, qrels = {}, {}
    for i, (q, title) in enumerate(zip(rs.queries, rs.query_titles)):
        qid = f"q{i:04d}"
        gold = doc_ids[int(rs.gold[i])]
        queries[qid] = q
        qrels[qid] = {gold: 2}
        qrels[qid].update((d, 1) for d in by_source.get(title, []) if d != gold)
    return Collection(name="course", corpus=corpus, queries=queries, qrels=qrels, split="test", metadata=meta)


# ---------------------------------------------------------------------------
# BEIR collections by name
# ---------------------------------------------------------------------------

BEIR_URL = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/{name}.zip"

# name -> (SHA-256 of the zip, what it is). The digests are those that two independent
# public projects each record for these URLs; the course could not download the files
# itself (no network where it is built), so the first download is also their first check.
BEIR_COLLECTIONS = {
    "scifact": ("536e14446a0ba56ed1398ab1055f39fe852686ecad24a6306c80c490fa8e0165",
                "SciFact (Wadden et al. 2020): 5,183 abstracts, 300 test claims, BEIR layout."),
    "nfcorpus": ("efe5be03f8c5b86a5870102d0599d227c8c6e2484328e68c6522560385671b0b",
                 "NFCorpus (Boteva et al. 2016): 3,633 medical documents, 323 test queries, BEIR layout."),
}


def _register_beir() -> None:
    from groundup.data import download

    for name, (sha256, description) in BEIR_COLLECTIONS.items():
        ds = download.Dataset(name=f"beir_{name}", url=BEIR_URL.format(name=name), sha256=sha256,
                              filename=f"beir_{name}.zip", description=description, size_bytes=0)
        if download._REGISTRY.get(ds.name) is None:
            download.register(ds)


def _safe_extract(zip_path: Path, dest: Path) -> None:
    """Unzip into ``dest``, refusing members that would land outside it."""
    with zipfile.ZipFile(zip_path) as z:
        for member in z.namelist():
            target = (dest / member).resolve()
            if not str(target).startswith(str(dest.resolve()) + os.sep) and target != dest.resolve():
                raise CollectionError(f"{zip_path.name}: member {member!r} would unpack outside {dest}")
        z.extractall(dest)


def download_beir(name: str, cache_dir: str | os.PathLike | None = None, *, url: str | None = None,
                  progress: bool = True) -> Path:
    """Download BEIR collection ``name`` (checked by SHA-256), unpack it, return its folder.

    The zip goes through ``groundup.data.fetch`` (a file that fails its checksum is never
    kept: ``ChecksumError``); it is unpacked into a temporary folder next to the target and
    moved into place only when complete, so a failed unpack leaves nothing behind. A second
    call finds the folder and does not touch the network. ``url`` replaces the address
    (a mirror; the tests point it at 127.0.0.1).
    """
    from groundup.data import download

    _register_beir()
    key = f"beir_{name}"
    download.get_dataset(key)  # UnknownDatasetError (listing the known names) for a name we do not have
    root = (Path(cache_dir) if cache_dir is not None else download.default_cache_dir()).expanduser().resolve()
    folder = root / "beir" / name
    if (folder / "corpus.jsonl").is_file():
        return folder
    zip_path = download.fetch(key, root, url=url, progress=progress)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=folder.parent))
    try:
        try:
            _safe_extract(zip_path, tmp)
        except zipfile.BadZipFile as exc:
            raise CollectionError(f"{zip_path} is not a valid zip file ({exc})") from None
        inner = tmp / name if (tmp / name / "corpus.jsonl").is_file() else tmp
        if not (inner / "corpus.jsonl").is_file():
            raise CollectionError(f"{zip_path.name} has no {name}/corpus.jsonl: not a BEIR collection")
        inner.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def load_collection(name_or_path: str | os.PathLike, split: str = "test", *, progress: bool = True) -> Collection:
    """``"course"``, a BEIR folder, or a BEIR collection's name (downloaded once, then cached)."""
    if str(name_or_path) == "course":
        if split != "test":
            raise CollectionError(f"the course collection has one split, 'test'; got split={split!r}")
        return course_collection()
    path = Path(name_or_path)
    if path.exists():
        return load_beir(path, split)
    if str(name_or_path) in BEIR_COLLECTIONS:
        return load_beir(download_beir(str(name_or_path), progress=progress), split, name=str(name_or_path))
    raise CollectionError(f"{str(name_or_path)!r} is neither a folder nor a known collection; known names: "
                          f"course, {', '.join(sorted(BEIR_COLLECTIONS))}")
