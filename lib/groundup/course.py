"""Instructor tooling around nbgrader: release the exercises, autograde a class.

* ``python -m groundup.course generate [chapter ...]`` (what ``make exercises`` runs)
  turns every ``solutions/<chapter>/<chapter>.ipynb`` into
  ``exercises/<chapter>/<chapter>.ipynb``: solution regions become
  ``raise NotImplementedError()`` stubs and hidden tests vanish. nbgrader's output is
  deterministic, so ``tests/test_exercises.py`` compares bytes and fails when a solution
  changed but the release was not regenerated.
* ``python -m groundup.course autograde <chapter>`` autogrades every submission in
  ``submitted/<student>/<chapter>/`` one student at a time. nbgrader's batch autograde can
  stop at a broken notebook (nbgrader issue #1941); here a broken submission is checked
  first, reported with the reason, and the rest of the class is still graded.

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
    """Why ``notebook`` cannot be autograded, or '' when it can.

    Catches what crashes nbgrader: unreadable JSON, an invalid notebook, and graded cells
    whose type a student changed (a code test cell turned into markdown).
    """
    import nbformat

    try:
        nb = nbformat.read(notebook, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # NotJSONError, ValidationError, UnicodeDecodeError, ...
        return f"{notebook.name} is not a valid notebook ({type(err).__name__}: {str(err)[:200]})"
    expected = {c.metadata["nbgrader"]["grade_id"]: c.cell_type
                for c in nbformat.read(solution, as_version=4).cells
                if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")}
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in expected and cell.cell_type != expected[gid]:
            return f"cell {gid!r} was changed from {expected[gid]} to {cell.cell_type}"
    return ""


def autograde(assignment: str, root: Path | None = None) -> list[Outcome]:
    """Autograde each student's submission separately; a broken one does not stop the rest."""
    root = Path(root or Path.cwd()).resolve()
    solution = root / "solutions" / assignment / f"{assignment}.ipynb"
    if not solution.exists():
        raise FileNotFoundError(f"no solution notebook {solution}; known chapters: {assignments(root)}")
    # The gradebook must know the assignment before anything is autograded.
    proc = _nbgrader(["generate_assignment", assignment, "--force"], root)
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{proc.stderr}")
    outcomes = []
    for folder in sorted((root / "submitted").glob(f"*/{assignment}")):
        student = folder.parent.name
        notebook = folder / f"{assignment}.ipynb"
        problem = check_submission(notebook, solution) if notebook.exists() else f"no {notebook.name} submitted"
        if problem:
            outcomes.append(Outcome(student, False, problem))
            continue
        proc = _nbgrader(["autograde", assignment, "--student", student, "--force"], root)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            outcomes.append(Outcome(student, False, "nbgrader autograde failed: " + " | ".join(tail)))
        else:
            outcomes.append(Outcome(student, True))
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m groundup.course")
    parser.add_argument("--root", type=Path, default=None, help="course root (default: current directory)")
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="regenerate exercises/ from solutions/")
    gen.add_argument("assignment", nargs="*", help="chapter ids (default: all)")
    grade = sub.add_parser("autograde", help="autograde submitted/<student>/<chapter>/, one student at a time")
    grade.add_argument("assignment")
    args = parser.parse_args(argv)
    root = (args.root or Path.cwd()).resolve()
    if args.command == "generate":
        for name in args.assignment or assignments(root):
            out = generate(name, root)
            print(f"released {name} -> {out.relative_to(root)}")
        return 0
    outcomes = autograde(args.assignment, root)
    for o in outcomes:
        print(f"{o.student:20} {'graded' if o.ok else 'NOT GRADED: ' + o.message}")
    failed = [o for o in outcomes if not o.ok]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} submissions graded"
          + (f"; fix or grade by hand: {', '.join(o.student for o in failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
