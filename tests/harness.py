"""The course's notebook harness: run graded cells in-process, or through nbgrader.

Two ways to grade a notebook, which ``test_notebooks.py`` shows agree:

* ``run_graded_cells`` executes a notebook's cells in this process, the way
  ``nbgrader autograde`` does (every cell runs even after an error; locked and
  graded cells come from the instructor's solution notebook, the rest from the
  student's), and reports which graded test cells passed. It is fast, so the bug
  zoo uses it for dozens of wrong implementations.
* ``nbgrader_autograde`` builds a throw-away course directory and runs nbgrader
  itself, returning the score of every graded cell.
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from groundup.course import assignments, nbgrader_env

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"


def chapters() -> list[str]:
    """Chapter ids with a solution notebook: ``solutions/<id>/<id>.ipynb``."""
    return assignments(ROOT)


def solution_path(chapter: str) -> Path:
    return SOLUTIONS / chapter / f"{chapter}.ipynb"


def exercise_path(chapter: str) -> Path:
    return EXERCISES / chapter / f"{chapter}.ipynb"


def nbmeta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def graded_cell_ids(nb) -> list[str]:
    """grade_ids of the auto-graded test cells (graded, not solution)."""
    return [nbmeta(c)["grade_id"] for c in nb.cells
            if c.cell_type == "code" and nbmeta(c).get("grade") and not nbmeta(c).get("solution")]


def graded_functions(nb) -> dict[str, str]:
    """Top-level functions the learner writes: name -> grade_id of their solution cell."""
    found = {}
    for cell in nb.cells:
        meta = nbmeta(cell)
        if cell.cell_type == "code" and meta.get("solution"):
            for node in ast.parse(cell.source).body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    found[node.name] = meta["grade_id"]
    return found


class CellTimeout(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float | None):
    """Raise CellTimeout in the main thread after ``seconds`` (no limit when None)."""
    if not seconds:
        yield
        return

    def on_alarm(signum, frame):
        raise CellTimeout(f"cell ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class CellRun:
    passed: bool
    error: str = ""
    graded: bool = True  # False: an ungraded cell, listed only when it failed (for diagnosis)


def run_graded_cells(solution: Path, student: Path | None = None,
                     inject: dict[str, str] | None = None, *,
                     stop_after_last_graded: bool = False,
                     stop_at_first_failure: bool = False,
                     cell_timeout: float | None = None) -> dict[str, CellRun]:
    """Execute a notebook as nbgrader's autograder would; return grade_id -> result.

    Every graded test cell is in the result; ungraded cells appear only when they
    failed, marked ``graded=False``, so that a broken set-up cell is visible.

    ``student`` defaults to the solution itself. ``inject`` maps a graded function's
    name to replacement source (a bug-zoo entry), executed right after the solution
    cell that defines the function, so later cells use the replacement.
    ``stop_at_first_failure`` ends the run at the first graded cell that fails: all the
    bug zoo needs to know, without paying for the cells after it.
    """
    sol_nb = nbformat.read(solution, as_version=4)
    stu_nb = nbformat.read(student, as_version=4) if student else sol_nb
    stu_cells = {nbmeta(c).get("grade_id"): c for c in stu_nb.cells if nbmeta(c).get("grade_id")}
    defined_in = graded_functions(sol_nb)
    inject = inject or {}
    unknown = set(inject) - set(defined_in)
    if unknown:
        raise KeyError(f"no solution cell defines {sorted(unknown)}; graded functions: {sorted(defined_in)}")

    last_graded = max((i for i, c in enumerate(sol_nb.cells) if c.cell_type == "code"
                       and nbmeta(c).get("grade") and not nbmeta(c).get("solution")), default=-1)
    # The time limit guards against a wrong function that loops forever, so it starts at the
    # first cell that defines an injected function. Set-up cells before it run unlimited: a
    # limit that fires in the middle of `import torch` on a loaded machine leaves a half-imported
    # module behind, and every later notebook in this process fails on it.
    injected_gids = {defined_in[name] for name in inject}
    limit_from = min((i for i, c in enumerate(sol_nb.cells) if nbmeta(c).get("grade_id") in injected_gids),
                     default=0)
    namespace: dict = {"__name__": "__main__"}
    results: dict[str, CellRun] = {}
    old_cwd = os.getcwd()
    os.chdir(solution.parent)
    try:
        for index, cell in enumerate(sol_nb.cells):
            if stop_after_last_graded and index > last_graded:
                break
            if cell.cell_type != "code":
                continue
            meta = nbmeta(cell)
            gid = meta.get("grade_id")
            # nbgrader restores locked/graded cells from the source; solution cells are the student's.
            source = cell.source
            if meta.get("solution") and gid in stu_cells:
                source = stu_cells[gid].source
            sources = [source] + [src for name, src in inject.items() if defined_in[name] == gid]
            error = ""
            for src in sources:
                try:
                    with contextlib.redirect_stdout(io.StringIO()), \
                            _time_limit(cell_timeout if index >= limit_from else None):
                        exec(compile(src, f"<cell {gid or '?'}>", "exec"), namespace)
                except Exception as exc:  # a failing cell does not stop the run, as in nbgrader
                    error = f"{type(exc).__name__}: {exc}"
                    break
            if meta.get("grade") and not meta.get("solution"):
                results[gid] = CellRun(passed=not error, error=error)
                if error and stop_at_first_failure:
                    break
            elif error:
                results[gid or f"cell {index}"] = CellRun(passed=False, error=error, graded=False)
    finally:
        os.chdir(old_cwd)
        import matplotlib.pyplot as plt
        plt.close("all")
    return results


def nbgrader_autograde(workdir: Path, chapter: str, submissions: dict[str, Path],
                       env: dict[str, str] | None = None,
                       ungraded_errors: dict[str, dict[str, str]] | None = None) -> dict[str, dict[str, tuple[float, float]]]:
    """Autograde ``submissions`` (student id -> notebook) with nbgrader in ``workdir``.

    Returns student -> {grade_id: (score, max_score)} for the auto-graded test cells.
    ``env`` (default: ``nbgrader_env()``) is the environment of nbgrader and its kernels.
    ``ungraded_errors``, if given, receives student -> {cell: error} for the cells that are
    not graded tests and raised (solution cells, set-up, training at the end).
    """
    ungraded_errors = {} if ungraded_errors is None else ungraded_errors
    course = workdir / "course"
    (course / "solutions" / chapter).mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copy(solution_path(chapter), course / "solutions" / chapter)
    for student, nb in submissions.items():
        dest = course / "submitted" / student / chapter
        dest.mkdir(parents=True)
        shutil.copy(nb, dest / f"{chapter}.ipynb")
    env = env or nbgrader_env()
    for args in (["generate_assignment", chapter, "--force"],
                 ["autograde", chapter, "--force"]):
        proc = subprocess.run([sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"],
                              cwd=course, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    from nbgrader.api import Gradebook

    scores: dict[str, dict[str, tuple[float, float]]] = {}
    # An ungraded cell that raised (say, a training cell at the end) costs no points, so
    # nbgrader's scores do not show it; its error output in the autograded notebook does.
    for student in submissions:
        graded_nb = nbformat.read(course / "autograded" / student / chapter / f"{chapter}.ipynb", as_version=4)
        errors = {}
        for index, cell in enumerate(graded_nb.cells):
            meta = nbmeta(cell)
            if cell.cell_type != "code" or (meta.get("grade") and not meta.get("solution")):
                continue
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    errors[meta.get("grade_id") or f"cell {index}"] = f"{out.get('ename')}: {out.get('evalue')}"
        ungraded_errors[student] = errors
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in submissions:
            nb = gb.find_submission_notebook(chapter, chapter, student)
            scores[student] = {g.name: (g.auto_score or 0.0, g.max_score)
                               for g in nb.grades if g.cell_type == "code"}
    return scores
