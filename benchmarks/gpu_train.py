"""GPU checks and benchmarks for Part III, in one run (< 8 minutes on an H200).

    bash benchmarks/gpu.sh                         # or: python -m benchmarks.gpu_train
    python -m benchmarks.gpu_train --dry-run       # the same code on CPU with a tiny model

1. correctness on CUDA: our GPT loaded from a (random) GPT2LMHeadModel checkpoint gives the
   same logits as transformers, fp32 (TF32 off) and under bf16 autocast;
2. throughput: GPT-2 small (124M; vocab 50,304), context 1,024, bf16 autocast,
   torch.compile, SDPA (flash) attention, fused AdamW, TF32: tokens/s and MFU of ours vs
   transformers' GPT2LMHeadModel with the same settings, same batches;
3. the trainer end to end on CUDA: bf16 + compile, and fp16 + GradScaler (colab-t4 path).

Writes a markdown report to ``--out`` (default ``$OUT/gpu_results.md`` when $OUT is set,
else ``benchmarks/gpu_results.md``). Without CUDA (and without --dry-run) it says so and exits 0.
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


# ----------------------------------------------------------------------------- 2. throughput
def throughput(device: str, small: bool, steps: int, warmup: int, batch: int, compile_: bool) -> dict:
    from transformers import GPT2Config, GPT2LMHeadModel

    from groundup.gpt import GPT, GPTConfig
    from groundup.train import TrainConfig, device_peak_flops, make_optimizer, mfu

    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    cfg = GPTConfig(block_size=64, vocab_size=128, n_layer=2, n_head=4, n_embd=64) if small else \
        GPTConfig.preset("gpt2", vocab_size=50304)  # 50,257 padded to a multiple of 64 (nanoGPT)
    B, T, V = batch, cfg.block_size, cfg.vocab_size
    device_type = device.split(":")[0]
    tcfg = TrainConfig(lr=6e-4, beta2=0.95, weight_decay=0.1)
    peak = device_peak_flops(device)
    gen = torch.Generator().manual_seed(0)
    batches = [torch.randint(0, V, (2, B, T), generator=gen).to(device) for _ in range(4)]
    results = {}
    for name in ("ours", "transformers"):
        torch.manual_seed(0)
        if name == "ours":
            raw = GPT(cfg).to(device)
            flops_tok = raw.flops_per_token(T)
        else:
            raw = GPT2LMHeadModel(GPT2Config(
                n_positions=T, vocab_size=V, n_layer=cfg.n_layer, n_head=cfg.n_head, n_embd=cfg.n_embd,
                resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0,
                attn_implementation="sdpa")).to(device)
            raw.train()
        opt = make_optimizer(raw, tcfg, device_type)
        model = torch.compile(raw) if compile_ else raw

        def step(x, y):
            with torch.autocast(device_type, dtype=torch.bfloat16):
                if name == "ours":
                    loss = model(x, y)[1]
                else:
                    logits = model(input_ids=x).logits
                    loss = F.cross_entropy(logits.view(-1, V).float(), y.reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(raw.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            return loss

        t0 = time.perf_counter()
        for i in range(warmup):
            step(*batches[i % 4])
        sync(device)
        t_warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        for i in range(steps):
            loss = step(*batches[i % 4])
        sync(device)
        dt = time.perf_counter() - t0
        tok_s = B * T * steps / dt
        results[name] = {"ms_per_step": 1e3 * dt / steps, "tokens_per_s": tok_s, "mfu": mfu(flops_tok, tok_s, peak),
                         "warmup_s_incl_compile": t_warm, "final_loss": loss.item()}
        if device_type == "cuda":
            results[name]["peak_mem_gb"] = torch.cuda.max_memory_allocated() / 1e9
            torch.cuda.reset_peak_memory_stats()
        model = raw = opt = None  # free the memory before the next model
        if device_type == "cuda":
            torch.cuda.empty_cache()
    results["ratio_ours_over_hf_tokens_per_s"] = results["ours"]["tokens_per_s"] / results["transformers"]["tokens_per_s"]
    results["settings"] = dict(batch=B, context=T, vocab=V, params=cfg, compile=compile_, dtype="bfloat16",
                               tf32=True, fused_adamw=True, attention="sdpa")
    return results


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
    if "throughput" in results:
        t = results["throughput"]
        s = t["settings"]
        lines += [f"## Training throughput: batch {s['batch']} x context {s['context']}, vocab {s['vocab']}, bf16, "
                  f"compile={s['compile']}, TF32, fused AdamW, SDPA", "",
                  "| model | ms/step | tokens/s | MFU | compile+warmup s | peak mem GB |", "|---|---|---|---|---|---|"]
        for name in ("ours", "transformers"):
            r = t[name]
            m = "n/a" if r["mfu"] is None else f"{100 * r['mfu']:.1f}%"
            lines.append(f"| {name} | {r['ms_per_step']:.1f} | {r['tokens_per_s']:,.0f} | {m} | "
                         f"{r['warmup_s_incl_compile']:.0f} | {r.get('peak_mem_gb', float('nan')):.1f} |")
        lines += ["", f"ratio ours/transformers tokens/s: {t['ratio_ours_over_hf_tokens_per_s']:.2f}", ""]
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="GPU checks and benchmarks for groundup.gpt / groundup.train")
    p.add_argument("--dry-run", action="store_true", help="run everything on CPU with a tiny model")
    p.add_argument("--out", type=Path, default=None, help="markdown results file")
    p.add_argument("--steps", type=int, default=30, help="timed steps per model")
    p.add_argument("--batch", type=int, default=16, help="micro-batch size for the throughput test")
    p.add_argument("--budget-s", type=float, default=450.0, help="skip later sections past this many seconds")
    args = p.parse_args(argv)
    if not args.dry_run and not torch.cuda.is_available():
        print("gpu_train: no CUDA device here; nothing to measure (use --dry-run to exercise the code on CPU).")
        return 0
    device = "cpu" if args.dry_run else "cuda"
    out = args.out or (Path(os.environ["OUT"]) / "gpu_results.md" if os.environ.get("OUT")
                       else Path(__file__).with_name("gpu_results.md"))
    results = {"device": "cpu (dry run)" if args.dry_run else torch.cuda.get_device_name(0), "errors": {}}
    sections = [
        ("correctness", lambda: check_correctness(device, args.dry_run)),
        ("throughput", lambda: throughput(device, args.dry_run, 2 if args.dry_run else args.steps,
                                          1 if args.dry_run else 5, 2 if args.dry_run else args.batch,
                                          compile_=not args.dry_run)),
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
