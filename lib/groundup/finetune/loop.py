"""Fine-tuning a pretrained GPT, watching what it learns and what it forgets.

    model = load_pretrained("out/cpu-tiny")            # a groundup.train checkpoint (or GPT.from_hf)
    result = finetune(model, FinetuneConfig(...), next_batch=b_windows.next,
                      evals={"A": a_val_tokens, "B": b_val_tokens})
    result.history["eval"]["A"]                        # loss on A's held-out text, step by step

Fine-tuning is the training loop of Chapter 6 started from trained weights instead of random
ones, with three knobs that decide how much of the old model survives: which parameters may
move (``freeze_layers``, ``lora_rank``), how far each step goes (``lr``, ``max_iters``), and
what the batches hold (``replay``, a fraction of corpus A in every batch). Along the run the
loop records the loss on several held-out corpora, the gradient's norm, the cosine between
successive gradients (how consistent the direction is), and how far the weights have moved.

Dimension letters: Bsz batch, T time (block_size), C channels.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn

from groundup.finetune.lora import GPT_LINEARS, apply_lora, count_trainable, merge_lora
from groundup.gpt import GPT, GPTConfig
from groundup.train.optim import get_lr, make_optimizer

Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class FinetuneConfig:
    """One fine-tuning run. Learning-rate fields are read by ``groundup.train.get_lr``."""

    max_iters: int = 300  # optimizer steps
    lr: float = 1e-3  # peak learning rate (after warmup)
    min_lr: float = 1e-4  # end of the cosine decay
    warmup_iters: int = 20  # linear warmup steps
    lr_decay_iters: int = 300  # where the cosine reaches min_lr (usually = max_iters)
    batch_size: int = 16  # sequences per step
    block_size: int = 64  # tokens per sequence
    weight_decay: float = 0.0  # AdamW decay; 0 so that only the data moves the weights
    beta1: float = 0.9  # AdamW momentum
    beta2: float = 0.99  # AdamW second-moment decay
    grad_clip: float = 1.0  # clip the global gradient norm (0 = off); the norm is recorded before clipping
    replay: float = 0.0  # fraction of each batch drawn from corpus A (0 = plain fine-tuning)
    freeze_layers: int = 0  # freeze the embeddings (wte = the tied output layer, wpe) and the lowest k blocks
    lora_rank: int = 0  # > 0: train only LoRA matrices of this rank on lora_targets (base frozen)
    lora_alpha: float = 8.0  # LoRA's alpha; the update is scaled by alpha / rank
    lora_targets: tuple[str, ...] = GPT_LINEARS  # Linear layers (name suffixes) LoRA wraps
    eval_interval: int = 25  # evaluate every corpus every this many steps (and at 0 and the end)
    eval_iters: int = 4  # batches per corpus per evaluation (the same windows every time)
    seed: int = 0  # data order, replay shuffling, LoRA's initialisation
    device: str = "cpu"  # "cpu", "cuda", ...
    dtype: str = "float32"  # "float32" or "bfloat16" (autocast; GPU runs)

    def __post_init__(self) -> None:
        problems = [f"{n} must be positive, got {getattr(self, n)}" for n in
                    ("max_iters", "batch_size", "block_size", "eval_interval", "eval_iters", "lr_decay_iters")
                    if getattr(self, n) <= 0]
        if not 0.0 <= self.replay <= 1.0:
            problems.append(f"replay is a fraction of each batch, between 0 and 1; got {self.replay}")
        if self.freeze_layers < 0 or self.lora_rank < 0:
            problems.append(f"freeze_layers and lora_rank must be >= 0, got {self.freeze_layers}, {self.lora_rank}")
        if self.lora_rank and self.freeze_layers:
            problems.append("lora_rank and freeze_layers are two different ways to limit what moves; use one")
        if not 0 <= self.min_lr <= self.lr:
            problems.append(f"need 0 <= min_lr <= lr, got min_lr={self.min_lr}, lr={self.lr}")
        if self.dtype not in ("float32", "bfloat16"):
            problems.append(f"dtype must be 'float32' or 'bfloat16', got {self.dtype!r}")
        if problems:
            raise ValueError("this fine-tuning config cannot run:\n  - " + "\n  - ".join(problems))

    def replace(self, **changes) -> "FinetuneConfig":
        """A copy with some fields changed; ``max_iters`` alone also moves ``lr_decay_iters``."""
        if "max_iters" in changes and "lr_decay_iters" not in changes:
            changes["lr_decay_iters"] = changes["max_iters"]
        if "lr" in changes and "min_lr" not in changes:
            changes["min_lr"] = changes["lr"] * self.min_lr / self.lr  # keep the same ratio
        return dataclasses.replace(self, **changes)


# ----------------------------------------------------------------------------- loading
def load_pretrained(out_dir: str | Path, device: str = "cpu") -> GPT:
    """The model of a ``groundup.train`` run from ``out_dir/ckpt.pt``."""
    path = Path(out_dir) / "ckpt.pt"
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}. Pretrain first, e.g. "
                                "`python -m groundup.train --preset cpu-tiny`, or pass the out_dir of your run.")
    ckpt = torch.load(path, map_location=device, weights_only=False)
    model = GPT(GPTConfig(**ckpt["model_config"]))
    model.load_state_dict(ckpt["model"])
    return model.to(device)


# ----------------------------------------------------------------------------- what may move
def freeze_lower_layers(model: GPT, k: int) -> list[str]:
    """Freeze the token and position embeddings and blocks 0..k-1 of a GPT; return their names.

    ``wte`` is also the output layer (weight tying), so freezing the embeddings freezes the
    output projection too: what can move is blocks k..n_layer-1 and the final LayerNorm."""
    n_layer = len(model.transformer.h)
    if not 0 <= k <= n_layer:
        raise ValueError(f"freeze_layers={k}, but the model has {n_layer} blocks (0 <= k <= {n_layer}).")
    frozen = []
    if k == 0:
        return frozen
    for name, p in model.named_parameters():
        parts = name.split(".")
        is_embedding = name.startswith(("transformer.wte", "transformer.wpe"))
        is_low_block = parts[:2] == ["transformer", "h"] and int(parts[2]) < k
        if is_embedding or is_low_block:
            p.requires_grad_(False)
            frozen.append(name)
    return frozen


def prepare_model(pretrained: GPT, cfg: FinetuneConfig) -> GPT:
    """A copy of ``pretrained`` set up for ``cfg``: LoRA-wrapped, partly frozen, or all trainable."""
    torch.manual_seed(cfg.seed)  # LoRA's A matrices
    model = copy.deepcopy(pretrained).to(cfg.device)  # keeps what the caller froze (e.g. their own LoRA)
    if cfg.lora_rank:
        apply_lora(model, cfg.lora_rank, cfg.lora_alpha, targets=cfg.lora_targets)
    elif cfg.freeze_layers:
        freeze_lower_layers(model, cfg.freeze_layers)
    return model


def effective_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's parameters as one plain GPT would hold them (LoRA layers merged), by name;
    ``named_parameters`` lists the tied wte/lm_head tensor once."""
    plain = merge_lora(copy.deepcopy(model))
    return {k: p.detach().float().clone() for k, p in plain.named_parameters()}


