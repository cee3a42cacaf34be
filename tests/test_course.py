"""Instructor tooling: a broken notebook in a class's submissions loses nobody's grade."""

import shutil

import nbformat
import pytest

from groundup.course import autograde, check_submission
from harness import ROOT, exercise_path, solution_path

pytestmark = pytest.mark.slow

CHAPTER = "ch01_tokens"


def test_broken_submissions_are_reported_and_the_rest_graded(tmp_path):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    (tmp_path / "solutions" / CHAPTER).mkdir(parents=True)
    shutil.copy(solution_path(CHAPTER), tmp_path / "solutions" / CHAPTER)

    def submit(student, writer):
        folder = tmp_path / "submitted" / student / CHAPTER
        folder.mkdir(parents=True)
        writer(folder / f"{CHAPTER}.ipynb")

    submit("alice", lambda p: shutil.copy(solution_path(CHAPTER), p))
    submit("bob", lambda p: p.write_text('{"cells": [ this is not json'))
    def retype(p):
        nb = nbformat.read(exercise_path(CHAPTER), as_version=4)
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_merge")
        cell.cell_type = "markdown"
        for key in ("outputs", "execution_count"):
            cell.pop(key, None)
        nbformat.write(nb, p)
    submit("carol", retype)
    submit("dave", lambda p: shutil.copy(exercise_path(CHAPTER), p))

    outcomes = {o.student: o for o in autograde(CHAPTER, tmp_path)}
    assert outcomes["alice"].ok and outcomes["dave"].ok
    assert not outcomes["bob"].ok and "not a valid notebook" in outcomes["bob"].message
    assert not outcomes["carol"].ok and "test_merge" in outcomes["carol"].message

    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        alice = gb.find_submission(CHAPTER, "alice")
        dave = gb.find_submission(CHAPTER, "dave")
        assert alice.score == alice.max_score > 0
        assert dave.score == 0


def test_check_submission_accepts_a_clean_exercise():
    assert check_submission(exercise_path(CHAPTER), solution_path(CHAPTER)) == ""
