"""LoRA: Low-Rank Adaptation (Hu et al. 2022), written out.

Fine-tuning changes a pretrained weight W0 (d_out x d_in) by some dW. LoRA's hypothesis is
that the change a downstream task needs has a low "intrinsic rank", so it learns dW as a
product of two thin matrices and leaves W0 frozen (sec. 4.1, eq. 3):

    h = W0 x + dW x = W0 x + (alpha / r) * B A x,   B: (d_out, r),  A: (r, d_in),  r << min(d_in, d_out)

* A starts random (Gaussian in the paper; Kaiming-uniform in the reference implementations,
  ``loralib`` and ``peft``, which we follow) and B starts at **zero**, so dW = 0 and the
  wrapped model starts exactly as the pretrained one.
* The update is scaled by alpha / r, so that changing r does not change how far a step with
  the same learning rate moves the output ("tuning alpha is roughly the same as tuning the
  learning rate", sec. 4.1).
* Trainable parameters per matrix: r (d_in + d_out) instead of d_in d_out.
* After training, W = W0 + (alpha / r) B A is one ordinary matrix again (``merge``): no extra
  latency at inference, the paper's point against adapters.

Dimension letters: B batch, T time, d_in / d_out the features of the wrapped Linear, r rank.
(The paper's matrix B is ``lora_B``; the batch letter B appears only in shape comments.)
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import torch
import torch.nn as nn

#: The Linear layers of a ``groundup.gpt.GPT`` block, by the suffix of their names. The paper
#: adapts only the attention projections (sec. 7.1 finds W_q and W_v enough); the MLP is the
#: usual addition in current practice.
GPT_LINEARS = ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")


class LoRALinear(nn.Module):
    """``base(x) + (alpha / r) * x A^T B^T`` with ``base`` (an ``nn.Linear``) frozen.

    >>> layer = LoRALinear(nn.Linear(4, 3), r=2, alpha=4)
    >>> x = torch.randn(5, 4)
    >>> torch.equal(layer(x), layer.base(x))  # B = 0: the model starts unchanged
    True
    >>> tuple(layer.lora_A.shape), tuple(layer.lora_B.shape), layer.scaling
    ((2, 4), (3, 2), 2.0)
    """

    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float = 0.0):
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"LoRALinear wraps an nn.Linear, got {type(base).__name__}.")
        if not isinstance(r, int) or r <= 0:
            raise ValueError(f"the rank r must be a positive integer, got {r!r}.")
        if r > min(base.in_features, base.out_features):
            raise ValueError(f"rank r={r} is larger than the Linear's smaller side "
                             f"min({base.in_features}, {base.out_features}): the update would not be low-rank.")
        self.base = base
        self.base.requires_grad_(False)  # W0 (and its bias) stay as pretrained
        self.r, self.alpha, self.scaling = r, alpha, alpha / r
        w = base.weight
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features, dtype=w.dtype, device=w.device))  # (r, d_in)
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r, dtype=w.dtype, device=w.device))  # (d_out, r)
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # as nn.Linear, loralib and peft do
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def delta_weight(self) -> torch.Tensor:
        """dW = (alpha / r) B A, (d_out, d_in): the change to W0 this layer has learned."""
        return self.scaling * (self.lora_B @ self.lora_A)  # (d_out, r) @ (r, d_in) -> (d_out, d_in)

    def forward_naive(self, x: torch.Tensor) -> torch.Tensor:
        """Eq. 3 as written: h = (W0 + dW) x + b. Forms the full d_out x d_in matrix."""
        return nn.functional.linear(x, self.base.weight + self.delta_weight(), self.base.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The same, never forming dW: x A^T is (..., r), then B brings it to d_out,
        which costs r (d_in + d_out) multiply-adds per token instead of d_in d_out."""
        low = self.dropout(x) @ self.lora_A.T  # (..., d_in) @ (d_in, r) -> (..., r)
        return self.base(x) + (low @ self.lora_B.T) * self.scaling  # (..., d_out)

    @torch.no_grad()
    def merge(self) -> nn.Linear:
        """A plain ``nn.Linear`` with W = W0 + (alpha / r) B A and the base's bias."""
        merged = nn.Linear(
            self.base.in_features,
            self.base.out_features,
            bias=self.base.bias is not None,
            dtype=self.base.weight.dtype,
            device=self.base.weight.device,
        )
        merged.weight.copy_(self.base.weight + self.delta_weight())
        if self.base.bias is not None:
            merged.bias.copy_(self.base.bias)
        return merged

    def extra_repr(self) -> str:
        return f"r={self.r}, alpha={self.alpha}, scaling={self.scaling:g}"


def _parent_and_name(model: nn.Module, name: str) -> tuple[nn.Module, str]:
    parent_name, _, child = name.rpartition(".")
    return (model.get_submodule(parent_name) if parent_name else model), child


def apply_lora(model: nn.Module, r: int, alpha: float, *, targets: Iterable[str] = GPT_LINEARS,
               dropout: float = 0.0, layer: type = LoRALinear) -> list[str]:
    """Freeze every parameter of ``model``, then wrap each ``nn.Linear`` whose name ends with
    one of ``targets`` in a ``LoRALinear`` (in place). Returns the wrapped names.

    Only the LoRA matrices are trainable afterwards; the embeddings, LayerNorms and the
    tied output layer stay frozen, as in the paper. ``layer`` is the class that wraps
    (your own, from the exercise: called as ``layer(linear, r, alpha)``)."""
    targets = tuple(targets)
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear) and n.endswith(targets)]
    if not names:
        linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
        raise ValueError(f"no nn.Linear in the model has a name ending with one of {targets}; "
                         f"its Linear layers are {linears[:8]}{' ...' if len(linears) > 8 else ''}.")
    model.requires_grad_(False)
    for name in names:
        parent, child = _parent_and_name(model, name)
        base = getattr(parent, child)
        setattr(parent, child, layer(base, r, alpha, dropout) if dropout else layer(base, r, alpha))
    return names


def is_lora(module: nn.Module) -> bool:
    """A LoRA layer: ours, or any module with ``lora_A``, ``lora_B`` and a ``merge()``."""
    return isinstance(module, LoRALinear) or (
        hasattr(module, "lora_A") and hasattr(module, "lora_B") and callable(getattr(module, "merge", None)))


def merge_lora(model: nn.Module) -> nn.Module:
    """Replace every LoRA layer in ``model`` by its merged ``nn.Linear`` (in place)."""
    for name in [n for n, m in model.named_modules() if is_lora(m)]:
        parent, child = _parent_and_name(model, name)
        setattr(parent, child, getattr(parent, child).merge())
    return model


def count_trainable(model: nn.Module) -> tuple[int, int]:
    """(trainable parameters, all parameters), a tied tensor counted once."""
    params = list(model.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


__all__ = ["GPT_LINEARS", "LoRALinear", "apply_lora", "is_lora", "merge_lora", "count_trainable"]
