"""The training loop (Chapter 6): one function per idea, then ``train`` that ties them up.

    for it in range(max_iters):
        set lr = get_lr(it)
        train_step: grad_accum_steps x (forward, loss / grad_accum_steps, backward), clip, step
        every log_interval: NaN check, progress (loss, tokens/s, MFU)
        every eval_interval: evaluate train/val loss, checkpoint
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP

from groundup.gpt import GPT
from groundup.train import checkpoint, dist
from groundup.train.config import TrainConfig
from groundup.train.data import RandomWindows, load_tokens, prepare
from groundup.train.monitor import Progress, check_finite, device_peak_flops, mfu, plot_history
from groundup.train.optim import get_lr, make_optimizer

Batch = Callable[[], tuple[torch.Tensor, torch.Tensor]]


def autocast_context(device_type: str, dtype: str):
    """Mixed precision: matmuls in bf16/fp16, reductions (softmax,
    LayerNorm, loss) in fp32."""
    if dtype == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device_type, dtype=getattr(torch, dtype))


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    next_batch: Batch,
    *,
    grad_accum_steps: int = 1,
    grad_clip: float = 0.0,
    autocast=contextlib.nullcontext,
    scaler: torch.amp.GradScaler | None = None,
) -> torch.Tensor:
    """One optimizer step over ``grad_accum_steps`` micro-batches;
    returns their mean loss.

    Gradients add up over micro-batches, so each loss is divided by grad_accum_steps to
    make the sum the gradient of the mean loss. Under DDP, gradients are all-reduced
    only on the last micro-batch (``no_sync`` skips the others)."""
    total = None
    for micro in range(grad_accum_steps):
        x, y = next_batch()
        last = micro == grad_accum_steps - 1
        sync = (
            model.no_sync()
            if isinstance(model, DDP) and not last
            else contextlib.nullcontext()
        )
        with sync:
            with autocast():
                _, loss = model(x, y)
                loss = loss / grad_accum_steps
            (scaler.scale(loss) if scaler is not None else loss).backward()
        part = loss.detach().float()
        total = part if total is None else total + part
    if grad_clip > 0:
        if scaler is not None:
            scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    if scaler is not None:
        scaler.step(optimizer)  # skips the step if the scaled gradients overflowed
        scaler.update()
    else:
        optimizer.step()
    # free the gradients instead of filling them with 0
    optimizer.zero_grad(set_to_none=True)
    return total


@torch.no_grad()
def evaluate(model: nn.Module, splits: dict[str, Batch], eval_iters: int, autocast=contextlib.nullcontext,
             info: dist.DistInfo = dist.DistInfo()) -> dict:
    """Mean loss over ``eval_iters`` batches of each split, with dropout off.

    Under DDP the batches are shared out, batch k to rank k mod world_size, and the sums
    are all-reduced: N processes score the same batches one process would, N times sooner."""
    was_training = model.training
    model.eval()
    out = {}
    device = next(model.parameters()).device
    for name, next_batch in splits.items():
        total = torch.zeros(2, device=device, dtype=torch.float64)  # (sum of losses, batches) on this rank
        for k in range(eval_iters):
            x, y = next_batch()  # every rank draws every batch, so all stay on the same stream
            if k % info.world_size != info.rank:
                continue
            with autocast():
                _, loss = model(x, y)
            total[0] += loss.double()
            total[1] += 1
        total = dist.sum_across(total, info)
        out[name] = (total[0] / total[1]).item()  # one device sync per split
    model.train(was_training)
    return out


@dataclass
class TrainResult:
    """What a run produced."""

    model: nn.Module  # the trained model (unwrapped from DDP / torch.compile)
    history: dict  # "loss": per-step training loss; "eval": [(step, train, val)]; "lr": per step
    out_dir: Path  # where ckpt.pt, history.json and loss.png are
    ms_per_iter: float  # median wall time of an optimizer step in this run
    tokens_per_s: float  # tokens per second over the run's steps (all processes)
    mfu: float | None  # model FLOPs utilisation (None on CPU)
    seconds: float  # wall time of the loop


def _eval_windows(tokens, cfg: TrainConfig, device: str, salt: int) -> Callable[[], Batch]:
    # A fresh generator with a fixed seed for every evaluation: each evaluation scores the same
    # windows (a fair comparison over time; a resumed run evaluates exactly as an uninterrupted
    # one) and never touches the training RNG streams.
    return lambda: RandomWindows(tokens, cfg.block_size, cfg.batch_size, seed=cfg.seed + 100_003 * salt,
                                 device=device).next


def train(cfg: TrainConfig, *, resume: bool = False, model_kwargs: dict | None = None) -> TrainResult:
    """Train a GPT as ``cfg`` says. ``model_kwargs`` go to ``GPT(...)``, e.g.
    ``{"attention_factory": my_attention}`` to train with your own attention."""
    cfg.validate()  # refuse before touching data or devices
    with dist.process_group(cfg.resolved_device()) as (info, device):
        cfg.validate(world_size=info.world_size)
        return _train(cfg, info, device, resume, model_kwargs)


def _train(cfg: TrainConfig, info: dist.DistInfo, device: str, resume: bool,
           model_kwargs: dict | None) -> TrainResult:
    device_type = "cuda" if device.startswith("cuda") else device.split(":")[0]
    if device_type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = cfg.tf32
        torch.backends.cudnn.allow_tf32 = cfg.tf32
    torch.manual_seed(cfg.seed)  # same initial weights on every process

    def prepare_data():
        return prepare(cfg.data, cfg.tokenizer, cfg.data_dir, val_fraction=cfg.val_fraction,
                       max_chars=cfg.max_chars, progress=cfg.progress and info.is_main)

    if info.is_main:  # one process tokenizes; the others wait and then reuse its files
        meta = prepare_data()
    dist.barrier(info)
    if not info.is_main:
        meta = prepare_data()
    vocab = -(-meta.vocab_size // cfg.vocab_multiple) * cfg.vocab_multiple  # round up
    model_cfg = dataclasses.replace(cfg.model, vocab_size=vocab)
    raw_model = GPT(model_cfg, **(model_kwargs or {})).to(device)
    optimizer = make_optimizer(raw_model, cfg, device_type)
    scaler = torch.amp.GradScaler(device_type, enabled=cfg.dtype == "float16")
    windows = RandomWindows(load_tokens(meta, "train"), cfg.block_size, cfg.batch_size, seed=cfg.seed,
                            rank=info.rank, world_size=info.world_size, shared=cfg.sampling == "shared", device=device)
    start, history = 0, {"loss": [], "lr": [], "eval": []}
    if resume:
        start, history = checkpoint.load(cfg.out_dir, model=raw_model, optimizer=optimizer, scaler=scaler,
                                         windows=windows, rank=info.rank, device=device)
    model = torch.compile(raw_model) if cfg.compile else raw_model
    if info.enabled:
        model = DDP(model, device_ids=[info.local_rank] if device_type == "cuda" else None)
    eval_model = raw_model if not cfg.compile else model if not info.enabled else model.module
    splits = {s: _eval_windows(load_tokens(meta, s), cfg, device, i + 1) for i, s in enumerate(("train", "val"))}
    autocast = lambda: autocast_context(device_type, cfg.dtype)  # noqa: E731
    accum = cfg.grad_accum_steps // info.world_size
    flops_tok, peak = raw_model.flops_per_token(cfg.block_size), device_peak_flops(device)
    Path(cfg.out_dir).mkdir(parents=True, exist_ok=True)

    # A bar on a terminal or in Jupyter; redirected to a file, ~20 plain lines a run.
    bar = Progress(cfg.max_iters, start) if cfg.progress and info.is_main else None
    pending, step_times, t_log, t0 = [], [], time.perf_counter(), time.perf_counter()
    rate = util = None
    for it in range(start, cfg.max_iters):
        t_step = time.perf_counter()
        lr = get_lr(it, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        pending.append(train_step(model, optimizer, windows.next, grad_accum_steps=accum,
                                  grad_clip=cfg.grad_clip, autocast=autocast,
                                  scaler=scaler if scaler.is_enabled() else None))
        history["lr"].append(lr)
        done = it + 1
        if done % cfg.log_interval == 0 or done == cfg.max_iters:
            # One device sync per log interval, not per step: .tolist() waits for the GPU.
            losses = dist.mean_across(torch.stack(pending), info).tolist()
            check_finite(losses, done - len(losses) + 1, history["lr"][-len(losses):], cfg.dtype,
                         previous=history["loss"][-1] if history["loss"] else None)
            history["loss"].extend(losses)
            now = time.perf_counter()
            rate = cfg.tokens_per_step() * len(pending) / (now - t_log)
            util = mfu(flops_tok, rate, peak, info.world_size)
            pending, t_log = [], now
            stats = dict(loss=f"{losses[-1]:.4f}", tok_s=f"{rate:,.0f}",
                         mfu="n/a" if util is None else f"{100 * util:.1f}%", lr=f"{lr:.2e}")
        else:
            stats = None
        step_times.append(time.perf_counter() - t_step)
        if bar is not None:
            bar.step(done, stats)
        if done % cfg.eval_interval == 0 or done == cfg.max_iters:
            batches = {name: windows_from_the_start() for name, windows_from_the_start in splits.items()}
            ev = evaluate(eval_model, batches, cfg.eval_iters, autocast, info)  # shared out over ranks
            history["eval"].append((done, ev["train"], ev["val"]))
            if bar is not None:
                bar.write(f"step {done}: train loss {ev['train']:.4f}, val loss {ev['val']:.4f}")
            if cfg.save_checkpoints:
                checkpoint.save(cfg.out_dir, model=raw_model, optimizer=optimizer, scaler=scaler, iteration=done,
                                cfg=cfg, model_cfg=model_cfg, history=history, windows=windows,
                                rank=info.rank, is_main=info.is_main)
    seconds = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    if info.is_main:
        (Path(cfg.out_dir) / "history.json").write_text(json.dumps(history))
        if cfg.plot:
            plot_history(history, Path(cfg.out_dir) / "loss.png")
    n_steps = cfg.max_iters - start
    return TrainResult(
        model=raw_model, history=history, out_dir=Path(cfg.out_dir),
        ms_per_iter=float(np.median(step_times) * 1e3) if step_times else float("nan"),
        tokens_per_s=cfg.tokens_per_step() * n_steps / seconds if n_steps else 0.0,
        mfu=util, seconds=seconds,
    )
