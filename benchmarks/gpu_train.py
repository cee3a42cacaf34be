"""GPU checks and benchmarks for Part III, in one run (< 8 minutes on an H200).

    bash benchmarks/gpu.sh                         # or: python -m benchmarks.gpu_train
    python -m benchmarks.gpu_train --dry-run       # the same code on CPU with a tiny model
    python -m benchmarks.gpu_train --ladder        # only the speed ladder (2.)
    OMP_NUM_THREADS=1 python -m benchmarks.gpu_train --ladder --cpu   # the CPU ladder, one thread
    (benchmarks/results/speed_ladder_cpu.json; add --cpu-compile for the torch.compile rung)

1. correctness on CUDA: our GPT loaded from a (random) GPT2LMHeadModel checkpoint gives the
   same logits as transformers, fp32 (TF32 off) and under bf16 autocast;
2. the speed ladder (``benchmarks/speed_ladder.py``): GPT-2 small (124M), context 1,024,
   ms/step, tokens/s and MFU after each of fp32 -> TF32 -> bf16 autocast -> torch.compile ->
   flash attention (SDPA) -> vocab padded to 50,304 -> fused AdamW, then transformers'
   GPT2LMHeadModel with the last rung's settings, same batches, same run. Its last rung is
   ours at full speed, so it is also the ours-vs-transformers throughput comparison;
3. the trainer end to end on CUDA: bf16 + compile, and fp16 + GradScaler (colab-t4 path).

Writes a markdown report to ``--out`` (default ``$OUT/gpu_results.md`` when $OUT is set,
else ``benchmarks/gpu_results.md``) and the ladder to ``speed_ladder_gpu.json`` ($OUT, else
``benchmarks/results/``; the Chapter 6 page glues it). Without CUDA (and without --dry-run or
--cpu) it says so and exits 0.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

T_START = time.perf_counter()


def elapsed() -> float:
    return time.perf_counter() - T_START


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


# ----------------------------------------------------------------------------- 1. correctness
def check_correctness(device: str, small: bool) -> dict:
    from transformers import GPT2Config, GPT2LMHeadModel

    from groundup.gpt import GPT

    torch.manual_seed(0)
    size = dict(n_layer=2, n_head=4, n_embd=64, n_positions=64, vocab_size=100) if small else \
        dict(n_layer=12, n_head=12, n_embd=768, n_positions=1024, vocab_size=50257)
    hf = GPT2LMHeadModel(GPT2Config(**size, bos_token_id=0, eos_token_id=0))
    with tempfile.TemporaryDirectory() as tmp:
        hf.save_pretrained(tmp)
        ours = GPT.from_hf(tmp).to(device)
    hf = hf.to(device).eval()
    idx = torch.randint(0, size["vocab_size"], (4, size["n_positions"]), generator=torch.Generator().manual_seed(1))
    idx = idx.to(device)
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    with torch.no_grad():
        diff32 = (ours(idx)[0] - hf(idx).logits).abs().max().item()
        dtype = torch.bfloat16
        with torch.autocast(device.split(":")[0], dtype=dtype):
            a, b = ours(idx)[0].float(), hf(idx).logits.float()
        diff16 = (a - b).abs().max().item()
        scale = b.abs().max().item()
    torch.backends.cuda.matmul.allow_tf32 = tf32
    return {"fp32_max_abs_diff": diff32, "bf16_max_abs_diff": diff16, "logit_scale": scale,
            "fp32_ok": diff32 < 1e-4, "bf16_ok": diff16 < 0.05 * max(scale, 1.0)}


# ----------------------------------------------------------------------------- 3. trainer
def trainer_runs(device: str, small: bool) -> dict:
    from groundup.gpt import GPTConfig
    from groundup.train import TrainConfig, train

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = {
            "bf16+compile": dict(dtype="bfloat16", compile=not small),
            "fp16+GradScaler": dict(dtype="float16", compile=False),
        }
        for label, kw in runs.items():
            if small and kw["dtype"] == "float16":
                continue  # fp16 autocast + GradScaler is a CUDA feature
            cfg = dataclasses.replace(
                TrainConfig.preset("cpu-tiny"),
                model=GPTConfig.preset("course-tiny" if small else "course-small"),
                block_size=32 if small else 256, batch_size=4 if small else 64, max_iters=3 if small else 200,
                lr_decay_iters=200, warmup_iters=10, eval_interval=200, eval_iters=2 if small else 20,
                max_chars=20_000 if small else 0, device=device, data_dir=f"{tmp}/data", out_dir=f"{tmp}/{label}",
                progress=False, vocab_multiple=64, **kw,
            )
            t0 = time.perf_counter()
            r = train(cfg)
            out[label] = {"steps": cfg.max_iters, "seconds": time.perf_counter() - t0, "ms_per_iter": r.ms_per_iter,
                          "tokens_per_s": r.tokens_per_s, "mfu": r.mfu, "first_loss": r.history["loss"][0],
                          "final_train_loss": r.history["eval"][-1][1], "final_val_loss": r.history["eval"][-1][2]}
    return out


# ----------------------------------------------------------------------------- report
def report(results: dict, path: Path) -> None:
    lines = ["# GPU checks and benchmarks (benchmarks/gpu_train.py)", "", f"device: {results['device']}",
             f"torch {torch.__version__}; total {results['total_s']:.0f} s", ""]
    if "correctness" in results:
        c = results["correctness"]
        lines += ["## Correctness vs transformers (copied weights)",
                  f"- fp32 (TF32 off): max |logit diff| {c['fp32_max_abs_diff']:.2e} -> {'OK' if c['fp32_ok'] else 'FAIL'}",
                  f"- bf16 autocast: max |logit diff| {c['bf16_max_abs_diff']:.3f} (logit scale {c['logit_scale']:.1f})"
                  f" -> {'OK' if c['bf16_ok'] else 'FAIL'}", ""]
    if "ladder" in results:
        from benchmarks.speed_ladder import table

        lines += ["## Speed ladder: training step of GPT-2 small, rung by rung", "", table(results["ladder"]), ""]
    if "trainer" in results:
        lines += ["## groundup.train end to end", "", "| run | steps | s | ms/step | tokens/s | MFU | loss first -> val |",
                  "|---|---|---|---|---|---|---|"]
        for label, r in results["trainer"].items():
            m = "n/a" if r["mfu"] is None else f"{100 * r['mfu']:.1f}%"
            lines.append(f"| {label} | {r['steps']} | {r['seconds']:.0f} | {r['ms_per_iter']:.1f} | "
                         f"{r['tokens_per_s']:,.0f} | {m} | {r['first_loss']:.2f} -> {r['final_val_loss']:.3f} |")
    for k, v in results.get("errors", {}).items():
        lines.append(f"\n**{k} failed:** `{v}`")
    path.write_text("\n".join(lines) + "\n")
    path.with_suffix(".json").write_text(json.dumps(results, indent=1, default=str))


def _ladder(args, device: str, budget_s: float = float("inf")) -> dict:
    from benchmarks.speed_ladder import ladder

    if args.dry_run:
        size, name = "dry-run", "speed_ladder_dry_run.json"
    elif device == "cpu":
        size, name = "cpu", "speed_ladder_cpu.json"
    else:
        size, name = "gpt2", "speed_ladder_gpu.json"
    if args.ladder_out is not None:
        out = args.ladder_out
    elif os.environ.get("OUT"):
        out = Path(os.environ["OUT"]) / name
    elif args.dry_run:
        out = None  # a dry run leaves no file behind unless asked to
    else:
        out = Path(__file__).with_name("results") / name
    steps = args.steps or (2 if args.dry_run else 20 if device.startswith("cuda") else 40)
    warmup = 1 if args.dry_run else 5
    machine = args.machine or (f"{os.cpu_count()} CPU cores, {torch.get_num_threads()} torch thread(s)"
                               if device == "cpu" else "one GPU")
    return ladder(device, size, steps=steps, warmup=warmup, out=out, machine=machine, budget_s=budget_s,
                  dry_run=args.dry_run, rung_s=45.0 if device == "cpu" and not args.dry_run else float("inf"),
                  cpu_compile=args.cpu_compile)


def run_ladder(args) -> int:
    """``--ladder``: the speed ladder alone (GPU, or --cpu / --dry-run on CPU)."""
    from benchmarks.speed_ladder import table

    if not (args.cpu or args.dry_run) and not torch.cuda.is_available():
        print("gpu_train --ladder: no CUDA device here (use --cpu for the CPU ladder, --dry-run to test the code).")
        return 0
    device = "cpu" if (args.cpu or args.dry_run) else "cuda"
    if args.cpu and not args.dry_run:
        torch.set_num_threads(1)  # one thread: two threads spin against each other on a shared 2-core machine
    result = _ladder(args, device, budget_s=args.budget_s)
    print(table(result))
    failed = [r["name"] for r in result["rungs"] if r["note"].startswith("failed")]
    return 1 if failed or result.get("reference_error") else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="GPU checks and benchmarks for groundup.gpt / groundup.train")
    p.add_argument("--dry-run", action="store_true", help="run everything on CPU with a tiny model")
    p.add_argument("--out", type=Path, default=None, help="markdown results file")
    p.add_argument("--steps", type=int, default=None, help="timed steps per ladder rung (GPU 20, CPU 40)")
    p.add_argument("--budget-s", type=float, default=300.0, help="skip later sections past this many seconds")
    p.add_argument("--ladder", action="store_true", help="run only the speed ladder and write its JSON")
    p.add_argument("--cpu", action="store_true", help="with --ladder: the CPU ladder (course-tiny, this machine)")
    p.add_argument("--cpu-compile", action="store_true", help="with --ladder --cpu: include the torch.compile rung")
    p.add_argument("--ladder-out", type=Path, default=None, help="the ladder's JSON file")
    p.add_argument("--machine", default="", help="words on the machine, for the ladder's JSON")
    args = p.parse_args(argv)
    if args.ladder:
        return run_ladder(args)
    if not args.dry_run and not torch.cuda.is_available():
        print("gpu_train: no CUDA device here; nothing to measure (use --dry-run to exercise the code on CPU).")
        return 0
    device = "cpu" if args.dry_run else "cuda"
    out = args.out or (Path(os.environ["OUT"]) / "gpu_results.md" if os.environ.get("OUT")
                       else Path(__file__).with_name("gpu_results.md"))
    results = {"device": "cpu (dry run)" if args.dry_run else torch.cuda.get_device_name(0), "errors": {}}
    sections = [
        ("correctness", lambda: check_correctness(device, args.dry_run)),
        # the ladder gets what is left of the budget less ~60 s for the trainer runs after it
        ("ladder", lambda: _ladder(args, device, budget_s=max(0.0, args.budget_s - 60 - elapsed()))),
        ("trainer", lambda: trainer_runs(device, args.dry_run)),
    ]
    for name, fn in sections:
        if elapsed() > args.budget_s:
            results["errors"][name] = f"skipped: {elapsed():.0f} s used of the {args.budget_s:.0f} s budget"
            continue
        print(f"[{elapsed():6.1f} s] {name} ...", flush=True)
        try:
            results[name] = fn()
        except Exception as e:  # record and go on: one failure should not hide the other figures
            results["errors"][name] = f"{type(e).__name__}: {e}"
        results["total_s"] = elapsed()
        report(results, out)  # rewrite after each section: a timeout still leaves figures
    print(out.read_text())
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
