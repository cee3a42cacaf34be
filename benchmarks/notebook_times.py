"""How long each solution notebook takes to run, top to bottom, as a learner runs it.

    python -m benchmarks.notebook_times                      # all chapters
    python -m benchmarks.notebook_times ch07_generate ch13_rag

Each ``solutions/<ch>/<ch>.ipynb`` runs in a fresh Jupyter kernel (nbclient), in a
temporary copy of its folder, with torch's default threads: ``OMP_NUM_THREADS`` and the
like are removed from the kernel's environment, so torch picks its own default (one
thread per core). ``GROUNDUP_CACHE`` points at an empty folder, so the models and indexes
the course caches (``groundup.train.cached_train`` and the like) are built as on a
learner's first run, not loaded from an earlier one. A cell that raises stops that
chapter and the run exits non-zero; the solutions are meant to run clean.

Per chapter: wall seconds from kernel start to the end of the last cell, and CPU seconds
of the kernel's process tree over the same span (user + system of the kernel, of every
process still alive under it, and of the children they reaped, read with psutil just
before the kernel shuts down). On a shared, loaded machine the wall time is inflated by
other jobs; the CPU time is the honest basis, and on a quiet 2-core machine the wall time
is at most about the CPU time (torch may spread a cell over both cores). The 1-minute load
average before and after, the three slowest cells, torch's version, its threads (the
default, and what the notebook left), nproc and the date are recorded beside it.

Results are merged into ``benchmarks/results/notebook_times.json`` after every chapter:
a chapter measured again replaces its entry.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

from groundup.course import assignments

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "notebook_times.json"
# Variables that would pin torch's (or BLAS's) thread count; a learner's kernel has none.
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMBA_NUM_THREADS", "TORCH_NUM_THREADS")


def tree_cpu_seconds(pid: int) -> float:
    """User + system seconds of ``pid``, its live descendants, and the children each reaped.

    A process that has exited and been waited for is counted in its reaper's
    ``children_*`` times, so summing over the live tree counts everything once.
    """
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            t = proc.cpu_times()
        except psutil.NoSuchProcess:  # exited between the listing and the read
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def load1() -> float:
    return round(os.getloadavg()[0], 2)


def run_chapter(chapter: str, cell_timeout: int) -> dict:
    """Execute one solution notebook in a fresh kernel; return its timings (raises on a failing cell)."""
    source = ROOT / "solutions" / chapter
    load_before = load1()
    with tempfile.TemporaryDirectory(prefix=f"nbtime-{chapter}-") as tmp:
        env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
        env["GROUNDUP_CACHE"] = str(Path(tmp) / "cache")  # empty: a first run trains what it needs
        folder = Path(tmp) / chapter
        shutil.copytree(source, folder)
        nb = nbformat.read(folder / f"{chapter}.ipynb", as_version=4)
        client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(folder)}})
        cells = []
        t0 = time.perf_counter()
        with client.setup_kernel(env=env):
            pid = client.km.provisioner.pid
            for index, cell in enumerate(nb.cells):
                c0 = time.perf_counter()
                client.execute_cell(cell, index)  # raises CellExecutionError on an error
                if cell.cell_type == "code":
                    cells.append((round(time.perf_counter() - c0, 2),
                                  cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index}")))
            wall = time.perf_counter() - t0
            cpu = tree_cpu_seconds(pid)
            # After the measurement: the threads the notebook left torch with (a cell may set them).
            probe = nbformat.v4.new_code_cell("import torch; print(torch.__version__, torch.get_num_threads())")
            nb.cells.append(probe)
            client.execute_cell(probe, len(nb.cells) - 1)
            # stdout may arrive in several stream messages, after a notebook's own warnings
            printed = "".join(o.get("text", "") for o in probe.outputs if o.get("name") == "stdout")
            torch_version, threads_at_end = printed.split()[-2:]
        # The default a fresh kernel starts with, from a fresh interpreter with the same environment.
        threads_default = subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
                                         env=env, capture_output=True, text=True, check=True).stdout.strip()
    return {
        "cpu_s": round(cpu, 1),
        "wall_s": round(wall, 1),
        "load1_before": load_before,
        "load1_after": load1(),
        "slowest_cells_wall_s": [[name, s] for s, name in sorted(cells, reverse=True)[:3]],
        "code_cells": len(cells),
        "cache": "empty (first run)",
        "torch": torch_version,
        "torch_threads_default": int(threads_default),
        "torch_threads_at_end": int(threads_at_end),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "date": datetime.date.today().isoformat(),
    }


def merge(chapter: str, entry: dict, path: Path = RESULTS) -> None:
    data = json.loads(path.read_text()) if path.exists() else {}
    data.setdefault("about", "python -m benchmarks.notebook_times: each solution notebook run top to bottom "
                             "in a fresh kernel, default torch threads, empty GROUNDUP_CACHE; cpu_s = CPU "
                             "seconds of the kernel's process tree (the basis for the run time each exercise "
                             "states), wall_s is inflated when the machine is loaded (see load1_*)")
    data.setdefault("chapters", {})[chapter] = entry
    data["chapters"] = dict(sorted(data["chapters"].items()))
    path.write_text(json.dumps(data, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("chapters", nargs="*", help="chapter ids (default: all), e.g. ch07_generate")
    ap.add_argument("--cell-timeout", type=int, default=3600, help="seconds one cell may take")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    known = assignments(ROOT)
    todo = args.chapters or known
    unknown = [c for c in todo if c not in known]
    if unknown:
        ap.error(f"no solution notebook for {unknown}; known: {known}")
    failed = []
    for chapter in todo:
        print(f"[notebook_times] {chapter}: running (load {load1()}) ...", flush=True)
        try:
            entry = run_chapter(chapter, args.cell_timeout)
        except Exception as exc:  # a failing cell: say so loudly, measure the rest, exit non-zero
            print(f"[notebook_times] {chapter}: FAILED: {type(exc).__name__}: {str(exc)[-3000:]}",
                  file=sys.stderr, flush=True)
            failed.append(chapter)
            continue
        merge(chapter, entry, args.out)
        print(f"[notebook_times] {chapter}: cpu {entry['cpu_s']} s, wall {entry['wall_s']} s, "
              f"load {entry['load1_before']} -> {entry['load1_after']}, "
              f"torch threads {entry['torch_threads_default']}, slowest {entry['slowest_cells_wall_s'][0]}", flush=True)
    if failed:
        print(f"[notebook_times] FAILED: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
