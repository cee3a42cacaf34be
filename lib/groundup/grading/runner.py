"""A grading process that imports nbgrader once and autogrades scratch copies one after another.

Starting Python and importing nbgrader costs several seconds of CPU, as much as grading a
short notebook; plain ``nbgrader autograde`` pays it once per class, and so does each of
these processes. ``worker.Runner`` starts one per job slot (in a session of its own) and
sends it one line of JSON per submission::

    {"scratch": "/tmp/.../alice-x", "assignment": "ch03_attention", "student": "alice",
     "marker": "9f...", "log": "/tmp/.../nbgrader.log"}

It runs ``nbgrader autograde`` in that folder (its configuration, its gradebook), with
stdout and stderr sent to ``log`` and ``GROUNDUP_GRADER_RUN=marker`` in the environment
its kernel inherits, and answers ``{"rc": 0}`` (or 1). The parent kills the whole process
group when a submission runs past its limit, and starts a new runner.
"""

from __future__ import annotations

import json
import os
import sys


def run_one(job: dict) -> int:
    from nbgrader.apps.autogradeapp import AutogradeApp

    os.chdir(job["scratch"])
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

    answer = os.fdopen(os.dup(1), "w", buffering=1)
    print(json.dumps({"ready": True}), file=answer)
    for line in sys.stdin:
        rc = run_one(json.loads(line))
        print(json.dumps({"rc": rc}), file=answer)


if __name__ == "__main__":
    main()
