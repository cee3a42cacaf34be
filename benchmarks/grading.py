"""Grading a class: the course's grader (N workers, sandboxed) vs plain serial ``nbgrader autograde``.

Two measurements, in one run, on Chapter 3:

1. **Time**, on an honest class (full marks, blank, partial, bug-zoo mistakes) that plain
   nbgrader can grade too: plain ``nbgrader generate_assignment`` + ``nbgrader autograde``
   (serial, all students in one process) against ``groundup.course autograde --jobs N``
   (which also registers the assignment and builds its sealed template). Both
   wall-clock, same machine, back to back; the ratio is what to read.
2. **Outcomes**, on a class of at least ``--class-size`` students cycling through every
   case of ``tests/hostile.py`` (honest and hostile): ours only (plain nbgrader lets the
   hostile class rewrite its gradebook and sources), each student's status and score
   checked against what the case must get.

    python -m benchmarks.grading                       # 24 honest + 104 mixed students, 2 workers
    python -m benchmarks.grading --honest 8 --class-size 30
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import hostile  # noqa: E402
from bugzoo.ch03_attention import BUGS  # noqa: E402

from groundup.grading.classroom import autograde, sandbox_available  # noqa: E402
from groundup.grading.worker import Limits  # noqa: E402

CH03 = hostile.CH03


def honest_cases(n: int) -> list[hostile.Case]:
    """Full, blank, partial and bug-zoo submissions (the bugs cycle), n of them."""
    shapes = [("full", hostile.notebook(CH03, solved=hostile.ALL03)), ("blank", hostile.notebook(CH03)),
              ("partial", hostile.notebook(CH03, solved=["scaled_dot_product_attention", "causal_mask"]))]
    for function, bugs in BUGS.items():
        for name, code in bugs.items():
            shapes.append((f"bug_{function}_{name}", hostile.notebook(CH03, solved=hostile.ALL03, replace={function: code})))
    return [hostile.Case(f"{i:03d}_{shapes[i % len(shapes)][0]}"[:60], CH03, hostile.save(shapes[i % len(shapes)][1], CH03),
                         "", None) for i in range(n)]


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and every finished child, in seconds."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def plain_nbgrader(course: Path) -> float:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"], "MPLBACKEND": "Agg"}
    start = time.perf_counter()
    for args in (["generate_assignment", CH03, "--force", f"--CourseDirectory.release_directory={course / 'release'}"],
                 ["autograde", CH03, "--force"]):
        proc = subprocess.run([sys.executable, "-m", "nbgrader", *args, "--log-level=ERROR"], cwd=course, env=env,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"plain nbgrader {args[0]} failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--honest", type=int, default=24, help="students in the timing class")
    parser.add_argument("--class-size", type=int, default=100, help="at least this many students in the mixed class")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", choices=["timing", "mixed"], help="run one of the two measurements")
    args = parser.parse_args()
    why = sandbox_available()
    if why:
        raise SystemExit(f"no sandbox: {why}")
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        tmp = Path(tmp)
        if args.only != "mixed":
            timing(tmp, args)
        if args.only != "timing":
            mixed_class(tmp, args)


def timing(tmp: Path, args) -> None:
    plain, ours = tmp / "plain", tmp / "ours"
    cases = honest_cases(args.honest)
    for course in (plain, ours):
        hostile.make_course(course, [CH03])
        for case in cases:
            hostile.submit(course, case)
    print(f"timing class: {len(cases)} honest submissions of {CH03}, {args.jobs} workers for ours", flush=True)
    cpu = cpu_seconds()
    t_plain = plain_nbgrader(plain)
    cpu_plain = cpu_seconds() - cpu
    print(f"plain nbgrader (serial):      {t_plain:7.1f} s wall, {cpu_plain:7.1f} s CPU "
          f"({t_plain / len(cases):.1f} s wall, {cpu_plain / len(cases):.1f} s CPU per student)", flush=True)
    cpu = cpu_seconds()
    start = time.perf_counter()
    results = autograde(CH03, ours, jobs=args.jobs)
    t_ours = time.perf_counter() - start
    cpu_ours = cpu_seconds() - cpu
    print(f"groundup.course autograde -j{args.jobs}: {t_ours:7.1f} s wall, {cpu_ours:7.1f} s CPU "
          f"({t_ours / len(cases):.1f} s wall, {cpu_ours / len(cases):.1f} s CPU per student)")
    print(f"speed-up (wall clock): {t_plain / t_ours:.2f}x; CPU ours/plain: {cpu_ours / cpu_plain:.2f}")
    print(f"load average during the run: {os.getloadavg()}")
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{plain / 'gradebook.db'}") as gb:
        plain_scores = {c.name: gb.find_submission(CH03, c.name).score for c in cases}
    differ = {r.student: (plain_scores[r.student], r.score) for r in results if r.score != plain_scores[r.student]}
    print(f"scores that differ from plain nbgrader's: {differ or 'none'}", flush=True)


def mixed_class(tmp: Path, args) -> None:
    mixed = tmp / "mixed"
    base = hostile.ch03_cases()
    copies = -(-args.class_size // len(base))
    hostile.make_course(mixed, [CH03])
    expected = {}
    for k in range(copies):
        for case in base:
            student = f"{case.name}_{k}"
            hostile.submit(mixed, case, student)
            expected[student] = case
    print(f"\nmixed class: {len(expected)} students ({len(base)} cases x {copies}), {args.jobs} workers", flush=True)
    start = time.perf_counter()
    results = autograde(CH03, mixed, jobs=args.jobs, limits=Limits(time_s=150, cell_s=20))
    t_mixed = time.perf_counter() - start
    wrong = {r.student: (r.status, r.score) for r in results
             if (r.status, r.score if r.notebook is not None else None) != (expected[r.student].status, expected[r.student].score)}
    print(f"graded in {t_mixed:.1f} s; outcomes different from the expected: {wrong or 'none'}")
    statuses = {}
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    print("statuses:", statuses)
    # What the attacks aimed at (autograde itself raises if solutions/ or exercises/ changed).
    from nbgrader.api import Grade, Gradebook
    with Gradebook(f"sqlite:///{mixed / 'gradebook.db'}") as gb:
        forged = gb.db.query(Grade).filter(Grade.manual_score.isnot(None) | Grade.extra_credit.isnot(None)).count()
    left = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if b"4242.5" in (proc / "cmdline").read_bytes() or b"4243.5" in (proc / "cmdline").read_bytes():
                left.append(proc.name)  # the sleeps the "detach" submissions start
        except OSError:
            pass
    dropped = list(mixed.rglob("DROPPED_BY_A_STUDENT.txt"))
    with (mixed / "grades.csv").open() as f:
        rows = sum(1 for _ in f) - 1
    print(f"grades.csv rows: {rows} of {len(expected)}; manual scores or extra credit in the gradebook: {forged}; "
          f"processes left behind: {len(left)}; dropped files found in the course: {len(dropped)}")


if __name__ == "__main__":
    main()
