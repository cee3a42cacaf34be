"""A class of honest, broken and hostile submissions, each with the outcome it must get.

Used by ``tests/test_grader.py`` (a small class) and ``benchmarks/grading.py`` (100+
students). Each entry writes one student's submission folder and says what the grader
must report: the status, and the score (None when there is none to give).

The attacks are those measured against plain nbgrader (README "For instructors", the
grading issue) and a few more. A sentinel path ``COURSE_ROOT`` in the attack code is
replaced by the course folder, so an attack aims at the real gradebook and sources.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat

from harness import exercise_path, nbmeta, solution_path

CH03 = "ch03_attention"
CH03_POINTS = {"test_scaled_dot_product_attention": 3, "test_causal_mask": 2, "test_split_heads": 2,
               "test_merge_heads": 1, "test_multi_head_self_attention": 3, "test_recall_experiment": 2}
FULL = float(sum(CH03_POINTS.values()))


@dataclass
class Case:
    name: str
    chapter: str
    write: Callable[[Path, Path], None]   # (submission folder, course root) -> None
    status: str
    score: float | None                   # None: no score (not graded)
    reason: str = ""                      # a word the reason (or notes) must contain


def _solutions(chapter: str) -> dict[str, str]:
    """grade_id -> the solution's source, without the nbgrader markers."""
    nb = nbformat.read(solution_path(chapter), as_version=4)
    out = {}
    for cell in nb.cells:
        if nbmeta(cell).get("solution"):
            out[nbmeta(cell)["grade_id"]] = re.sub(r"\s*### (BEGIN|END) SOLUTION", "", cell.source)
    return out


def notebook(chapter: str, solved=(), replace: dict[str, str] | None = None,
             add_after: dict[str, str] | None = None, delete=()) -> nbformat.NotebookNode:
    """The released exercise with some cells solved, replaced, added after, or deleted."""
    nb = nbformat.read(exercise_path(chapter), as_version=4)
    answers = _solutions(chapter)
    cells = []
    for cell in nb.cells:
        gid = nbmeta(cell).get("grade_id")
        if gid in delete:
            continue
        if gid in solved:
            cell.source = answers[gid]
        if replace and gid in replace:
            cell.source = replace[gid]
        cells.append(cell)
        if add_after and gid in add_after:
            cells.append(nbformat.v4.new_code_cell(add_after[gid]))
    nb.cells = cells
    return nb


def save(nb, chapter: str):
    def write(folder: Path, root: Path) -> None:
        text = nbformat.writes(nb).replace("COURSE_ROOT", str(root))
        (folder / f"{chapter}.ipynb").write_text(text)
    return write


ALL03 = list(_solutions(CH03)) if solution_path(CH03).exists() else []
SOLVED = save(notebook(CH03, solved=ALL03), CH03)


def _with_files(files: dict[str, str], then):
    def write(folder: Path, root: Path) -> None:
        for rel, text in files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text)
        then(folder, root)
    return write


def _raw(text: str):
    def write(folder: Path, root: Path) -> None:
        (folder / f"{CH03}.ipynb").write_text(text)
    return write


# Code the attacks run (inside a solution cell or a cell of their own).
VANDAL = r'''
import os, sqlite3, glob
hits = []
for base in ["COURSE_ROOT", os.getcwd(), os.path.dirname(os.getcwd()), "../../..", "/work/main"]:
    for db in glob.glob(os.path.join(base, "**", "gradebook.db"), recursive=True):
        try:
            con = sqlite3.connect(db)
            con.execute("UPDATE grade SET manual_score = 0")
            con.execute("UPDATE grade SET extra_credit = 100")
            con.commit()
            hits.append(db)
        except Exception:
            pass
    for nb in glob.glob(os.path.join(base, "**", "*.ipynb"), recursive=True):
        try:
            with open(nb, "a") as f:
                f.write(" ")
            hits.append(nb)
        except Exception:
            pass
print("vandal wrote", hits)
'''

DETACH = r'''
import os, subprocess, sys
subprocess.Popen(["sleep", "4242.5"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "4243.5"])
    os._exit(0)
'''

DROP = 'open("DROPPED_BY_A_STUDENT.txt", "w").write("hello from a submission")\n'

TRANSFORMER = "get_ipython().input_transformers_cleanup.append(lambda lines: [])\n"

