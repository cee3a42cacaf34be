"""Grade one submission in a scratch copy of its own, under limits; report what happened.

The scratch copy holds only what nbgrader needs: a configuration written here, a copy of
the run's template gradebook (the assignment's cells with hidden tests, no solutions),
the released assignment's other files, and the student's notebook, rebuilt by
``notebooks.restore``. No other file of the submission, no ``solutions/``, no course
gradebook, no other student. ``nbgrader autograde`` runs there, in a :class:`Runner`
(``runner.py``: a process of its own session that imported nbgrader once); its kernel is
started by ``kernel.py`` (limits, sandbox). A submission past its limit has the runner's
whole process group killed; after each one, any process still carrying the submission's
marker is killed. The result goes back to the parent as a :class:`Result`; only the parent
writes the course's gradebook.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from groundup.grading import kernel as kernel_launcher
from groundup.grading import notebooks

KERNEL_NAME = "groundup-grader"
STATUSES = ("graded", "timed out", "crashed", "invalid notebook", "tampered")


@dataclass(frozen=True)
class Limits:
    time_s: float = 600.0             # wall clock for the whole submission (kernel start included)
    cell_s: float = 300.0             # one cell; a cell past it is interrupted and fails
    grace_s: float = 10.0             # an interrupted cell still running after this: kernel stopped
    memory_bytes: int = 6 << 30       # address space of the kernel (RLIMIT_AS)
    output_bytes: int = 64 << 10      # kept per cell in the graded notebook and the feedback
    file_bytes: int = 256 << 20       # largest file the kernel may write (RLIMIT_FSIZE)
    tmp_bytes: int = 512 << 20        # the sandbox's /tmp (a RAM disk)
    grader_memory_bytes: int = 8 << 30  # nbgrader's own process (it holds the kernel's outputs)


@dataclass
class Job:
    student: str
    assignment: str
    notebook: Path                    # the submitted notebook (read, never written)
    template: Path                    # the run's template course (gradebook + release)
    release: Path                     # the released notebook students got
    secret: bytes                     # seals of this run
    limits: Limits
    sandbox: bool
    scratch_root: Path
    timestamp: str | None = None
    ignored: list[str] = field(default_factory=list)  # other files in the submission folder


@dataclass
class Result:
    student: str
    status: str
    reason: str = ""
    score: float = 0.0
    max_score: float = 0.0
    cells: dict[str, float] = field(default_factory=dict)  # grade_id -> points earned
    notes: list[str] = field(default_factory=list)        # restored/tampered cells, ...
    seconds: float = 0.0
    notebook: nbformat.NotebookNode | None = None          # for autograded/ and feedback
    timestamp: str | None = None


def _config(scratch: Path, job: Job, ipc: Path) -> str:
    lim = job.limits
    return f"""# Written by groundup.grading.worker for one submission; not the course's config.
import time
c = get_config()  # noqa: F821
c.CourseDirectory.root = {str(scratch)!r}
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.course_id = "groundup"
c.CourseDirectory.db_url = "sqlite:///{scratch}/gradebook.db"
c.Execute.kernel_name = {KERNEL_NAME!r}
c.Execute.interrupt_on_timeout = True
c.Execute.timeout = {int(lim.cell_s)}
_deadline = time.monotonic() + {lim.time_s!r}
# A cell may run until its own limit or the submission's deadline, whichever comes first.
c.Execute.timeout_func = lambda cell: max(1, int(min({lim.cell_s!r}, _deadline - time.monotonic())))
c.Execute.error_on_timeout = {{"ename": "CellTimeoutError", "evalue": "the cell ran past its time limit and was interrupted",
                               "traceback": ["CellTimeoutError: the cell ran past its time limit and was interrupted"]}}
