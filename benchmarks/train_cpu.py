"""Training speed on CPU, measured side by side: the course's trainer vs a bare loop vs transformers.

    python -m benchmarks.train_cpu                     # 2,000 steps per side (nanoGPT's CPU recipe)
    python -m benchmarks.train_cpu --iters 500         # shorter
    python -m benchmarks.train_cpu --pairs trainer:raw # only the trainer-vs-loop rounds

Three programs train the same model on the same data (preset ``cpu-tiny`` = nanoGPT's CPU
recipe: 4 layers, 4 heads, n_embd 128, context 64, batch 12, AdamW lr 1e-3 -> 1e-4 cosine,
beta2 0.99, grad clip 1, evaluation every 250 steps on 20 batches of each split, a
checkpoint at each evaluation; character level on the built-in corpus):

- ``trainer``: ``groundup.train.train`` as a user runs it (progress reported to a file,
  which is not a terminal, checkpoints on; ``plot=False``: loss.png is timed apart);
- ``raw``: the loop of nanoGPT's train.py over the same model, optimizer, schedule and
  windows: sample a batch, forward, backward, clip, step, zero_grad, ``loss.item()``;
  evaluate and save a checkpoint at the same steps. This is the floor for the trainer;
- ``hf``: the same loop over transformers' ``GPT2LMHeadModel`` (SDPA attention, same
  sizes, same optimizer and batches).

A pair runs *at the same time*, one thread each (``OMP_NUM_THREADS=1``), each pinned to its
own core with ``taskset``; then the cores are swapped (FIELD_NOTES.md). On a shared machine
both sides of a pair see the same load, so the ratio of their CPU times is the figure to
read; absolute times across runs are not comparable. Needs Linux with ``taskset`` and two cores.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKERS = ("trainer", "raw", "hf")


# ----------------------------------------------------------------------------- one side
def _config(iters: int, data_dir: str, out_dir: str):
    from groundup.train import TrainConfig

    return dataclasses.replace(
        TrainConfig.preset("cpu-tiny"), max_iters=iters, lr_decay_iters=iters, warmup_iters=min(100, iters // 10),
        eval_interval=min(250, iters), data_dir=data_dir, out_dir=out_dir, progress=True, plot=False,
    )


def run_trainer(cfg) -> dict:
    from groundup.train import train

    r = train(cfg)
    return {"ms_per_step": r.ms_per_iter, "val_loss": r.history["eval"][-1][2], "history": r.history}


def run_loop(cfg, kind: str) -> dict:
    """nanoGPT's training loop, stripped to its steps, over our GPT (``raw``) or GPT2LMHeadModel (``hf``)."""
    import torch
    import torch.nn.functional as F

    from groundup.gpt import GPT
    from groundup.train import RandomWindows, get_lr, load_tokens, make_optimizer, prepare

    meta = prepare(cfg.data, cfg.tokenizer, cfg.data_dir, progress=False)
    V = meta.vocab_size
    torch.manual_seed(cfg.seed)
    if kind == "raw":
        model = GPT(dataclasses.replace(cfg.model, vocab_size=V))
        loss_of = lambda x, y: model(x, y)[1]  # noqa: E731
    else:
        from transformers import GPT2Config, GPT2LMHeadModel

        m = cfg.model
        model = GPT2LMHeadModel(GPT2Config(
            n_positions=m.block_size, vocab_size=V, n_layer=m.n_layer, n_head=m.n_head, n_embd=m.n_embd,
            resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0,
            attn_implementation="sdpa"))
        loss_of = lambda x, y: F.cross_entropy(model(input_ids=x).logits.view(-1, V), y.view(-1))  # noqa: E731
    model.train()
    optimizer = make_optimizer(model, cfg, "cpu")
    windows = RandomWindows(load_tokens(meta, "train"), cfg.block_size, cfg.batch_size, seed=cfg.seed)

    @torch.no_grad()
    def estimate_loss() -> dict:  # nanoGPT's estimate_loss: eval_iters batches per split, fixed windows
        model.eval()
        out = {}
        for i, split in enumerate(("train", "val")):
            w = RandomWindows(load_tokens(meta, split), cfg.block_size, cfg.batch_size, seed=cfg.seed + 100_003 * (i + 1))
            out[split] = sum(loss_of(*w.next()).item() for _ in range(cfg.eval_iters)) / cfg.eval_iters
        model.train()
        return out

    Path(cfg.out_dir).mkdir(parents=True, exist_ok=True)
    step_times, losses, evals = [], [], []
    for it in range(cfg.max_iters):
        t0 = time.perf_counter()
        lr = get_lr(it, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = windows.next()
        loss = loss_of(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())  # nanoGPT logs every step (log_interval=1)
        step_times.append(time.perf_counter() - t0)
        done = it + 1
        if done % cfg.eval_interval == 0 or done == cfg.max_iters:
            ev = estimate_loss()
            evals.append((done, ev["train"], ev["val"]))
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "iter_num": done},
                       Path(cfg.out_dir) / "ckpt.pt")
    return {"ms_per_step": 1e3 * statistics.median(step_times), "val_loss": evals[-1][2],
            "history": {"loss": losses, "eval": evals}}


