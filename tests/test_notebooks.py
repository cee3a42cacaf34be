"""Solutions autograde to full marks and released exercises to zero, through nbgrader.

The kernels see only what a Colab runtime would have after the exercise's first cell
(``pip install groundup``, no extras, plus Colab's preinstalled packages: ``colab.py``),
and each notebook runs alone in an empty course folder, as a learner's copy does. So a
full mark here also says the exercise runs on Colab.

Also shows that the fast in-process runner (used by the bug zoo) grades exactly like
nbgrader on both notebooks, so the bug zoo's verdicts are nbgrader's verdicts.
"""

import pytest

from colab import colab_env
from groundup.course import nbgrader_env
from harness import chapters, exercise_path, graded_cell_ids, nbgrader_autograde, run_graded_cells, solution_path
import nbformat

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def on_colab(tmp_path_factory):
    return colab_env(tmp_path_factory.mktemp("colab-site"), nbgrader_env())


@pytest.mark.parametrize("chapter", chapters())
def test_solution_full_marks_and_stub_zero_through_nbgrader(chapter, tmp_path, on_colab):
    errors = {}
    scores = nbgrader_autograde(tmp_path, chapter, {"solution": solution_path(chapter),
                                                    "stub": exercise_path(chapter)}, env=on_colab,
                                ungraded_errors=errors)
    assert not errors["solution"], (f"cells of the solution of {chapter} fail on Colab (course installed "
                                    f"without extras): {errors['solution']}")
    graded = graded_cell_ids(nbformat.read(solution_path(chapter), as_version=4))
    assert graded, f"{chapter} has no graded test cells"
    assert set(scores["solution"]) == set(graded)

    lost = {cell: s for cell, s in scores["solution"].items() if s[0] != s[1]}
    assert not lost, f"the solution of {chapter} loses points in {lost}"
    passing = {cell: s for cell, s in scores["stub"].items() if s[0] != 0}
    assert not passing, f"the unmodified exercise of {chapter} scores points in {passing}"

    # The in-process runner agrees with nbgrader, cell by cell, on both notebooks.
    fast_solution = run_graded_cells(solution_path(chapter))
    fast_stub = run_graded_cells(solution_path(chapter), student=exercise_path(chapter))
    ungraded_errors = {c: r.error for c, r in fast_solution.items() if not r.graded}
    assert not ungraded_errors, f"cells of the solution of {chapter} fail in-process: {ungraded_errors}"
    for cell in graded:
        assert fast_solution[cell].passed == (scores["solution"][cell][0] == scores["solution"][cell][1]), (
            cell, fast_solution[cell].error)
        assert fast_stub[cell].passed == (scores["stub"][cell][0] > 0), (cell, fast_stub[cell].error)


def test_the_colab_view_hides_test_only_packages_and_keeps_the_course(on_colab, tmp_path):
    """A kernel in the Colab view cannot import a test-only package, and can import the course."""
    import subprocess
    import sys

    code = ("import importlib.util as u, importlib.metadata as m\n"
            "assert u.find_spec('nbgrader') is None and u.find_spec('pytest') is None\n"
            "try:\n    m.version('nbgrader')\nexcept m.PackageNotFoundError:\n    pass\n"
            "else:\n    raise SystemExit('nbgrader metadata visible')\n"
            "import groundup, torch, numpy, matplotlib\nprint('ok')\n")
    # The swap applies to notebook kernels; this stands in for one by its command line.
    proc = subprocess.run([sys.executable, "-c", code, "ipykernel"], env=on_colab, capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