c.Execute.raise_on_iopub_timeout = False  # a kernel stuck after an interrupt: go on, do not crash
c.KernelManager.transport = "ipc"
c.KernelManager.ip = {str(ipc / "k")!r}
c.OverwriteCells.add_missing_cells = False  # the grader restores deleted cells itself
"""


def _write_kernelspec(jupyter: Path, config: Path) -> None:
    spec = jupyter / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "groundup.grading.kernel", str(config), "{connection_file}"],
        "display_name": "Ground Up grader", "language": "python", "interrupt_mode": "message"}))


class Runner:
    """A ``runner.py`` process (nbgrader imported once) that grades submissions one at a time."""

    _local = threading.local()

    def __init__(self, memory_bytes: int):
        cmd = [sys.executable, "-m", "groundup.grading.runner"]
        if shutil.which("prlimit"):  # nbgrader holds the kernel's outputs: cap it too
            cmd = ["prlimit", f"--as={memory_bytes}", "--"] + cmd
        env = {**os.environ, "MPLBACKEND": "Agg",
               "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
        env.pop("GROUNDUP_GRADER_RUN", None)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=env, text=True, bufsize=1, start_new_session=True)
        self.pid = self.proc.pid
        if self._answer(timeout=300) is None:
            self.kill()
            raise RuntimeError("the grading process did not start (python -m groundup.grading.runner)")

    def _answer(self, timeout: float) -> dict | None:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return None
        line = self.proc.stdout.readline()
        return json.loads(line) if line else None

    DIED = -1

    def run(self, job: dict, timeout: float) -> int | None:
        """nbgrader's exit status for ``job``; None when it ran past ``timeout``; DIED when it died."""
        try:
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return self.DIED
        answer = self._answer(timeout)
        if answer is None:
            return self.DIED if self.proc.poll() is not None else None
        return answer["rc"]

    def kill(self) -> None:
        _kill_group(self.pid)
        self.proc.wait()

    @classmethod
    def for_this_thread(cls, memory_bytes: int) -> "Runner":
        runner = getattr(cls._local, "runner", None)
        if runner is None or runner.proc.poll() is not None:
            runner = cls._local.runner = cls(memory_bytes)
            _all_runners.append(runner)
        return runner

    @classmethod
    def discard_this_thread(cls) -> None:
        runner = getattr(cls._local, "runner", None)
        if runner is not None:
            runner.kill()
            cls._local.runner = None


_all_runners: list[Runner] = []


def stop_runners() -> None:
    """End every grading process this process started (called when a class is done)."""
    while _all_runners:
        _all_runners.pop().kill()


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def leftover_processes(marker: str) -> list[int]:
    """Processes whose environment carries this submission's marker (outlived their kernel)."""
    found = []
    needle = f"GROUNDUP_GRADER_RUN={marker}".encode()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def _nbgrader_cause(log: str) -> str:
    """The line of nbgrader's log that names the cause (not 'see the above traceback')."""
    known = re.findall(r"^\s*(?:[\w.]+\.)?(\w*(?:Error|Exception|Interrupt))(?::\s*(.*))?$", log, re.M)
    skip = {"NbGraderException", "CellExecutionError"}
    causes = [f"{name}: {msg}".rstrip(": ") for name, msg in known if name not in skip]
    if causes:
        return causes[-1][:300]
    errors = [l.strip() for l in log.splitlines() if "[ERROR]" in l and "above traceback" not in l]
    return (errors[0] if errors else log.strip().splitlines()[-1] if log.strip() else "no output")[:300]


