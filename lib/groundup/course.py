"""Instructor tooling around nbgrader: release the exercises, autograde a class.

* ``python -m groundup.course generate [chapter ...]`` (what ``make exercises`` runs)
  turns every ``solutions/<chapter>/<chapter>.ipynb`` into
  ``exercises/<chapter>/<chapter>.ipynb``: solution regions become
  ``raise NotImplementedError()`` stubs and hidden tests vanish. nbgrader's output is
  deterministic, so ``tests/test_exercises.py`` compares bytes and fails when a solution
  changed but the release was not regenerated.
* ``python -m groundup.course autograde <chapter>`` grades every submission in
  ``submitted/<student>/<chapter>/`` with nbgrader, each in a sandboxed scratch copy of its
  own, several at a time, and writes the course gradebook and ``grades.csv`` (a status
  and reason per student): see ``groundup.grading`` and the book's instructor page.
* ``python -m groundup.course feedback <chapter>`` runs ``nbgrader generate_feedback`` per
  student, in parallel; ``collect <chapter> <zip-or-folder>`` fills ``submitted/`` from an
  LMS export or a folder of (Colab) downloads.

Both run in the course root (the folder with ``nbgrader_config.py``), default: the
current directory.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path


def nbgrader_env() -> dict[str, str]:
    """The environment for nbgrader: it runs `alembic` from PATH, so put this Python's bin first."""
    bindir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""), "MPLBACKEND": "Agg"}


def _nbgrader(args: list[str], root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"],
                          cwd=root, capture_output=True, text=True, env=nbgrader_env())


def assignments(root: Path) -> list[str]:
    """Chapter ids that have a solution notebook, e.g. ``['ch01_tokens', ...]``."""
    return sorted(p.parent.name for p in (root / "solutions").glob("*/*.ipynb")
                  if p.stem == p.parent.name)


def generate(assignment: str, root: Path | None = None, release_dir: Path | None = None) -> Path:
    """Run ``nbgrader generate_assignment`` for one chapter; return the released folder.

    ``assignment="*"`` releases every chapter in one nbgrader run (into ``release_dir/<id>``).

    The gradebook goes to a temporary database, so nothing but the release is written.
    ``release_dir`` (default ``root/exercises``) lets a test generate elsewhere.
    """
    root = Path(root or Path.cwd()).resolve()
    release_dir = Path(release_dir) if release_dir else root / "exercises"
    with tempfile.TemporaryDirectory() as tmp:
        proc = _nbgrader(["generate_assignment", assignment, "--force",
                          f"--CourseDirectory.root={root}",
                          f"--CourseDirectory.release_directory={release_dir}",
                          f"--CourseDirectory.db_url=sqlite:///{tmp}/gradebook.db"], root)
        if proc.returncode != 0:
            raise RuntimeError(
                f"nbgrader generate_assignment {assignment} failed:\n{proc.stdout}\n{proc.stderr}")
    out = release_dir / assignment
    for junk in out.glob("**/.ipynb_checkpoints"):
        shutil.rmtree(junk)
    return out


# ----------------------------------------------------------------------------- autograde

@dataclass
class Outcome:
    student: str
    ok: bool
    message: str = ""


def check_submission(notebook: Path, solution: Path) -> str:
    """Why ``notebook`` cannot be autograded, or '' when it can (unreadable, empty, invalid).

    Cells a student deleted, edited or changed to markdown are no reason: the grader
    restores them (``groundup.grading.notebooks.restore``).
    """
    from groundup.grading.notebooks import check

    return check(notebook)


def limits_for(assignment: str, root: Path, **overrides):
    """The per-submission limits of ``assignment``: ``grading.toml`` [default] then [assignment]."""
    from groundup.grading.worker import Limits

    table: dict = {}
    config = root / "grading.toml"
    if config.exists():
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        data = tomllib.loads(config.read_text())
        table = {**data.get("default", {}), **data.get(assignment, {})}
    units = {"time_s": 1, "cell_s": 1, "grace_s": 1, "memory_gb": 1 << 30, "output_kb": 1 << 10}
    names = {"time_s": "time_s", "cell_s": "cell_s", "grace_s": "grace_s", "memory_gb": "memory_bytes",
             "output_kb": "output_bytes"}
    unknown = set(table) - set(units)
    if unknown:
        raise ValueError(f"{config}: unknown keys {sorted(unknown)}; known: {sorted(units)}")
    values = {names[k]: type(getattr(Limits(), names[k]))(v * units[k]) for k, v in table.items()}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Limits(**values)