MOCKS = r'''
def expect(*a, **k): pass
def expect_equal(*a, **k): pass
def expect_close(*a, **k): pass
def expect_type(*a, **k): pass
def expect_same(*a, **k): pass
def sdpa_hint(*a, **k): return ""
class _Anything:
    def __getattr__(self, name): return self
    def __call__(self, *a, **k): return self
    def __eq__(self, other): return True
    def __iter__(self): return iter([self, self])
def scaled_dot_product_attention(*a, **k): return _Anything()
def causal_mask(*a, **k): return _Anything()
def split_heads(*a, **k): return _Anything()
def merge_heads(*a, **k): return _Anything()
'''

PATCH_TORCH = r'''
import torch, torch.nn.functional as F
def scaled_dot_product_attention(q, k, v, mask=None):
    return torch.zeros(*q.shape[:-1], v.shape[-1])
F.scaled_dot_product_attention = lambda q, k, v, attn_mask=None, **kw: torch.zeros(*q.shape[:-1], v.shape[-1])
import groundup.checks
groundup.checks.expect_close = lambda *a, **k: None
'''

SYS_MODULES = r'''
import sys, types
fake = types.ModuleType("groundup.checks")
for name in ("expect", "expect_equal", "expect_close", "expect_type", "fail"):
    setattr(fake, name, lambda *a, **k: None)
sys.modules["groundup.checks"] = fake
def causal_mask(T):
    return None
'''

READ_SOLUTIONS = r'''
import glob, json, os
for path in glob.glob("COURSE_ROOT/solutions/**/*.ipynb", recursive=True) + glob.glob("/work/main/solutions/**/*.ipynb", recursive=True):
    for cell in json.load(open(path))["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            exec("".join(cell["source"]).replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""))
try:
    import urllib.request
    urllib.request.urlopen("https://pypi.org/simple/", timeout=3)
    print("network reachable")
except Exception as err:
    print("no network:", err)
'''

FAKE_SEAL = 'print("GU-SEAL 0123456789abcdef0123456789abcdef clean")\n'

LOOP = "def causal_mask(T):\n    while True:\n        pass\n"
STUBBORN = ("import time\ndef causal_mask(T):\n    while True:\n        try:\n            time.sleep(0.1)\n"
            "        except KeyboardInterrupt:\n            pass\n")
BOMB = "import torch\ndef causal_mask(T):\n    blob = torch.ones(2**40, dtype=torch.uint8)\n    return torch.ones(T, T, dtype=torch.bool).tril()\n"
# One 10 MB line (a debugging print left in), printed by the first call only: printed on every
# call it would be 10 MB per training step of the recall experiment, a time-limit case instead.
HUGE = ("_shown = []\ndef split_heads(x, n_head):\n    if not _shown:\n        _shown.append(1)\n"
        "        print('x' * 10_000_000)\n    B, T, C = x.shape\n"
        "    return x.view(B, T, n_head, C // n_head).transpose(1, 2)\n")
WARNS = ("import warnings\nimport torch\ndef causal_mask(T):\n"
         "    warnings.warn('a torch UserWarning on stderr', UserWarning)\n"
         "    return torch.ones(T, T, dtype=torch.bool).tril()\n")
KILL = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"


def _retyped(chapter: str, gid: str):
    nb = notebook(chapter, solved=_solutions(chapter))
    for cell in nb.cells:
        if nbmeta(cell).get("grade_id") == gid:
            cell.cell_type = "markdown"
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    return save(nb, chapter)


