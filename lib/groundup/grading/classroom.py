"""Autograde a class: every submission in its own scratch copy, N at a time, one gradebook.

``autograde(assignment, root)``:

1. hashes the instructor's files (``solutions/<a>/``, ``exercises/<a>/``,
   ``nbgrader_config.py``, the private tests) and checks them again at the end: grading
   never writes them;
2. registers the assignment in the course gradebook (``nbgrader generate_assignment``
   with a throw-away release folder, so ``exercises/`` is not rewritten);
3. builds the run's template: the source instrumented by ``notebooks.instrument`` (guard
   calls, seals made from a fresh secret, private hidden tests), generated once;
4. grades each submission with ``worker.grade`` on ``jobs`` threads (each runs its own
   nbgrader process, so N submissions use N cores);
5. merges the results into the course gradebook, in this process only: scores per cell,
   the cleaned notebook in ``autograded/`` (for ``nbgrader generate_feedback``), and a
   row per submission in ``grades.csv`` with its status and reason.
"""

from __future__ import annotations

import csv
import hashlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat

from groundup.grading import kernel as kernel_launcher
from groundup.grading import notebooks, worker
from groundup.grading.worker import Job, Limits, Result

CSV_FIELDS = ["student", "assignment", "status", "score", "max_score", "reason", "notes", "seconds"]


class SourcesChanged(RuntimeError):
    """Grading changed an instructor's file: the run's results must not be trusted."""


def nbgrader(args: list[str], root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
           "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"],
                          cwd=root, capture_output=True, text=True, env=env)


