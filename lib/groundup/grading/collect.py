"""Put submissions into nbgrader's ``submitted/<student>/<assignment>/<assignment>.ipynb``.

The shapes instructors get, all read without extracting anything to disk (no path in an
archive is trusted):

* an LMS export, as a ``.zip`` or a folder, holding one folder per student (Moodle:
  ``Jane Doe_123456_assignsubmission_file_/ch03 (1).ipynb``), one zip per student
  (``alice.zip``), or loose renamed files (Canvas:
  ``doejane_123456_7890_ch03_attention-1.ipynb``, student ``doejane_123456``);
* notebooks downloaded from Colab: Colab may drop nbgrader's cell metadata, which the
  grader needs to find the solution cells; when every cell lost it, it is put back by
  matching the released cells' source and the functions the solution cells define;
* nbgrader's own exchange: ``nbgrader collect <assignment>`` already fills ``submitted/``.

Only notebooks are copied; anything else a student handed in is listed, not copied.
"""

from __future__ import annotations

import ast
import io
import re
import zipfile
from pathlib import Path, PurePosixPath

import nbformat

from groundup.grading.notebooks import meta

MAX_NOTEBOOK_BYTES = 50 << 20  # a larger "notebook" is not a notebook (or is a zip bomb)
CANVAS = re.compile(r"^(?P<name>[A-Za-z0-9-]+?)_(?:LATE_)?(?P<uid>\d+)_\d+_(?P<file>.+)$")
MOODLE = re.compile(r"^(?P<who>.+?)_assign(?:submission|feedback)_\w+?_?$")


def student_id(text: str) -> str:
    """A folder-safe student id: letters, digits, '.', '_' and '-'."""
    text = MOODLE.sub(lambda m: m.group("who"), text.strip())
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "unnamed"


def _entries(source: Path) -> list[tuple[tuple[str, ...], bytes | None, Path | zipfile.ZipInfo]]:
    """(path parts, bytes or None for a directory marker, origin) of every file in the export."""
    out = []
    if source.is_dir():
        for p in sorted(source.rglob("*")):
            if p.is_file() and not p.is_symlink():
                out.append((p.relative_to(source).parts, None, p))
        return out
    with zipfile.ZipFile(source) as zf:
        for info in zf.infolist():
            if not info.is_dir():
                out.append((PurePosixPath(info.filename).parts, None, info))
    return out


def _read(source: Path, origin) -> bytes:
    if isinstance(origin, Path):
        if origin.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise ValueError(f"larger than {MAX_NOTEBOOK_BYTES} bytes")
        return origin.read_bytes()
    if origin.file_size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"larger than {MAX_NOTEBOOK_BYTES} bytes")
    with zipfile.ZipFile(source) as zf:
        return zf.read(origin)


def _notebooks_in_zip(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()
                if info.filename.endswith(".ipynb") and not info.is_dir() and info.file_size <= MAX_NOTEBOOK_BYTES
                and "__MACOSX" not in info.filename and ".ipynb_checkpoints" not in info.filename]


def reattach_metadata(nb, release) -> int:
    """Give cells back their nbgrader metadata when all of it is gone (Colab); returns cells matched.

    A cell whose source equals a released cell's gets that cell's metadata; a code cell that
    defines the function or class of a released solution cell gets that cell's metadata.
    """
    if any(meta(c) for c in nb.cells):
        return 0
    by_source = {c.source.strip(): c for c in release.cells if meta(c)}
    by_name = {}
    for cell in release.cells:
        if meta(cell).get("solution") and cell.cell_type == "code":
            for node in ast.parse(cell.source).body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    by_name[node.name] = cell
    matched, used = 0, set()
    for cell in nb.cells:
        ref = by_source.get(cell.source.strip())
        if ref is None and cell.cell_type == "code":
            try:
                names = [n.name for n in ast.parse(cell.source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
            except SyntaxError:
                names = []
            ref = next((by_name[n] for n in names if n in by_name), None)
        if ref is not None and meta(ref)["grade_id"] not in used:
            used.add(meta(ref)["grade_id"])
            cell.metadata["nbgrader"] = dict(meta(ref))
            matched += 1
    return matched


def _pick(assignment: str, candidates: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    """The student's notebook for ``assignment`` among several: by name, else the first."""
    named = [c for c in candidates if assignment in PurePosixPath(c[0]).name]
    return (named or candidates)[0]


def collect(assignment: str, source: Path, root: Path) -> list[str]:
    """Copy each student's notebook from ``source`` into ``root/submitted``; returns a report."""
    source, root = Path(source), Path(root)
    release = nbformat.read(root / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)
    per_student: dict[str, list[tuple[str, bytes]]] = {}
    skipped: dict[str, list[str]] = {}
    report: list[str] = []
    for parts, _, origin in _entries(source):
        parts = tuple(p for p in parts if p not in ("", ".", ".."))  # no path leaves the export
        if not parts:
            continue
        name = parts[-1]
        if "__MACOSX" in parts or name.startswith("."):
            continue
        if len(parts) > 1:  # a folder per student
            who = student_id(parts[0])
        elif name.endswith(".zip"):
            who = student_id(Path(name).stem)
        else:
            m = CANVAS.match(name)
            who = student_id(f"{m.group('name')}_{m.group('uid')}" if m else
                             Path(name).stem.replace(assignment, "").strip("_- ") or Path(name).stem)
        try:
            if name.endswith(".zip"):
                found = _notebooks_in_zip(_read(source, origin))
                if not found:
                    skipped.setdefault(who, []).append(f"{name} (no notebook inside)")
                per_student.setdefault(who, []).extend(found)
            elif name.endswith(".ipynb") and ".ipynb_checkpoints" not in parts:
                per_student.setdefault(who, []).append(("/".join(parts), _read(source, origin)))
            else:
                skipped.setdefault(who, []).append("/".join(parts))
        except (ValueError, zipfile.BadZipFile) as err:
            skipped.setdefault(who, []).append(f"{name} ({err})")
    for who in sorted(set(per_student) | set(skipped)):
        notebooks = per_student.get(who, [])
        if not notebooks:  # an empty folder: autograde lists the student as "no notebook submitted"
            (root / "submitted" / who / assignment).mkdir(parents=True, exist_ok=True)
            report.append(f"{who}: NO NOTEBOOK (found: {', '.join(skipped.get(who, [])) or 'nothing'})")
            continue
        chosen, data = _pick(assignment, notebooks)
        dest = root / "submitted" / who / assignment / f"{assignment}.ipynb"
        dest.parent.mkdir(parents=True, exist_ok=True)
        line = f"{who}: {chosen}"
        try:
            nb = nbformat.reads(data.decode("utf-8"), as_version=4)
            matched = reattach_metadata(nb, release)
            if matched:
                line += f" (no nbgrader metadata, e.g. from Colab: {matched} cells matched to the release)"
                data = nbformat.writes(nb).encode()
        except Exception:  # left as it is: the grader reports it as an invalid notebook
            pass
        dest.write_bytes(data)
        if len(notebooks) > 1:
            line += f" (chose 1 of {len(notebooks)} notebooks)"
        if skipped.get(who):
            line += f"; not copied: {', '.join(skipped[who][:5])}"
        report.append(line)
    return report
