"""The released exercises: generated from the solutions, clean, and free of answers."""

import json
import re

import nbformat
import pytest
import yaml

from groundup.course import generate
from harness import EXERCISES, ROOT, SOLUTIONS, chapters, exercise_path, nbmeta, solution_path

CHAPTERS = chapters()


def all_notebooks():
    return sorted(SOLUTIONS.glob("*/*.ipynb")) + sorted(EXERCISES.glob("*/*.ipynb"))


def test_every_chapter_has_a_release():
    assert CHAPTERS, "no solution notebooks found under solutions/"
    released = sorted(p.parent.name for p in EXERCISES.glob("*/*.ipynb"))
    assert released == CHAPTERS, "exercises/ and solutions/ hold different chapters: run `make exercises`"


@pytest.fixture(scope="module")
def fresh_releases(tmp_path_factory):
    """Every chapter released again by one nbgrader run ("*" matches every assignment):
    nbgrader's start-up, not the conversion, is most of the cost of a run."""
    out = tmp_path_factory.mktemp("releases")
    generate("*", ROOT, release_dir=out)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_release_matches_what_nbgrader_generates_now(chapter, fresh_releases):
    fresh = fresh_releases / chapter
    assert fresh.exists(), f"nbgrader released no {chapter}"
    committed = EXERCISES / chapter
    fresh_files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    committed_files = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    assert fresh_files == committed_files
    for rel in fresh_files:
        assert (fresh / rel).read_bytes() == (committed / rel).read_bytes(), (
            f"exercises/{chapter}/{rel} drifted from solutions/: run `make exercises` and commit")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_solution_code_or_hidden_tests_in_release(chapter):
    text = exercise_path(chapter).read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    solution = nbformat.read(solution_path(chapter), as_version=4)
    release = exercise_path(chapter).read_text()
    for cell in solution.cells:
        meta = nbmeta(cell)
        for block in re.findall(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", cell.source, re.S):
            for line in block[1].splitlines():
                line = line.strip()
                # Short lines ("return out", "pass") are not giveaways; real lines are.
                if len(line) > 25 and not line.startswith("#"):
                    assert json.dumps(line)[1:-1] not in release, (
                        f"{meta.get('grade_id')}: solution/hidden line leaked into the release: {line}")


@pytest.mark.parametrize("path", all_notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_notebooks_are_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_cell_metadata_is_consistent(chapter):
    nb = nbformat.read(solution_path(chapter), as_version=4)
    ids = [nbmeta(c)["grade_id"] for c in nb.cells if nbmeta(c)]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", i) for i in ids)
    for cell in nb.cells:
        meta = nbmeta(cell)
        if meta.get("grade") and not meta.get("solution"):
            assert meta.get("points", 0) > 0, f"graded cell {meta['grade_id']} has no points"
            assert meta.get("locked"), f"graded cell {meta['grade_id']} must be locked"
        if meta.get("solution"):
            assert "### BEGIN SOLUTION" in cell.source, f"solution cell {meta['grade_id']} has no solution region"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_first_cell_sets_up_colab_from_the_repository(chapter):
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    first = nbformat.read(exercise_path(chapter), as_version=4).cells[0]
    assert first.cell_type == "code"
    assert '"google.colab" in sys.modules' in first.source
    assert f"git+{url}" in first.source, "the Colab cell must install from _config.yml's repository.url"
    # Nothing but `sys` is imported before the check.
    before = first.source.split('if "google.colab"')[0]
    assert re.findall(r"^\s*(?:import|from)\s+(\S+)", before, re.M) == ["sys"]