def fingerprint(paths: list[Path]) -> dict[str, str]:
    """SHA-256 of every file under ``paths`` (path -> digest)."""
    out = {}
    for base in paths:
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file()) if base.exists() else []
        for f in files:
            out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def sandbox_available() -> str:
    """'' when the bubblewrap sandbox works here, else why not."""
    if not sys.platform.startswith("linux"):
        return "not Linux"
    if not kernel_launcher.bwrap_path():
        return "bubblewrap (bwrap) is not installed (apt-get install bubblewrap)"
    probe = subprocess.run(kernel_launcher.bwrap_command("/", [], [], 1 << 20) + ["--", "/bin/true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return f"bwrap cannot create namespaces here: {probe.stderr.strip()[:200]}"
    return ""


@dataclass
class Submission:
    student: str
    notebook: Path
    timestamp: str | None
    ignored: list[str]


def submissions(root: Path, assignment: str) -> list[Submission]:
    """Every ``submitted/<student>/<assignment>/`` folder, with its notebook and other files."""
    found = []
    for folder in sorted((root / "submitted").glob(f"*/{assignment}")):
        stamp = folder / "timestamp.txt"
        ignored = [str(p.relative_to(folder)) for p in folder.rglob("*")
                   if p.is_file() and p.name not in (f"{assignment}.ipynb", "timestamp.txt")]
        found.append(Submission(folder.parent.name, folder / f"{assignment}.ipynb",
                                stamp.read_text().strip() if stamp.is_file() else None, ignored))
    return found


def build_template(root: Path, assignment: str, where: Path, secret: bytes, private: Path | None) -> Path:
    """The run's grading course: instrumented source generated into a gradebook and release."""
    template = where / "template"
    src = template / "source" / assignment
    src.mkdir(parents=True)
    extra = {}
    if private is not None:
        tests = private / f"{assignment}.py" if private.is_dir() else private
        if tests.exists():
            extra = notebooks.parse_private_tests(tests.read_text())
    source = nbformat.read(root / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    nbformat.write(notebooks.instrument(source, secret, extra), src / f"{assignment}.ipynb")
    released = root / "exercises" / assignment
    for item in released.rglob("*") if released.exists() else []:
        if item.is_file() and item.suffix != ".ipynb":
            dest = src / item.relative_to(released)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(item, dest)
    (template / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\nc.CourseDirectory.source_directory = 'source'\n"
        "c.CourseDirectory.release_directory = 'release'\nc.CourseDirectory.course_id = 'groundup'\n")
    proc = nbgrader(["generate_assignment", assignment, "--force"], template)
    if proc.returncode != 0:
        raise RuntimeError(f"generating the grading template of {assignment} failed:\n{proc.stdout}\n{proc.stderr}")
    (src / f"{assignment}.ipynb").unlink()  # the scratch copies get the gradebook, not the solutions
    return template


def register(root: Path, assignment: str, where: Path) -> None:
    """Make the course gradebook know the assignment, writing no release."""
    proc = nbgrader(["generate_assignment", assignment, "--force",
                     f"--CourseDirectory.release_directory={where / 'release'}"], root)
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{proc.stdout}\n{proc.stderr}")


def merge(root: Path, assignment: str, result: Result) -> None:
    """Write one result into the course gradebook and ``autograded/`` (parent process only)."""
    from nbgrader.api import Gradebook, MissingEntry

    out = root / "autograded" / result.student / assignment
    shutil.rmtree(out, ignore_errors=True)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        gb.update_or_create_student(result.student)
        try:
            gb.remove_submission(assignment, result.student)
        except MissingEntry:
            pass
    if result.notebook is None:  # not graded: no submission, rather than a zero that looks real
        return
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb, warnings.catch_warnings():
        # nbgrader's add_submission makes SQLAlchemy warn about its own session (as in nbgrader autograde).
        warnings.simplefilter("ignore", category=Warning)
        kwargs = {"timestamp": result.timestamp} if result.timestamp else {}
        gb.add_submission(assignment, result.student, **kwargs)
        nb = gb.find_submission_notebook(assignment, assignment, result.student)
        for grade in nb.grades:
            if grade.name in result.cells:
                grade.auto_score = result.cells[grade.name]
                # tampered: 0 until an instructor reviews it (formgrader lists it as needing grading)
                grade.needs_manual_grade = result.status == "tampered"
        gb.db.commit()
    out.mkdir(parents=True)
    nbformat.write(result.notebook, out / f"{assignment}.ipynb")


def write_csv(path: Path, assignment: str, results: list[Result]) -> None:
    """grades.csv: one row per submission; rows of other assignments and students kept."""
    rows = []
    if path.exists():
        with path.open() as f:
            redone = {r.student for r in results}  # with --student, the others' rows stay
            rows = [r for r in csv.DictReader(f) if r.get("assignment") != assignment or r.get("student") not in redone]
    graded = {"graded", "tampered", "timed out"}
    for r in results:
        rows.append({"student": r.student, "assignment": assignment, "status": r.status,
                     "score": f"{r.score:g}" if r.status in graded and r.notebook is not None else "",
                     "max_score": f"{r.max_score:g}" if r.max_score else "",
                     "reason": r.reason, "notes": " | ".join(r.notes), "seconds": f"{r.seconds:.1f}"})
    rows.sort(key=lambda r: (r["assignment"], r["student"]))
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def autograde(assignment: str, root: Path | None = None, *, jobs: int = 1, limits: Limits = Limits(),
              sandbox: bool | None = None, private: Path | None = None, students: list[str] | None = None,
              progress=None) -> list[Result]:
    """Grade every submission of ``assignment``; returns one :class:`Result` per student.

    ``sandbox=None`` uses bubblewrap when it works and refuses to run without it;
    ``sandbox=False`` grades without it (say so to whoever trusts the grades).
    """
    root = Path(root or Path.cwd()).resolve()
    solution = root / "solutions" / assignment / f"{assignment}.ipynb"
    release = root / "exercises" / assignment / f"{assignment}.ipynb"
    for need in (solution, release):
        if not need.exists():
            raise FileNotFoundError(f"{need} is missing (run `make exercises` for the release)")
    if sandbox is not False:
        why = sandbox_available()
        if why:
            raise RuntimeError(f"cannot sandbox the kernels: {why}. Install bubblewrap, or pass "
                               "--no-sandbox to grade without it (student code then sees the machine as you do).")
        sandbox = True
    watched = [root / "solutions" / assignment, root / "exercises" / assignment, root / "nbgrader_config.py"]
    if private is not None:
        watched.append(private)
    before = fingerprint(watched)
    subs = [s for s in submissions(root, assignment) if not students or s.student in students]
    secret = secrets.token_bytes(32)
    with tempfile.TemporaryDirectory(prefix="groundup-grade-") as tmp:
        tmp = Path(tmp)
        # Two nbgrader runs of several seconds each, independent: side by side.
        with ThreadPoolExecutor(max_workers=2) as pool:
            registered = pool.submit(register, root, assignment, tmp)
            built = pool.submit(build_template, root, assignment, tmp, secret, private)
            registered.result()
            template = built.result()
        scratch_root = tmp / "scratch"
        scratch_root.mkdir()
        todo = [Job(s.student, assignment, s.notebook, template, release, secret, limits, sandbox,
                    scratch_root, s.timestamp, s.ignored) for s in subs]
        results: list[Result] = []
        try:
            with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
                for result in pool.map(worker.grade, todo):
                    merge(root, assignment, result)
                    results.append(result)
                    if progress:
                        progress(result)
        finally:
            worker.stop_runners()
    write_csv(root / "grades.csv", assignment, results)
    after = fingerprint(watched)
    changed = sorted(set(before) ^ set(after) | {p for p in before if after.get(p) != before[p]})
    if changed:
        raise SourcesChanged(f"grading changed instructor files (do not trust this run): {changed}")
    return results


def feedback(assignment: str, root: Path | None = None, *, jobs: int = 1, students: list[str] | None = None) -> list[str]:
    """``nbgrader generate_feedback`` for each graded student, ``jobs`` at a time; returns failures."""
    root = Path(root or Path.cwd()).resolve()
    graded = sorted(p.parent.name for p in (root / "autograded").glob(f"*/{assignment}"))
    students = [s for s in graded if not students or s in students]

    def one(student):
        proc = nbgrader(["generate_feedback", assignment, "--student", student, "--force"], root)
        return "" if proc.returncode == 0 else f"{student}: {worker._nbgrader_cause(proc.stdout + proc.stderr)}"

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return [msg for msg in pool.map(one, students) if msg]