def worker(kind: str, iters: int, data_dir: str, out_dir: str) -> dict:
    import torch

    torch.set_num_threads(1)
    cfg = _config(iters, data_dir, out_dir)
    # The timed span: model, optimizer, the loop with its evaluations and checkpoints.
    t0, c0 = time.perf_counter(), time.process_time()
    r = run_trainer(cfg) if kind == "trainer" else run_loop(cfg, kind)
    out = {"kind": kind, "iters": iters, "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
           "ms_per_step": r["ms_per_step"], "val_loss": r["val_loss"]}
    if kind == "trainer":  # what writing loss.png adds to a run (plot=True, the default), timed apart
        from groundup.train import plot_history

        c1 = time.process_time()
        plot_history(r["history"], Path(out_dir) / "loss.png")
        out["plot_cpu_s"] = time.process_time() - c1
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out["process_cpu_s"] = usage.ru_utime + usage.ru_stime  # with Python's and torch's imports
    return out


# ----------------------------------------------------------------------------- pairs
def run_pair(a: str, b: str, cores: tuple[int, int], iters: int, tmp: Path) -> dict:
    """Start ``a`` on core cores[0] and ``b`` on cores[1] at the same moment; wait for both."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    procs = {}
    for kind, core in ((a, cores[0]), (b, cores[1])):
        out = tmp / f"{kind}-{core}.json"
        cmd = ["taskset", "-c", str(core), sys.executable, "-m", "benchmarks.train_cpu", "--worker", kind,
               "--iters", str(iters), "--data-dir", str(tmp / "data"), "--out-dir", str(tmp / f"out-{kind}"),
               "--json", str(out)]
        log = open(tmp / f"{kind}-{core}.log", "w")  # the trainer's progress goes here: not a terminal
        procs[kind] = (subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        cwd=Path(__file__).resolve().parents[1]), out, log)
    result = {}
    for kind, (p, out, log) in procs.items():
        if p.wait() != 0:
            raise RuntimeError(f"{kind} failed: see {log.name}:\n{Path(log.name).read_text()[-2000:]}")
        log.close()
        result[kind] = {**json.loads(out.read_text()), "core": cores[0] if kind == a else cores[1]}
    return result


def machine() -> dict:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=2000, help="training steps per side")
    p.add_argument("--pairs", default="trainer:raw,hf:raw",
                   help="comma-separated a:b pairs, each run twice (a on core 0 then core 1)")
    p.add_argument("--json", type=Path, default=None, help="write the results here")
    p.add_argument("--worker", choices=WORKERS, help=argparse.SUPPRESS)
    p.add_argument("--data-dir", help=argparse.SUPPRESS)
    p.add_argument("--out-dir", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        args.json.write_text(json.dumps(worker(args.worker, args.iters, args.data_dir, args.out_dir)))
        return 0
    if shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        print("train_cpu: needs taskset (Linux) and at least two cores to pin the two sides of a pair.")
        return 1
    from groundup.train import prepare

    pairs = [tuple(pair.split(":")) for pair in args.pairs.split(",")]
    results = {"machine": machine(), "iters": args.iters, "rounds": [],
               "load_average_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        prepare("builtin", "char", tmp / "data", progress=False)  # once, before the clocks start
        for a, b in pairs:
            for cores in ((0, 1), (1, 0)):
                t0 = time.perf_counter()
                r = run_pair(a, b, cores, args.iters, tmp)
                load = os.getloadavg()[0]
                results["rounds"].append({"pair": [a, b], "cores": list(cores), "load_average_end": load, **r})
                print(f"{a} on core {cores[0]} | {b} on core {cores[1]} ({time.perf_counter() - t0:.0f} s, "
                      f"load {load:.1f}): " + "; ".join(
                          f"{k} CPU {r[k]['cpu_s']:.1f} s, wall {r[k]['wall_s']:.1f} s, median step "
                          f"{r[k]['ms_per_step']:.1f} ms, val loss {r[k]['val_loss']:.4f}" for k in (a, b)),
                      flush=True)
                print(f"  CPU-time ratio {a}/{b}: {r[a]['cpu_s'] / r[b]['cpu_s']:.3f}", flush=True)
                if args.json:  # after every round: a run cut short still leaves its rounds
                    args.json.parent.mkdir(parents=True, exist_ok=True)
                    args.json.write_text(json.dumps(results, indent=1) + "\n")
    results["load_average_end"] = os.getloadavg()[0]
    print("\nsummary (ratio of CPU times in the same round; < 1: the first is faster):")
    for a, b in pairs:
        ratios = [r[a]["cpu_s"] / r[b]["cpu_s"] for r in results["rounds"] if r["pair"] == [a, b]]
        results.setdefault("ratios", {})[f"{a}/{b}"] = ratios
        print(f"  {a}/{b}: " + ", ".join(f"{x:.3f}" for x in ratios))
    plots = [r["trainer"]["plot_cpu_s"] for r in results["rounds"] if "trainer" in r]
    if plots:
        print(f"  loss.png (plot=True, the default) adds {min(plots):.1f}-{max(plots):.1f} s of CPU once per run")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