def weight_change(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> float:
    """||theta_after - theta_before|| / ||theta_before|| over all weights."""
    num = sum((after[k] - v).pow(2).sum().item() for k, v in before.items())
    den = sum(v.pow(2).sum().item() for v in before.values())
    return math.sqrt(num / den)


def layer_change(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> dict[str, float]:
    """Relative weight change per part of a GPT: "embeddings", "block 0", ..., "ln_f"."""
    groups: dict[str, list[float]] = {}
    for k, v in before.items():
        parts = k.split(".")
        group = f"block {parts[2]}" if parts[1] == "h" else "embeddings" if parts[1] in ("wte", "wpe") else parts[1]
        num, den = groups.setdefault(group, [0.0, 0.0])
        groups[group] = [num + (after[k] - v).pow(2).sum().item(), den + v.pow(2).sum().item()]
    return {g: math.sqrt(n / d) for g, (n, d) in groups.items()}


# ----------------------------------------------------------------------------- evaluation
def fixed_batches(tokens: np.ndarray, block_size: int, batch_size: int, n: int, seed: int) -> list[Batch]:
    """``n`` batches of random windows (x, y), each (batch_size, block_size), drawn once: every
    evaluation scores exactly the same text, so the curves compare like with like."""
    if len(tokens) <= block_size:
        raise ValueError(f"{len(tokens)} tokens are too few for a window of {block_size + 1}.")
    g = torch.Generator().manual_seed(seed)
    offsets = np.arange(block_size + 1)  # (T+1,)
    out = []
    for _ in range(n):
        starts = torch.randint(len(tokens) - block_size, (batch_size,), generator=g).numpy()  # (Bsz,)
        buf = torch.from_numpy(np.asarray(tokens[starts[:, None] + offsets], dtype=np.int64))  # (Bsz, T+1)
        out.append((buf[:, :-1].contiguous(), buf[:, 1:].contiguous()))  # x, y: (Bsz, T) each
    return out


@torch.no_grad()
def evaluate_corpora(model: nn.Module, evals: dict[str, list[Batch]], device: str = "cpu",
                     autocast=contextlib.nullcontext) -> dict[str, float]:
    """Mean cross-entropy (nats/token) of ``model`` on each corpus's fixed batches."""
    was_training = model.training
    model.eval()
    out = {}
    for name, batches in evals.items():
        total = 0.0
        for x, y in batches:
            with autocast():
                _, loss = model(x.to(device), y.to(device))
            total += loss.float().item()
        out[name] = total / len(batches)
    model.train(was_training)
    return out


# ----------------------------------------------------------------------------- the loop
@dataclass
class FinetuneResult:
    """What a fine-tuning run produced and measured."""

    model: nn.Module  # the fine-tuned model (LoRA layers still separate; merge_lora to fold them in)
    config: FinetuneConfig
    history: dict = field(default_factory=dict)  # "step": eval steps; "eval": {corpus: [loss at each]};
    # "distance": [relative weight change at each]; "grad_norm", "grad_cos", "lr", "loss": per step
    trainable: int = 0  # trainable parameters
    total: int = 0  # all parameters
    seconds: float = 0.0  # wall time of the loop


def finetune(pretrained: GPT, cfg: FinetuneConfig, next_batch: Callable[[], Batch],
             evals: dict[str, list[Batch]], *, progress: bool = False) -> FinetuneResult:
    """Fine-tune a copy of ``pretrained`` on the batches ``next_batch()`` returns (mix in
    replay before: ``replay.replay_stream``); evaluate ``evals`` every ``eval_interval`` steps.

    One step is Chapter 6's (forward, backward, clip, AdamW), plus two measurements taken
    before clipping: the gradient's global norm ||g_t|| and the cosine between successive
    gradients, cos(g_t, g_{t-1}) = g_t . g_{t-1} / (||g_t|| ||g_{t-1}||). Under Adam the step
    size is roughly lr per weight whatever ||g||; what decides how far the weights travel is
    whether the steps agree (a high cosine) or cancel out."""
    device = cfg.device
    model = prepare_model(pretrained, cfg)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("nothing to train: every parameter is frozen (check freeze_layers).")
    trainable, total = count_trainable(model)
    device_type = device.split(":")[0]
    optimizer = make_optimizer(model, cfg, device_type)
    autocast = (lambda: torch.autocast(device_type, dtype=torch.bfloat16)) if cfg.dtype == "bfloat16" \
        else contextlib.nullcontext
    start = effective_weights(model)
    history = {"step": [], "eval": {name: [] for name in evals}, "distance": [], "grad_norm": [],
               "grad_cos": [], "lr": [], "loss": []}

    def record(step: int) -> None:
        history["step"].append(step)
        for name, loss in evaluate_corpora(model, evals, device, autocast).items():
            history["eval"][name].append(loss)
        history["distance"].append(weight_change(start, effective_weights(model)))

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.max_iters, desc="fine-tune", dynamic_ncols=True)
    record(0)
    previous, t0 = None, time.perf_counter()
    model.train()
    for it in range(cfg.max_iters):
        lr = get_lr(it, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = next_batch()
        with autocast():
            _, loss = model(x.to(device), y.to(device))
        loss.backward()
        grad = torch.cat([p.grad.reshape(-1).float() for p in params])  # (n_trainable,)
        norm = grad.norm()
        history["grad_norm"].append(norm.item())
        history["grad_cos"].append(float("nan") if previous is None else
                                   (grad @ previous / (norm * previous.norm() + 1e-12)).item())
        previous = grad
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        history["lr"].append(lr)
        history["loss"].append(loss.item())
        if not math.isfinite(history["loss"][-1]):
            raise FloatingPointError(f"fine-tuning loss became {history['loss'][-1]} at step {it}, lr {lr:.2e}. "
                                     "Usual causes: a learning rate too high for a pretrained model, or bad data.")
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{history['loss'][-1]:.3f}")
        if (it + 1) % cfg.eval_interval == 0 or it + 1 == cfg.max_iters:
            record(it + 1)
    if bar is not None:
        bar.close()
    return FinetuneResult(model=model, config=cfg, history=history, trainable=trainable, total=total,
                          seconds=time.perf_counter() - t0)


__all__ = ["FinetuneConfig", "FinetuneResult", "load_pretrained", "freeze_lower_layers", "prepare_model",
           "effective_weights", "weight_change", "layer_change", "fixed_batches", "evaluate_corpora", "finetune"]
