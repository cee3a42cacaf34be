"""How many bugs of an independent zoo do the graded tests catch? (issue: >= 95%)

    python -m benchmarks.bugzoo_fresh ch04_positions [ch05_gpt ...]   # default: every zoo

Each bug is injected into the instructor's solution notebook right after the cell that
defines its function and the notebook is run in-process as nbgrader runs it
(``tests/harness.run_graded_cells``, shown in ``tests/test_notebooks.py`` to agree with
nbgrader), stopping at the first graded test cell that fails. A bug is caught when some
graded test cell fails; a bug whose only failure is a cell timeout is counted apart (not
caught: on a loaded machine an honest slow run can time out too). Results go to ``benchmarks/results/bugzoo_fresh_<chapter>.json``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from harness import run_graded_cells, solution_path  # noqa: E402

CELL_TIMEOUT = 60  # a wrong function may loop forever; nbgrader's limit would fail the cell too


def zoos() -> list[str]:
    return sorted(p.stem for p in (ROOT / "benchmarks" / "fresh_zoo").glob("ch*.py"))


def measure(chapter: str) -> dict:
    bugs = importlib.import_module(f"benchmarks.fresh_zoo.{chapter}").BUGS
    rows = []
    for function, named in bugs.items():
        for name, source in named.items():
            start = time.perf_counter()
            results = run_graded_cells(solution_path(chapter), inject={function: source},
                                       stop_after_last_graded=True, stop_at_first_failure=True,
                                       cell_timeout=CELL_TIMEOUT)
            failed = {cell: r.error for cell, r in results.items() if r.graded and not r.passed}
            # A timeout is not a catch: on a loaded machine a correct-looking slow run times out too.
            timed_out = bool(failed) and all(e.startswith("CellTimeout") for e in failed.values())
            rows.append({"function": function, "bug": name, "caught": bool(failed) and not timed_out,
                         "timed_out": timed_out,
                         "by": next(iter(failed), None),
                         "error": next(iter(failed.values()), "")[:300],
                         "seconds": round(time.perf_counter() - start, 1)})
            mark = "TIMEOUT" if timed_out else "caught" if failed else "MISSED"
            print(f"{chapter} {function:32s} {name:40s} {mark:6s} {rows[-1]['seconds']:6.1f} s", flush=True)
    caught = sum(r["caught"] for r in rows)
    return {"chapter": chapter, "bugs": len(rows), "caught": caught,
            "share": round(caught / len(rows), 3) if rows else None, "rows": rows}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapters", nargs="*", help="chapters to measure (default: every fresh zoo)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results",
                        help="folder for bugzoo_fresh_<chapter>.json")
    args = parser.parse_args(argv)
    unknown = set(args.chapters) - set(zoos())
    if unknown:
        parser.error(f"no fresh zoo for {sorted(unknown)}; have {zoos()}")
    total = caught = 0
    for chapter in args.chapters or zoos():
        result = measure(chapter)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"bugzoo_fresh_{chapter}.json").write_text(json.dumps(result, indent=1) + "\n")
        total, caught = total + result["bugs"], caught + result["caught"]
        print(f"{chapter}: {result['caught']}/{result['bugs']} caught")
    if total:
        print(f"all: {caught}/{total} caught ({100 * caught / total:.0f}%)")


if __name__ == "__main__":
    main()
