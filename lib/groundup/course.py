"""Instructor tooling: release the exercises from the solutions with nbgrader.

`python -m groundup.course generate` (what `make exercises` runs) turns every
`solutions/<chapter>/<chapter>.ipynb` into `exercises/<chapter>/<chapter>.ipynb`:
solution regions become `raise NotImplementedError()` stubs and hidden tests vanish.
nbgrader's output is deterministic, so `tests/test_exercises.py` can compare bytes
and fail when a solution changed but the release was not regenerated.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def assignments(root: Path = ROOT) -> list[str]:
    """Chapter ids that have a solution notebook, e.g. ``['ch01_tokens', ...]``."""
    return sorted(p.parent.name for p in (root / "solutions").glob("*/*.ipynb")
                  if p.stem == p.parent.name)


def nbgrader_env() -> dict[str, str]:
    """The environment for nbgrader: it runs `alembic` from PATH, so put this Python's bin first."""
    bindir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""), "MPLBACKEND": "Agg"}


def generate(assignment: str, root: Path = ROOT, release_dir: Path | None = None) -> Path:
    """Run ``nbgrader generate_assignment`` for one chapter; return the released folder.

    The gradebook goes to a temporary database, so nothing but the release is written.
    ``release_dir`` (default ``root/exercises``) lets a test generate elsewhere.
    """
    release_dir = Path(release_dir) if release_dir else root / "exercises"
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable, "-m", "nbgrader", "generate_assignment", assignment,
            "--force", "--log-level=WARN",
            f"--CourseDirectory.root={root}",
            f"--CourseDirectory.release_directory={release_dir}",
            f"--CourseDirectory.db_url=sqlite:///{tmp}/gradebook.db",
        ]
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=nbgrader_env())
        if proc.returncode != 0:
            raise RuntimeError(
                f"nbgrader generate_assignment {assignment} failed:\n{proc.stdout}\n{proc.stderr}")
    return release_dir / assignment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m groundup.course")
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="regenerate exercises/ from solutions/")
    gen.add_argument("assignment", nargs="*", help="chapter ids (default: all)")
    args = parser.parse_args(argv)
    if args.command == "generate":
        for name in args.assignment or assignments():
            out = generate(name)
            # nbgrader copies the whole source folder; keep only what learners need.
            for junk in out.glob("**/.ipynb_checkpoints"):
                shutil.rmtree(junk)
            print(f"released {name} -> {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
