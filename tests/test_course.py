"""Instructor tooling: a broken notebook in a class's submissions loses nobody's grade.

The hostile class, limits and sandbox are tested in ``test_grader.py``; this is the
``groundup.course`` entry point on Chapter 2 (whose whole notebook runs in seconds; Chapter 1's
now trains three small models at its end).
"""

import shutil

import nbformat
import pytest

from groundup.course import autograde, check_submission, limits_for
from groundup.grading.classroom import sandbox_available
from groundup.grading.worker import Limits
from harness import ROOT, exercise_path, solution_path

CHAPTER = "ch02_next_token"


@pytest.mark.slow
@pytest.mark.skipif(bool(sandbox_available()), reason=f"no sandbox: {sandbox_available()}")
def test_broken_submissions_are_reported_and_the_rest_graded(tmp_path):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    for kind in ("solutions", "exercises"):
        shutil.copytree(ROOT / kind / CHAPTER, tmp_path / kind / CHAPTER)

    def submit(student, writer):
        folder = tmp_path / "submitted" / student / CHAPTER
        folder.mkdir(parents=True)
        writer(folder / f"{CHAPTER}.ipynb")

    # (An untouched solution is graded in test_notebooks.py; carol below is one with a test retyped.)
    submit("bob", lambda p: p.write_text('{"cells": [ this is not json'))
    def retype(p):
        nb = nbformat.read(solution_path(CHAPTER), as_version=4)
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_cross_entropy")
        cell.cell_type = "markdown"
        for key in ("outputs", "execution_count"):
            cell.pop(key, None)
        nbformat.write(nb, p)
    submit("carol", retype)
    submit("dave", lambda p: shutil.copy(exercise_path(CHAPTER), p))

    # Generous limits: this checks restoring and reporting, not timing on a loaded machine.
    outcomes = {o.student: o for o in autograde(CHAPTER, tmp_path, jobs=2, limits=Limits(time_s=900, cell_s=600))}
    assert outcomes["dave"].ok
    assert not outcomes["bob"].ok and "not a valid notebook" in outcomes["bob"].message
    # A test cell turned into markdown is put back and graded, and the report names it.
    assert outcomes["carol"].ok and "test_cross_entropy" in outcomes["carol"].message

    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        carol = gb.find_submission(CHAPTER, "carol")
        dave = gb.find_submission(CHAPTER, "dave")
        assert carol.score == carol.max_score > 0
        assert dave.score == 0


def test_check_submission_accepts_a_clean_exercise():
    assert check_submission(exercise_path(CHAPTER), solution_path(CHAPTER)) == ""


def test_limits_come_from_grading_toml_then_the_command_line(tmp_path):
    (tmp_path / "grading.toml").write_text("[default]\ntime_s = 100\nmemory_gb = 2\n[ch05_gpt]\ntime_s = 400\n")
    assert limits_for("ch01_tokens", tmp_path).time_s == 100
    assert limits_for("ch05_gpt", tmp_path).time_s == 400
    assert limits_for("ch05_gpt", tmp_path).memory_bytes == 2 << 30
    assert limits_for("ch05_gpt", tmp_path, time_s=7).time_s == 7
    (tmp_path / "grading.toml").write_text("[default]\ntime = 100\n")
    with pytest.raises(ValueError, match="unknown keys"):
        limits_for("ch01_tokens", tmp_path)