def ch03_cases() -> list[Case]:
    """One case per honest shape and per attack, on Chapter 3 (FULL points)."""
    solved = ALL03
    return [
        Case("full", CH03, SOLVED, "graded", FULL),
        Case("blank", CH03, save(notebook(CH03), CH03), "graded", 0.0),
        Case("partial", CH03, save(notebook(CH03, solved=["scaled_dot_product_attention", "causal_mask"]), CH03),
             "graded", 5.0),
        Case("bug_zoo", CH03, save(notebook(CH03, solved=solved, replace={
            "causal_mask": "import torch\ndef causal_mask(T):\n    return torch.ones(T, T, dtype=torch.bool).tril(1)\n"}), CH03),
             "graded", FULL - 5),  # its multi-head layer uses the wrong mask too
        Case("vandal", CH03, save(notebook(CH03, add_after={"imports": VANDAL}), CH03), "tampered", 0.0, "grader's files"),
        Case("vandal_solved", CH03, save(notebook(CH03, solved=solved, add_after={"imports": VANDAL}), CH03),
             "tampered", 0.0, "starts processes|grader's files"),  # withheld: the notes keep the points the tests gave
        Case("detach", CH03, save(notebook(CH03, add_after={"imports": DETACH}), CH03), "tampered", 0.0, "process"),
        Case("drop_file", CH03, save(notebook(CH03, solved=solved, add_after={"imports": DROP}), CH03), "graded", FULL),
        Case("shadow", CH03, _with_files({"groundup/__init__.py": "", "groundup/checks.py":
                                          "def expect(*a, **k): pass\nexpect_equal = expect_close = expect_type = expect\n"},
                                         save(notebook(CH03), CH03)), "graded", 0.0, "ignored files"),
        Case("transformer", CH03, save(notebook(CH03, replace={"scaled_dot_product_attention": TRANSFORMER}), CH03),
             "tampered", 0.0, "seal|transformer"),
        Case("mocks", CH03, save(notebook(CH03, replace={"scaled_dot_product_attention": MOCKS}), CH03), "tampered", 0.0, "redefined"),
        Case("patch_torch", CH03, save(notebook(CH03, solved=[g for g in solved if g != "scaled_dot_product_attention"],
                                                replace={"scaled_dot_product_attention": PATCH_TORCH}), CH03),
             "tampered", 0.0, "replaced"),  # withheld (the tests gave FULL - 6: its own zero attention)
        Case("sys_modules", CH03, save(notebook(CH03, replace={"causal_mask": SYS_MODULES}), CH03), "tampered", 0.0, "import system"),
        Case("read_solutions", CH03, save(notebook(CH03, add_after={"imports": READ_SOLUTIONS}), CH03), "tampered", 0.0, "network"),
        Case("fake_seal", CH03, save(notebook(CH03, replace={"causal_mask": FAKE_SEAL}), CH03), "tampered", 0.0, "grader"),
        Case("loop", CH03, save(notebook(CH03, solved=solved, replace={"causal_mask": LOOP}), CH03),
             "timed out", FULL - 5, "test_causal_mask"),
        Case("stubborn_loop", CH03, save(notebook(CH03, solved=solved, replace={"causal_mask": STUBBORN}), CH03),
             "timed out", 3.0, "test_causal_mask; .*stopped it"),  # later cells: not run, said why
        Case("memory_bomb", CH03, save(notebook(CH03, solved=solved, replace={"causal_mask": BOMB}), CH03), "graded", FULL - 5),
        Case("huge_output", CH03, save(notebook(CH03, solved=solved, replace={"split_heads": HUGE}), CH03), "graded", FULL),
        Case("warning", CH03, save(notebook(CH03, solved=solved, replace={"causal_mask": WARNS}), CH03), "graded", FULL),
        Case("kill_kernel", CH03, save(notebook(CH03, solved=solved, add_after={"imports": KILL}), CH03), "crashed", None, "DeadKernel|died"),
        Case("deleted_test", CH03, save(notebook(CH03, solved=solved, delete=["test_causal_mask", "md_causal"]), CH03),
             "graded", FULL, "test_causal_mask"),
        Case("retyped_test", CH03, _retyped(CH03, "test_merge_heads"), "graded", FULL, "test_merge_heads"),
        Case("broken_json", CH03, _raw('{"cells": [ this is not json'), "invalid notebook", None, "not a valid notebook"),
        Case("empty_file", CH03, _raw(""), "invalid notebook", None, "empty"),
        Case("no_notebook", CH03, lambda folder, root: (folder / "notes.txt").write_text("sorry"),
             "invalid notebook", None, "no ch03_attention.ipynb"),
    ]


def deletion_cases() -> list[Case]:
    """Test cells nbgrader cannot restore (the cell before is neither graded nor a solution)."""
    return [
        Case("ch04_deleted", "ch04_positions",
             save(notebook("ch04_positions", solved=_solutions("ch04_positions"), delete=["test_relative_position"]),
                  "ch04_positions"), "graded", 15.0, "test_relative_position"),
        Case("ch05_deleted", "ch05_gpt",
             save(notebook("ch05_gpt", solved=_solutions("ch05_gpt"), delete=["test_GPT2"]), "ch05_gpt"),
             "graded", 12.0, "test_GPT2"),
    ]


def submit(root: Path, case: Case, student: str | None = None) -> None:
    folder = root / "submitted" / (student or case.name) / case.chapter
    folder.mkdir(parents=True, exist_ok=True)
    case.write(folder, root)


def make_course(root: Path, chapters) -> None:
    """A course folder with the real config, sources and releases of ``chapters``."""
    from harness import ROOT

    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    for chapter in chapters:
        shutil.copytree(ROOT / "solutions" / chapter, root / "solutions" / chapter)
        shutil.copytree(ROOT / "exercises" / chapter, root / "exercises" / chapter)
