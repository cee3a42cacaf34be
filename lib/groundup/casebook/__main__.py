"""``python -m groundup.casebook CASE [--full | --tiny]``: run a case and print before and after.

``CASE`` is a case's name or ``all``; the default size is the book page's ('small')."""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    import torch

    from groundup.casebook import CASE_NAMES, run_case

    parser = argparse.ArgumentParser(prog="python -m groundup.casebook", description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=[*CASE_NAMES, "all"], help="which case to run")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_const", const="full", dest="size", help="the full-size version")
    size.add_argument("--tiny", action="store_const", const="tiny", dest="size", help="the unit tests' size")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    for name in CASE_NAMES if args.case == "all" else [args.case]:
        t0 = time.perf_counter()
        result = run_case(name, args.size or "small")
        print(result.summary())
        print(f"  ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
