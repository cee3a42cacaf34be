"""Training speed on CPU: our GPT vs transformers' GPT2LMHeadModel, and nanoGPT's CPU recipe.

    python -m benchmarks.train_cpu                 # both parts, 2,000 steps for part (b)
    python -m benchmarks.train_cpu --iters 200     # a shorter part (b)
    python -m benchmarks.train_cpu --skip-recipe   # only part (a)

(a) Same config (4 layers, 4 heads, n_embd 128, context 64, batch 12, fp32, no dropout),
    same batches, same AdamW (fused, decay on 2-D weights), in one process, interleaved
    step by step so both see the same machine state; median ms per optimizer step after
    warm-up, and the ratio transformers / ours (> 1: ours is faster).
(b) nanoGPT's CPU recipe through our trainer (``groundup.train.train``, preset cpu-tiny:
    character level, 2,000 steps, AdamW lr 1e-3 -> 1e-4 cosine, 100 warmup, beta2 0.99) on
    the built-in corpus: median ms/step, total time, final train/val loss. nanoGPT itself
    measured 36.7 ms/step on this machine kind (FIELD_NOTES.md), on Shakespeare.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F


def machine() -> str:
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"torch {torch.__version__}, {torch.get_num_threads()} threads")


def compare_with_transformers(iters: int = 100, warmup: int = 10, vocab: int = 110, seed: int = 0) -> dict:
    import transformers
    from transformers import GPT2Config, GPT2LMHeadModel

    from groundup.gpt import GPT, GPTConfig
    from groundup.train import TrainConfig, make_optimizer

    torch.manual_seed(seed)
    B, T = 12, 64
    cfg = GPTConfig(block_size=T, vocab_size=vocab, n_layer=4, n_head=4, n_embd=128, dropout=0.0)
    ours = GPT(cfg)
    hf = GPT2LMHeadModel(GPT2Config(
        n_positions=T, vocab_size=vocab, n_layer=4, n_head=4, n_embd=128, resid_pdrop=0.0, embd_pdrop=0.0,
        attn_pdrop=0.0, bos_token_id=0, eos_token_id=0, attn_implementation="sdpa"))
    assert hf.config._attn_implementation == "sdpa"
    hf.train()
    tcfg = TrainConfig(lr=1e-3, beta2=0.99, weight_decay=0.1)
    opts = {"ours": make_optimizer(ours, tcfg, "cpu"), "transformers": make_optimizer(hf, tcfg, "cpu")}

    def loss_of(name, x, y):
        if name == "ours":
            return ours(x, y)[1]
        logits = hf(input_ids=x).logits  # (B, T, V); the same cross-entropy as ours
        return F.cross_entropy(logits.view(-1, vocab), y.view(-1))

    gen = torch.Generator().manual_seed(seed)
    wall = {"ours": [], "transformers": []}
    cpu = {"ours": [], "transformers": []}  # CPU seconds of this process: less sensitive to other load
    for i in range(warmup + iters):
        x, y = torch.randint(0, vocab, (2, B, T), generator=gen)
        for name in (("ours", "transformers") if i % 2 == 0 else ("transformers", "ours")):
            t0, c0 = time.perf_counter(), time.process_time()
            loss = loss_of(name, x, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_((ours if name == "ours" else hf).parameters(), 1.0)
            opts[name].step()
            opts[name].zero_grad(set_to_none=True)
            if i >= warmup:
                wall[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
    med = {k: statistics.median(v) * 1e3 for k, v in wall.items()}
    cmed = {k: statistics.median(v) * 1e3 for k, v in cpu.items()}
    return {"ours_ms": med["ours"], "hf_ms": med["transformers"], "ratio": med["transformers"] / med["ours"],
            "ours_cpu_ms": cmed["ours"], "hf_cpu_ms": cmed["transformers"],
            "cpu_ratio": cmed["transformers"] / cmed["ours"], "transformers": transformers.__version__}


def nanogpt_recipe(iters: int) -> dict:
    from groundup.train import TrainConfig, train

    with tempfile.TemporaryDirectory() as tmp:
        cfg = dataclasses.replace(
            TrainConfig.preset("cpu-tiny"), max_iters=iters, lr_decay_iters=iters,
            warmup_iters=min(100, iters // 10), eval_interval=min(250, iters),
            data_dir=os.path.join(tmp, "data"), out_dir=os.path.join(tmp, "out"), progress=False,
        )
        t0, c0 = time.perf_counter(), time.process_time()
        result = train(cfg)
        total, cpu_total = time.perf_counter() - t0, time.process_time() - c0
    step, tr, va = result.history["eval"][-1]
    return {"iters": iters, "ms_per_iter": result.ms_per_iter, "loop_s": result.seconds, "total_s": total,
            "cpu_ms_per_iter": 1e3 * cpu_total / iters,
            "train_loss": tr, "val_loss": va, "vocab": result.model.config.vocab_size,
            "params": result.model.num_params()}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=2000, help="steps of the nanoGPT recipe (part b)")
    p.add_argument("--compare-iters", type=int, default=100, help="timed steps per model in part (a)")
    p.add_argument("--skip-recipe", action="store_true")
    args = p.parse_args(argv)
    print(f"machine: {machine()}\n")
    a = compare_with_transformers(args.compare_iters)
    print("(a) one training step, 4 layers / 4 heads / n_embd 128 / context 64 / batch 12, fp32, AdamW")
    print("| model | wall ms/step (median) | CPU ms/step (median) |\n|---|---|---|")
    print(f"| groundup GPT | {a['ours_ms']:.1f} | {a['ours_cpu_ms']:.1f} |")
    print(f"| transformers {a['transformers']} GPT2LMHeadModel | {a['hf_ms']:.1f} | {a['hf_cpu_ms']:.1f} |")
    print(f"ratio transformers/ours: wall {a['ratio']:.2f}, CPU time {a['cpu_ratio']:.2f} (> 1 means ours is faster)")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} (CPU time is the fairer figure on a busy machine)\n")
    if not args.skip_recipe:
        b = nanogpt_recipe(args.iters)
        print(f"(b) nanoGPT CPU recipe via groundup.train, preset cpu-tiny, {b['iters']} steps, built-in corpus "
              f"(char-level, V={b['vocab']}, {b['params'] / 1e6:.2f}M non-embedding params)")
        print(f"CPU time of the whole run per step (incl. evaluation, tokenizing): {b['cpu_ms_per_iter']:.1f} ms; "
              f"load average now {os.getloadavg()[0]:.1f}")
        print(f"median {b['ms_per_iter']:.1f} ms/step; loop {b['loop_s']:.1f} s (incl. evaluation), "
              f"total {b['total_s']:.1f} s (incl. tokenizing); final train loss {b['train_loss']:.4f}, "
              f"val loss {b['val_loss']:.4f}")
        print("reference: nanoGPT itself, 36.7 ms/step median, 82.5 s (FIELD_NOTES.md, Shakespeare)")


if __name__ == "__main__":
    main()
