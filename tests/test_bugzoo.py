"""Every graded function has at least three plausible wrong versions, and each is caught."""

import importlib

import nbformat
import pytest

from harness import chapters, graded_functions, run_graded_cells, solution_path

MIN_BUGS = 3
# A wrong function may loop forever; nbgrader would fail the cell at its timeout too.
CELL_TIMEOUT = 15


def zoo(chapter):
    try:
        return importlib.import_module(f"bugzoo.{chapter}").BUGS
    except ModuleNotFoundError:
        return {}


def all_bugs():
    for chapter in chapters():
        for function, bugs in zoo(chapter).items():
            for name in bugs:
                yield pytest.param(chapter, function, name, id=f"{chapter}-{function}-{name}")


@pytest.mark.parametrize("chapter", chapters())
def test_every_graded_function_has_a_bug_zoo(chapter):
    functions = graded_functions(nbformat.read(solution_path(chapter), as_version=4))
    bugs = zoo(chapter)
    missing = {f: len(bugs.get(f, {})) for f in functions if len(bugs.get(f, {})) < MIN_BUGS}
    assert not missing, (f"tests/bugzoo/{chapter}.py needs at least {MIN_BUGS} wrong implementations "
                         f"for each graded function; too few for {missing}")
    stray = set(bugs) - set(functions)
    assert not stray, f"bug zoo entries for functions the notebook does not grade: {sorted(stray)}"


@pytest.mark.slow
@pytest.mark.parametrize("chapter,function,bug", list(all_bugs()))
def test_bug_is_caught(chapter, function, bug):
    results = run_graded_cells(solution_path(chapter), inject={function: zoo(chapter)[function][bug]},
                               stop_after_last_graded=True, stop_at_first_failure=True,
                               cell_timeout=CELL_TIMEOUT)
    failed = [cell for cell, r in results.items() if r.graded and not r.passed]
    assert failed, f"no graded test cell of {chapter} catches the bug {bug!r} in {function}"
