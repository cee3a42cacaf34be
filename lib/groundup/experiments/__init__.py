"""Small CPU experiments that answer the chapters' questions (Parts I-III).

Each experiment is one module with a frozen dataclass config (its default size and
a ``.small()`` size for the book build), ``run(config, progress=True)`` that returns
a results dataclass, ``plot(results, out)`` with matplotlib, and a command line::

    python -m groundup.experiments.arithmetic [--full]     # addition under three number splits (Ch 1)
    python -m groundup.experiments.recall [--full]         # attention vs a local window vs a GRU (Ch 3)
    python -m groundup.experiments.extrapolation [--full]  # position schemes past the training length (Ch 4)
    python -m groundup.experiments.temperature [--full]    # what temperature does to samples (Ch 7)

Without ``--full`` the command runs the small size that the book uses.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

import torch

__all__ = ["seeded", "stopwatch", "threads", "save_figure"]


@contextmanager
def seeded(seed: int):
    """Seed torch's global generator inside the block and restore its state after it."""
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.random.set_rng_state(state)


@contextmanager
def threads(n: int | None):
    """Run the block with ``n`` torch threads (None: leave the setting alone).

    Models this small gain little from a second thread, and when the cores are shared
    (a parallel test run, a book build) OpenMP threads that wait on each other can make
    a step many times slower. The experiments therefore default to one thread.
    """
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def stopwatch():
    """``with stopwatch() as t: ...`` then ``t()`` is the seconds the block took."""
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


def save_figure(fig, path: str | Path) -> Path:
    """Save a matplotlib figure as a PNG (creating folders) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path


def parse_size(argv: list[str] | None, doc: str, default_out: str, config_cls):
    """The experiments' shared command line: ``--full`` / ``--tiny`` / ``--out``.

    Returns ``(config, out, tiny)``: ``config_cls()`` for ``--full``, ``config_cls.tiny()`` for
    ``--tiny`` (what the unit tests run) and ``config_cls.small()`` (the book's size) otherwise.
    """
    import argparse

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="run the default size (minutes) instead of the small one")
    parser.add_argument("--out", default=default_out, help="where to save the plot (PNG)")
    parser.add_argument("--tiny", action="store_true", help="a seconds-long smoke test (what the unit tests run)")
    args = parser.parse_args(argv)
    config = config_cls.tiny() if args.tiny else config_cls() if args.full else config_cls.small()
    return config, args.out, args.tiny
