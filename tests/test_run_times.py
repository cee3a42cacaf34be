"""Every exercise states how long it takes to run, and the statement holds (issue 14).

The numbers come from ``python -m benchmarks.notebook_times`` (each solution notebook run
top to bottom in a fresh kernel with default torch threads on a 2-core CPU), stored in
``benchmarks/results/notebook_times.json``. Nothing is executed here: the test reads the
JSON and the released notebooks' intro cells.

The stated minutes must cover the measured CPU time (on a quiet 2-core machine the wall
time is at most about the CPU time) without inflating it: at most twice the CPU minutes
plus one. The sentence also quotes the CPU seconds and the date of the measurement, so
a chapter measured again must have its sentence updated.
"""

import json
import re

import nbformat
import pytest

from harness import ROOT, chapters, exercise_path

RESULTS = ROOT / "benchmarks" / "results" / "notebook_times.json"
CHAPTERS = chapters()
# "Running the whole notebook takes about 3 minutes on a 2-core laptop CPU
#  (measured: 143 s of CPU time, 2026-11-30)." or "... takes under a minute ...".
STATEMENT = re.compile(r"takes (?:about (?P<minutes>\d+) minutes?|(?P<under>under a minute)) on a 2-core"
                       r"[^(]*\(measured: (?P<cpu>[\d,]+) s of CPU time, (?P<date>\d{4}-\d{2}-\d{2})\)")


def measured() -> dict:
    return json.loads(RESULTS.read_text())["chapters"] if RESULTS.exists() else {}


def intro(chapter: str) -> str:
    nb = nbformat.read(exercise_path(chapter), as_version=4)
    return next(c.source for c in nb.cells if c.cell_type == "markdown")


def test_every_exercise_has_a_measured_run_time():
    missing = sorted(set(CHAPTERS) - set(measured()))
    assert not missing, f"no run time measured for {missing}: python -m benchmarks.notebook_times {' '.join(missing)}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_intro_states_a_run_time_that_holds(chapter):
    entry = measured().get(chapter)
    assert entry, f"{chapter}: not in {RESULTS.name}; python -m benchmarks.notebook_times {chapter}"
    assert entry["nproc"] == 2, f"{chapter} was measured on {entry['nproc']} cores; the statement is for 2"
    text = " ".join(intro(chapter).split())  # a sentence may wrap over lines
    found = STATEMENT.search(text)
    cpu_min = entry["cpu_s"] / 60
    assert found, (f"the intro of {chapter} states no run time; add e.g. 'Running the whole notebook takes "
                   f"about {max(1, -(-int(entry['cpu_s']) // 60))} minutes on a 2-core laptop CPU (measured: "
                   f"{round(entry['cpu_s'])} s of CPU time, {entry['date']}).'")
    if found["under"]:
        assert entry["cpu_s"] < 60, f"{chapter} says 'under a minute' but took {entry['cpu_s']} s of CPU time"
    else:
        stated = int(found["minutes"])
        assert cpu_min <= stated <= 2 * cpu_min + 1, (
            f"{chapter} says about {stated} minutes; measured {entry['cpu_s']} s of CPU time "
            f"({cpu_min:.1f} min): state between {cpu_min:.1f} and {2 * cpu_min + 1:.1f} minutes")
    quoted = int(found["cpu"].replace(",", ""))
    assert abs(quoted - entry["cpu_s"]) <= 1 and found["date"] == entry["date"], (
        f"{chapter} quotes {quoted} s on {found['date']}; {RESULTS.name} has {entry['cpu_s']} s on {entry['date']}")
