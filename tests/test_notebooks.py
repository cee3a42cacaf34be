"""Solutions autograde to full marks and released exercises to zero, through nbgrader.

Also shows that the fast in-process runner (used by the bug zoo) grades exactly like
nbgrader on both notebooks, so the bug zoo's verdicts are nbgrader's verdicts.
"""

import pytest

from harness import chapters, exercise_path, graded_cell_ids, nbgrader_autograde, run_graded_cells, solution_path
import nbformat

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("chapter", chapters())
def test_solution_full_marks_and_stub_zero_through_nbgrader(chapter, tmp_path):
    scores = nbgrader_autograde(tmp_path, chapter, {"solution": solution_path(chapter),
                                                    "stub": exercise_path(chapter)})
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
