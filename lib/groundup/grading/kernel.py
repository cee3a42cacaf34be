"""The kernel launcher: start a student's IPython kernel with limits, inside a sandbox.

nbgrader starts kernels from a kernelspec; the grader's kernelspec (written into each
scratch copy by ``worker.py``) runs ``python -m groundup.grading.kernel CONFIG CONN`` instead
of ``ipykernel_launcher`` directly. This launcher

1. sets the kernel's resource limits (``setrlimit``, inherited by everything it starts):
   address space (``RLIMIT_AS``, the memory cap), file size (``RLIMIT_FSIZE``), no core dumps;
2. copies the notebook's folder (nbgrader's working copy) into a folder of its own, so the
   kernel never writes where nbgrader writes (a symlink planted there would make nbgrader
   write through it, outside the scratch copy);
3. on Linux with bubblewrap (``bwrap``), execs the kernel in new user, PID, network, IPC and
   mount namespaces as uid 65534, with no capabilities: it sees only the system, Python,
   the course library (read-only), its own working copy and an empty ``/tmp``; no network;
   it dies with its parent, and every process it leaves behind dies with the namespace.
   Kernel and grader talk over Unix sockets (``ipc`` transport) in a folder bound in.
4. starts Python with ``-P`` and IPython with ``ignore_cwd``: the working directory is never
   on ``sys.path`` (a ``groundup/`` folder there cannot shadow the library).

CONFIG is a JSON file: ``{"memory_bytes": int, "file_bytes": int, "sandbox": bool,
"ro_paths": [...], "bind_paths": [...], "tmp_bytes": int}``.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import tempfile
from pathlib import Path

NOBODY = 65534
# What a kernel needs from the system, read-only; paths that do not exist are skipped.
SYSTEM_PATHS = ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32",
                "/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
                "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf",
                "/etc/fonts", "/etc/ssl", "/sys/devices/system/cpu", "/sys/fs/cgroup"]


def bwrap_path() -> str | None:
    """The bubblewrap executable, or None."""
    return shutil.which("bwrap")


def python_paths() -> list[str]:
    """Folders the kernel's Python needs: the interpreter's prefix, the venv, the course library."""
    import groundup

    paths = {sys.base_prefix, sys.prefix, str(Path(groundup.__file__).resolve().parents[1])}
    for entry in sys.path:
        if entry and Path(entry).is_dir() and "site-packages" in entry:
            paths.add(str(Path(entry).resolve()))
    # Skip a path that lies inside another one.
    ordered = sorted(paths, key=len)
    return [p for i, p in enumerate(ordered) if not any(p.startswith(q.rstrip("/") + "/") for q in ordered[:i])]


def bwrap_command(workdir: str, bind_paths: list[str], ro_paths: list[str], tmp_bytes: int) -> list[str]:
    """The bubblewrap command line that runs a command in the kernel's sandbox."""
    cmd = [bwrap_path() or "bwrap", "--unshare-all", "--unshare-user",
           "--uid", str(NOBODY), "--gid", str(NOBODY), "--die-with-parent",
           "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(tmp_bytes), "--tmpfs", "/tmp"]
    for path in SYSTEM_PATHS + ro_paths:
        if os.path.exists(path):
            cmd += ["--ro-bind", path, path]
    for path in bind_paths:
        cmd += ["--bind", path, path]
    return cmd + ["--chdir", workdir]


def set_limits(memory_bytes: int, file_bytes: int) -> None:
    """Caps inherited by the kernel and anything it starts (0 = no cap)."""
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    if file_bytes:
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def kernel_env(home: str) -> dict[str, str]:
    """A clean environment: nothing from the instructor's shell reaches student code."""
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8",
           "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{home}/.matplotlib", "PYTHONNOUSERSITE": "1",
           "PYTHONSAFEPATH": "1", "PYTHONDONTWRITEBYTECODE": "1", "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "NBGRADER_EXECUTION": "autograde"}
    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "GROUNDUP_GRADER_RUN"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    config_path, connection_file = argv[0], argv[1]
    config = json.loads(Path(config_path).read_text())
    nbdir = os.getcwd()  # nbgrader starts the kernel in the notebook's folder
    # The kernel's own copy of that folder: nbgrader's files stay out of its reach.
    work = tempfile.mkdtemp(prefix="kernel-", dir=config["kernel_root"])
    for item in Path(nbdir).iterdir():
        if item.is_file() and not item.is_symlink():
            shutil.copy2(item, work)
    # -P (Python 3.11+) keeps the working directory off sys.path; before 3.11, a bootstrap drops it.
    start = (["-P", "-m", "ipykernel_launcher"] if sys.version_info >= (3, 11) else
             ["-c", "import runpy, sys; del sys.path[0]; runpy.run_module('ipykernel_launcher', run_name='__main__')"])
    kernel = [sys.executable, *start, "-f", connection_file,
              "--IPKernelApp.ignore_cwd=True", "--HistoryManager.enabled=False"]
    set_limits(config["memory_bytes"], config["file_bytes"])
    if config["sandbox"]:
        # (Owned by root outside: inside, uid 65534 is the outside root, mapped, without capabilities.)
        # Inside, the kernel's copy appears where nbgrader put the notebook.
        cmd = bwrap_command(nbdir, [], config["ro_paths"] + [str(Path(connection_file).parent)],
                            config["tmp_bytes"])
        cmd += ["--bind", work, nbdir]
        for path in config["bind_paths"]:
            cmd += ["--bind", path, path]
        cmd += ["--clearenv"]
        for key, value in kernel_env("/tmp").items():
            cmd += ["--setenv", key, value]
        os.execv(cmd[0], cmd + ["--"] + kernel)
    os.chdir(work)
    home = tempfile.mkdtemp(prefix="home-", dir=config["kernel_root"])
    os.execve(sys.executable, kernel, kernel_env(home))


if __name__ == "__main__":
    main()
