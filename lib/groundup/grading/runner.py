"""A grading process that imports nbgrader once and autogrades scratch copies one after another.

Starting Python and importing nbgrader costs several seconds of CPU, as much as grading a
short notebook; plain ``nbgrader autograde`` pays it once per class, and so does each of
these processes. ``worker.Runner`` starts one per job slot (in a session of its own) and
sends it one line of JSON per submission::

    {"scratch": "/tmp/.../alice-x", "assignment": "ch03_attention", "student": "alice",
     "marker": "9f...", "log": "/tmp/.../nbgrader.log", "grace_s": 10}

It runs ``nbgrader autograde`` in that folder (its configuration, its gradebook), with
stdout and stderr sent to ``log`` and ``GROUNDUP_GRADER_RUN=marker`` in the environment
its kernel inherits, and answers ``{"rc": 0}`` (or 1). The parent kills the whole process
group when a submission runs past its limit, and starts a new runner.

A cell past its limit is interrupted (``KeyboardInterrupt`` in the kernel). Code that catches
it and goes on (``while True: try: ... except KeyboardInterrupt: pass``) would keep the kernel
busy, and each later cell would wait out its own limit in the queue behind it, until the
submission's limit: 600 s of a grading slot by default. So when the interrupted cell has not
answered ``grace_s`` seconds after the interrupt, this process stops that kernel and marks every
later code cell "not run" with the reason, instead of sending it to a kernel that will not run it.
(Later cells are not run in a fresh kernel: the guard's record of the set-up cells, see
``guard.py``, would be missing there.)
"""

from __future__ import annotations

import json
import os
import queue
import sys

from groundup.grading.notebooks import NOT_RUN

GRACE_S = 10.0  # seconds an interrupted cell has to answer; set per job by run_one


def _stop_kernels_that_ignore_interrupts() -> None:
    """Patch nbclient/nbconvert (in this process only): see the module's docstring."""
    from nbclient.client import NotebookClient
    from nbclient.util import ensure_async
    from nbconvert.preprocessors import ExecutePreprocessor
    from nbformat import NotebookNode

    interrupt = NotebookClient._async_handle_timeout

    async def handle_timeout(self, timeout, cell=None):
        reply = await interrupt(self, timeout, cell)  # interrupts the kernel (interrupt_on_timeout)
        try:  # the interrupted cell's execute_reply: nothing else is in flight on the shell channel
            await ensure_async(self.kc.shell_channel.get_msg(timeout=GRACE_S))
        except queue.Empty:
            name = (cell or {}).get("metadata", {}).get("nbgrader", {}).get("grade_id") or "a cell"
            # On the kernel's manager, not on self: the preprocessor serves every notebook of an
            # assignment, each with a manager (and kernel) of its own.
            self.km._gu_stopped = (f"not run: the kernel ignored the interruption of {name} (past its "
                                   f"time limit) for {GRACE_S:g} s, so the grader stopped it")
            self.log.error("Kernel ignored the interrupt; stopping it")
            await ensure_async(self.km.shutdown_kernel(now=True))
        return reply

    run_cell = ExecutePreprocessor.preprocess_cell

    def preprocess_cell(self, cell, resources, index):
        stopped = getattr(self.km, "_gu_stopped", None)
        if stopped and cell.cell_type == "code":
            cell.outputs = [NotebookNode(output_type="error", ename=NOT_RUN, evalue=stopped,
                                         traceback=[f"{NOT_RUN}: {stopped}"])]
            return cell, resources
        return run_cell(self, cell, resources, index)

    NotebookClient._async_handle_timeout = handle_timeout
    ExecutePreprocessor.preprocess_cell = preprocess_cell


def run_one(job: dict) -> int:
    from nbgrader.apps.autogradeapp import AutogradeApp

    global GRACE_S
    os.chdir(job["scratch"])
    GRACE_S = float(job.get("grace_s", 10.0))
    for key, value in job["env"].items():
        os.environ[key] = value
    saved = os.dup(1), os.dup(2)
    log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1), os.dup2(log, 2)
    try:
        app = AutogradeApp()
        app.initialize([job["assignment"], "--student", job["student"], "--force", "--log-level=WARN"])
        app.start()
        return 0
    except SystemExit as stop:
        return 0 if stop.code in (0, None) else 1
    except BaseException as err:  # anything nbgrader raised: the log says what
        import traceback

        traceback.print_exc()
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        return 1
    finally:
        sys.stdout.flush(), sys.stderr.flush()
        os.dup2(saved[0], 1), os.dup2(saved[1], 2)
        os.close(log)
        for fd in saved:
            os.close(fd)


def main() -> None:
    import nbgrader.apps.autogradeapp  # noqa: F401  (the import is the cost this process pays once)

    _stop_kernels_that_ignore_interrupts()

    answer = os.fdopen(os.dup(1), "w", buffering=1)
    print(json.dumps({"ready": True}), file=answer)
    for line in sys.stdin:
        rc = run_one(json.loads(line))
        print(json.dumps({"rc": rc}), file=answer)


if __name__ == "__main__":
    main()
