"""Run one casebook case (Chapter 14) at a size and record it in ``results/casebook_full.json``.

    OMP_NUM_THREADS=1 python -m benchmarks.casebook_full CASE [--size full|small]

One case per process, so each entry's CPU time and peak memory are that case's alone (a cold
cache included: a case that trains or embeds does it in the run that first needs it). The
entry holds the ``CaseResult`` itself (long numeric lists in ``details`` reduced to their
length, ends and mean), wall and CPU seconds, peak RSS and the load average before and after.
``--not-run CASE REASON`` records a case left out and why.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import resource
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "casebook_full.json"

# Each case's size settings, as the case modules define them ('small': the book page's).
SETTINGS = {
    "temperature": {"small": "16 prompts x 6 samples x 48 tokens", "full": "64 prompts x 10 samples x 48 tokens"},
    "context-window": {"small": "RoPE model 400 steps; eval B=16, T=512", "full": "RoPE model 2,000 steps; eval B=64, T=1,024"},
    "numbers": {"small": "2,000 numbers", "full": "20,000 numbers"},
    "kv-cache": {"small": "150 new tokens", "full": "480 new tokens"},
    "long-context": {"small": "T = 256, 512, 1,024", "full": "T = 512 ... 8,192"},
    "padding": {"small": "64 requests", "full": "1,024 requests"},
    "languages": {"small": "10 languages, 2 texts", "full": "10 languages, 2 texts (no size knob)"},
    "formats": {"small": "200 records", "full": "2,000 records"},
    "kv-memory": {"small": "8 sequences x 512 tokens", "full": "64 sequences x 512 tokens"},
    "norms": {"small": "300 queries, 1,700 passages", "full": "400 queries, 4,000 passages"},
    "chunking": {"small": "300 queries, 1,700 passages", "full": "400 queries, 4,000 passages"},
    "distractors": {"small": "300 queries, 1,700 passages", "full": "400 queries, 4,000 passages"},
    "vocabulary": {"small": "300 queries, 1,700 passages", "full": "400 queries, 4,000 passages"},
    "anisotropy": {"small": "300 queries, 1,700 passages", "full": "400 queries, 4,000 passages"},
    "finetune": {"small": "Chapter 8 small: 1,000-step pretrain, 2 x 40 steps of 8", "full": "finetune-cpu: 2,000-step pretrain, 2 x 1,000 steps of 12"},
    "rag-miss": {"small": "60 people", "full": "200 people"},
}


def _plain(x, max_list: int = 40):
    """JSON-ready ``x``: tensors and tuples as lists, long numeric lists as a summary."""
    import torch

    if isinstance(x, torch.Tensor):
        x = x.tolist()
    if isinstance(x, dict):
        return {str(k): _plain(v, max_list) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        if len(x) > max_list and all(isinstance(v, (int, float)) for v in x):
            return {"n": len(x), "first": x[:5], "last": x[-5:], "mean": sum(x) / len(x),
                    "min": min(x), "max": max(x)}
        return [_plain(v, max_list) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None  # strict JSON has no NaN or Infinity
    return x


def load() -> dict:
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else {"cases": {}, "not_run": {}}


def save(data: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("case")
    p.add_argument("--size", default="full", choices=["small", "full"])
    p.add_argument("--not-run", metavar="REASON", help="record the case as not run, with this reason")
    args = p.parse_args(argv)
    if args.not_run:
        data = load()
        data["not_run"][args.case] = {"settings": SETTINGS[args.case]["full"], "reason": args.not_run}
        save(data)
        return 0
    load0 = os.getloadavg()
    t0, c0 = time.perf_counter(), time.process_time()
    import torch

    from groundup.casebook import run_case

    torch.set_num_threads(1)
    result = run_case(args.case, args.size)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(result.summary())
    print(f"  ({wall:.1f} s wall, {cpu:.1f} s CPU, load {os.getloadavg()[0]:.2f})")
    entry = {"size": args.size, "settings": SETTINGS[args.case][args.size], "wall_s": round(wall, 2),
             "cpu_s": round(cpu, 2), "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
             "load_start": [round(v, 2) for v in load0], "load_end": [round(v, 2) for v in os.getloadavg()],
             "threads": torch.get_num_threads(), "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
             "improved": result.improved, "factor": _plain(result.factor),  # None: after is 0
             "result": _plain(dataclasses.asdict(result))}
    data = load()
    data["machine"] = {"cpu": platform.machine(), "cores": os.cpu_count(), "python": platform.python_version(),
                       "torch": torch.__version__, "note": "shared machine: read CPU time beside wall time"}
    data["cases"].setdefault(args.case, {})[args.size] = entry
    data["not_run"].pop(args.case, None) if args.size == "full" else None
    save(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