def grade(job: Job) -> Result:
    """Grade ``job`` in a fresh scratch copy; never raises for anything the student did."""
    start = time.monotonic()
    result = Result(job.student, "graded", timestamp=job.timestamp)
    if job.ignored:
        result.notes.append("ignored files in the submission folder: " + ", ".join(sorted(job.ignored)[:10]))
    problem = notebooks.check(job.notebook) if job.notebook.exists() else f"no {job.notebook.name} submitted"
    if problem:
        result.status, result.reason = "invalid notebook", problem
        return result
    release = nbformat.read(job.release, as_version=4)
    template_release = nbformat.read(job.template / "release" / job.assignment / job.release.name, as_version=4)
    student_nb, restored = notebooks.restore(nbformat.read(job.notebook, as_version=4), release, template_release)
    result.notes += restored
    suspicious = notebooks.suspicious_code(student_nb)
    student_nb.cells.insert(0, notebooks.guard_cell(release))

    scratch = Path(tempfile.mkdtemp(prefix=f"{job.student[:20]}-", dir=job.scratch_root))
    ipc = Path(tempfile.mkdtemp(prefix="gu", dir="/tmp"))  # Unix socket paths must be short
    marker = os.urandom(8).hex()
    try:
        shutil.copy(job.template / "gradebook.db", scratch / "gradebook.db")
        (scratch / "source" / job.assignment).mkdir(parents=True)
        released_dir = job.template / "release" / job.assignment
        for item in released_dir.rglob("*"):
            if item.is_file() and item.suffix != ".ipynb":
                dest = scratch / "source" / job.assignment / item.relative_to(released_dir)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(item, dest)
        sub = scratch / "submitted" / job.student / job.assignment
        sub.mkdir(parents=True)
        nbformat.write(student_nb, sub / job.release.name)
        if job.timestamp:
            (sub / "timestamp.txt").write_text(job.timestamp)
        kroot = scratch / "kernels"
        kroot.mkdir()
        kconf = scratch / "sandbox.json"
        kconf.write_text(json.dumps({
            "memory_bytes": job.limits.memory_bytes, "file_bytes": job.limits.file_bytes,
            "tmp_bytes": job.limits.tmp_bytes, "sandbox": job.sandbox, "kernel_root": str(kroot),
            "ro_paths": kernel_launcher.python_paths(), "bind_paths": [str(ipc)]}))
        _write_kernelspec(scratch / "jupyter", kconf)
        (scratch / "nbgrader_config.py").write_text(_config(scratch, job, ipc))
        runtime = scratch / "runtime"
        runtime.mkdir()
        env = {"JUPYTER_PATH": str(scratch / "jupyter"), "JUPYTER_RUNTIME_DIR": str(runtime),
               "JUPYTER_CONFIG_DIR": str(scratch / "jupyter-config"), "JUPYTER_DATA_DIR": str(scratch / "jupyter"),
               "GROUNDUP_GRADER_RUN": marker}
        log = scratch / "nbgrader.log"
        # The cells' own limits end first; this is the backstop for a kernel that ignores them.
        backstop = job.limits.time_s + 60
        runner = Runner.for_this_thread(job.limits.grader_memory_bytes)
        rc = runner.run({"scratch": str(scratch), "assignment": job.assignment, "student": job.student,
                         "grace_s": job.limits.grace_s,
                         "env": env, "log": str(log)}, timeout=backstop)
        if rc is None or rc == Runner.DIED:
            Runner.discard_this_thread()  # kills its process group: nbgrader and the kernel
        stray = [pid for pid in leftover_processes(marker) if pid != runner.pid]
        for pid in stray:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if stray:
            result.notes.append(f"{len(stray)} process(es) outlived the grading and were killed")
        text = log.read_text(errors="replace") if log.exists() else ""
        if rc is None:
            result.status = "timed out"
            result.reason = f"still running {backstop:.0f} s after the start: killed (the submission's limit is {job.limits.time_s:.0f} s)"
            return result
        if rc == Runner.DIED:
            result.status = "crashed"
            result.reason = ("the grading process died (over its memory cap of "
                             f"{job.limits.grader_memory_bytes >> 30} GiB? a huge output?): " + _nbgrader_cause(text))
            return result
        graded_path = scratch / "autograded" / job.student / job.assignment / job.release.name
        if rc != 0 or not graded_path.exists():
            cause = _nbgrader_cause(text)
            result.status = "timed out" if "Timeout" in cause else "crashed"
            result.reason = "nbgrader autograde failed: " + cause
            return result
        _score(result, job, nbformat.read(graded_path, as_version=4), scratch, suspicious)
        result.notebook = notebooks.for_feedback(nbformat.read(graded_path, as_version=4), release,
                                                 job.limits.output_bytes)
        return result
    finally:
        result.seconds = round(time.monotonic() - start, 2)
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(ipc, ignore_errors=True)


def _score(result: Result, job: Job, graded, scratch: Path, suspicious: list[str]) -> None:
    """Points per test cell: nbgrader's verdict, counted only with the cell's seal."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{scratch / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(Path(job.release).stem, job.assignment, job.student)
        maxima = {g.name: g.max_score for g in nb.grades if g.cell_type == "code"}
    sealed = notebooks.seals(graded, job.secret)
    failed = notebooks.failures(graded)
    guarded = notebooks.guard_notes(graded)
    tampered: list[str] = []
    timed_out: list[str] = []
    not_run = [gid for gid in maxima if failed.get(gid, "").startswith(notebooks.NOT_RUN)]
    for gid, max_score in maxima.items():
        report = sealed.get(gid)
        if gid in failed:
            points = 0.0
            if failed[gid].startswith(notebooks.TIMEOUTS):
                timed_out.append(gid)
        elif report is None:
            points = 0.0
            tampered.append(f"test cell {gid!r} ran without printing its seal (emptied or stopped early)")
        else:
            points = max_score
        if gid in guarded:
            tampered.append(f"before {gid!r}: {guarded[gid]}")
        result.cells[gid] = points
    result.max_score = sum(maxima.values())
    result.score = sum(result.cells.values())
    tampered += [f"suspicious code: {s}" for s in suspicious]
    result.notes += tampered
    if timed_out:
        result.status = "timed out"
        result.reason = "ran past the time limit in " + ", ".join(timed_out) + (
            f"; the kernel ignored the interrupt, so the grader stopped it: {len(not_run)} later "
            "test cell(s) not run" if not_run else " (the other cells were graded)")
    elif tampered:
        result.status = "tampered"
        result.reason = "; ".join(dict.fromkeys(tampered))[:1000]
        # A seal can be forged by code written against this module's public source, so the
        # points of a tampered run prove nothing: they are withheld (0 in the gradebook, marked
        # for manual grading) and kept in the notes for the instructor's review.
        result.notes.append(f"points withheld pending review: the tests gave {result.score:g}/{result.max_score:g} "
                            "(" + ", ".join(f"{g} {p:g}" for g, p in result.cells.items()) + ")")
        result.cells = {gid: 0.0 for gid in result.cells}
        result.score = 0.0
