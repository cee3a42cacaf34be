"""AdamW with decay on the right parameters, and the warmup + cosine learning-rate schedule.

AdamW: Loshchilov & Hutter 2019 ("Decoupled Weight Decay Regularization"), Algorithm 2:
the decay ``theta <- theta - lr * wd * theta`` is applied to the weights directly,
not folded into the gradient as L2 regularisation would be.
"""
from __future__ import annotations

import inspect
import math

import torch
import torch.nn as nn

from groundup.train.config import TrainConfig


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two AdamW groups: 2-D tensors decay, everything else does not.

    The rule is nanoGPT's: a parameter with 2 or more dimensions is a matrix that
    multiplies activations (Linear weights, and the embeddings: ``wte`` is also the
    output layer through weight tying, and ``wpe`` is decayed with it for the same
    simple rule); 1-D tensors (biases, LayerNorm gains and shifts) only shift or scale,
    and pulling a LayerNorm gain towards 0 would switch its channel off, so they are not
    decayed. A tied tensor is listed once (``named_parameters`` de-duplicates).

    >>> groups = param_groups(nn.Linear(3, 2), weight_decay=0.1)
    >>> [(g["weight_decay"], [tuple(p.shape) for p in g["params"]]) for g in groups]
    [(0.1, [(2, 3)]), (0.0, [(2,)])]
    """
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def get_lr(it: int, cfg: TrainConfig) -> float:
    """Learning rate at optimizer step ``it`` (0-based): linear
    warmup, then cosine to min_lr.

    - warmup, ``it < warmup_iters``: lr * (it + 1) / warmup_iters, so step 0 uses
      lr / warmup_iters and step warmup_iters - 1 uses the full lr (never 0: a step at
      lr 0 would be wasted);
    - decay, ``warmup_iters <= it <= lr_decay_iters``: min_lr + (lr - min_lr) * 0.5 *
      (1 + cos(pi * progress)), progress = (it - warmup_iters) / (lr_decay_iters -
      warmup_iters), going from lr at the end of warmup down to min_lr
      (Loshchilov & Hutter 2017, SGDR);
    - after ``lr_decay_iters``: min_lr.

    >>> from groundup.train.config import TrainConfig
    >>> cfg = TrainConfig(lr=1.0, min_lr=0.1, warmup_iters=10, lr_decay_iters=110)
    >>> tuple(get_lr(it, cfg) for it in (0, 9, 60, 110, 500))
    (0.1, 1.0, 0.55, 0.1, 0.1)
    """
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / cfg.warmup_iters
    if it > cfg.lr_decay_iters or cfg.lr_decay_iters == cfg.warmup_iters:
        return cfg.min_lr
    # 0 -> 1
    progress = (it - cfg.warmup_iters) / (cfg.lr_decay_iters - cfg.warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * progress))  # 1 -> 0
    return cfg.min_lr + coeff * (cfg.lr - cfg.min_lr)


def make_optimizer(model: nn.Module, cfg: TrainConfig, device_type: str) -> torch.optim.AdamW:
    """AdamW over ``param_groups``; the fused kernel (one launch for all tensors) where
    PyTorch has one for this device (CUDA, and CPU since PyTorch 2.4)."""
    fused_ok = "fused" in inspect.signature(torch.optim.AdamW).parameters and device_type in ("cuda", "cpu")
    return torch.optim.AdamW(
        param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
        fused=True if fused_ok else None,
    )