def autograde(assignment: str, root: Path | None = None, **options) -> list[Outcome]:
    """Autograde the class (``groundup.grading.classroom.autograde``); one :class:`Outcome` per student."""
    from groundup.grading.classroom import autograde as grade_class

    root = Path(root or Path.cwd()).resolve()
    options.setdefault("limits", limits_for(assignment, root))
    return [Outcome(r.student, r.status == "graded",
                    "; ".join(x for x in [r.status if r.status != "graded" else "", r.reason, *r.notes] if x))
            for r in grade_class(assignment, root, **options)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m groundup.course")
    parser.add_argument("--root", type=Path, default=None, help="course root (default: current directory)")
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="regenerate exercises/ from solutions/")
    gen.add_argument("assignment", nargs="*", help="chapter ids (default: all)")
    grade = sub.add_parser("autograde", help="autograde submitted/<student>/<chapter>/, each student in a sandbox")
    grade.add_argument("assignment")
    grade.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, help="submissions graded at once")
    grade.add_argument("--student", action="append", help="grade only this student (repeatable)")
    grade.add_argument("--time-limit", type=float, help="seconds per submission (default: grading.toml)")
    grade.add_argument("--cell-limit", type=float, help="seconds per cell (default: grading.toml)")
    grade.add_argument("--memory-gb", type=float, help="memory cap per kernel in GiB (default: grading.toml)")
    grade.add_argument("--output-kb", type=int, help="output kept per cell in KiB (default: grading.toml)")
    grade.add_argument("--private", type=Path, help="extra hidden tests: a folder of <chapter>.py files, or one file")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="grade without bubblewrap (student code can then read and write what you can)")
    fb = sub.add_parser("feedback", help="nbgrader generate_feedback for every graded student, in parallel")
    fb.add_argument("assignment")
    fb.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1)
    col = sub.add_parser("collect", help="copy an LMS export or a folder of downloads into submitted/")
    col.add_argument("assignment")
    col.add_argument("source", type=Path, help="a .zip or a folder: one folder or zip per student, or loose notebooks")
    args = parser.parse_args(argv)
    root = (args.root or Path.cwd()).resolve()
    if args.command == "generate":
        for name in args.assignment or assignments(root):
            out = generate(name, root)
            print(f"released {name} -> {out.relative_to(root)}")
        return 0
    if args.command == "feedback":
        from groundup.grading.classroom import feedback

        failed = feedback(args.assignment, root, jobs=args.jobs)
        for line in failed:
            print("NO FEEDBACK:", line)
        return 1 if failed else 0
    if args.command == "collect":
        from groundup.grading.collect import collect

        for line in collect(args.assignment, args.source, root):
            print(line)
        return 0
    from groundup.grading.classroom import autograde as grade_class

    limits = limits_for(args.assignment, root, time_s=args.time_limit, cell_s=args.cell_limit,
                        memory_bytes=int(args.memory_gb * (1 << 30)) if args.memory_gb else None,
                        output_bytes=args.output_kb * 1024 if args.output_kb else None)
    if args.no_sandbox:
        print("WARNING: grading without a sandbox: student code runs with your permissions and can read "
              "solutions/ and other students' work; the scratch copies, limits and seals still apply.")

    def show(r):
        score = f"{r.score:g}/{r.max_score:g}" if r.notebook is not None else "-"
        print(f"{r.student:24} {r.status:16} {score:>8}  {r.reason}", flush=True)

    results = grade_class(args.assignment, root, jobs=args.jobs, limits=limits, sandbox=False if args.no_sandbox else None,
                          private=args.private, students=args.student, progress=show)
    counts = {s: sum(r.status == s for r in results) for s in dict.fromkeys(r.status for r in results)}
    print(f"{len(results)} submissions: " + ", ".join(f"{n} {s}" for s, n in counts.items())
          + "; every one is in grades.csv with its status and reason")
    return 0  # the run completed; each submission's status is in grades.csv


if __name__ == "__main__":
    raise SystemExit(main())
