"""Everything a training run needs to know, in one frozen dataclass (Chapter 6).

``TrainConfig.preset("cpu-tiny")`` is nanoGPT's CPU recipe on the course's built-in
corpus; ``"colab-t4"`` fits a free Colab GPU; ``"gpt2-124m"`` is GPT-2 small trained
the modern way (bf16, torch.compile, flash attention, fused AdamW, ~0.5M tokens/step).
``validate()`` refuses a bad config before any data is read or any step is taken.
"""
from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field

import torch

from groundup.gpt import GPTConfig

DTYPES = ("float32", "bfloat16", "float16")
SAMPLING = ("per-rank", "shared")


@dataclass(frozen=True)
class TrainConfig:
    """A training run. Change a field with ``dataclasses.replace`` or ``with_overrides``.

    >>> cfg = TrainConfig.preset("cpu-tiny").with_overrides(["max_iters=10", "model.n_layer=2"])
    >>> cfg.max_iters, cfg.model.n_layer
    (10, 2)
    """

    # --- model -------------------------------------------------------------------
    model: GPTConfig = field(default_factory=lambda: GPTConfig.preset("course-tiny"))  # the network; its
    # vocab_size is replaced by the data's vocabulary size rounded up to vocab_multiple
    vocab_multiple: int = 1  # round the vocabulary up to a multiple of this (64/128: faster GPU matmuls)
    # --- data --------------------------------------------------------------------
    data: str = "builtin"  # corpus: "builtin", a groundup.data dataset name, or a path to a .txt file
    tokenizer: str = "char"  # "char" (one id per character), "gpt2" (GPT-2's BPE, downloaded once),
    # "cl100k" (GPT-4's BPE, offline) or "bpe:<vocab_size>" (Chapter 1's BPE trained on the corpus)
    data_dir: str = "data"  # where train.bin / val.bin / meta.json are written (one subfolder per corpus)
    val_fraction: float = 0.1  # the last 10% of the corpus is held out for validation
    max_chars: int = 0  # use only the first max_chars characters of the corpus (0 = all of it)
    sampling: str = "per-rank"  # "per-rank": each process draws its own windows (seed + rank);
    # "shared": all processes draw one stream and take their slice, so N processes == 1 process
    # --- batch -------------------------------------------------------------------
    block_size: int = 64  # training window T (at most model.block_size)
    batch_size: int = 12  # sequences per micro-batch, per process
    grad_accum_steps: int = 1  # micro-batches per optimizer step over ALL processes (split across ranks)
    # --- optimisation --------------------------------------------------------------
    max_iters: int = 2000  # optimizer steps in the run
    lr: float = 1e-3  # peak learning rate, reached at the end of warmup
    min_lr: float = 1e-4  # learning rate at the end of the cosine decay (~lr/10, Chinchilla)
    warmup_iters: int = 100  # steps of linear warmup from lr/warmup_iters up to lr
    lr_decay_iters: int = 2000  # step where the cosine reaches min_lr (usually = max_iters)
    weight_decay: float = 0.1  # AdamW decoupled weight decay, on 2-D weights only
    beta1: float = 0.9  # AdamW momentum
    beta2: float = 0.99  # AdamW second-moment decay (0.99 for tiny batches, 0.95 for GPT-2)
    grad_clip: float = 1.0  # clip the global gradient norm to this (0 = no clipping)
    # --- evaluation and logging ------------------------------------------------------
    eval_interval: int = 250  # evaluate (and checkpoint) every this many steps, and at the end
    eval_iters: int = 20  # batches per split in each evaluation
    log_interval: int = 1  # check the loss for NaN/inf and update the progress bar this often
    # --- system ------------------------------------------------------------------
    dtype: str = "float32"  # "float32", "bfloat16" (autocast) or "float16" (autocast + GradScaler)
    compile: bool = False  # torch.compile the model (needs a C++ compiler; pays off on GPUs)
    tf32: bool = True  # allow TF32 matmuls on Ampere+ GPUs (10 mantissa bits, ~8x fp32 speed)
    device: str = "auto"  # "auto" (cuda if available, else cpu), "cpu", "cuda", "cuda:1", "mps"
    seed: int = 1337  # seeds the weights, dropout and the data windows
    out_dir: str = "out"  # checkpoint, loss history and loss plot go here
    save_checkpoints: bool = True  # write out_dir/ckpt.pt at every evaluation and at the end
    progress: bool = True  # a tqdm bar on a terminal or in Jupyter; ~20 plain lines when redirected
    plot: bool = True  # write out_dir/loss.png at the end (matplotlib: about 1 s of CPU, once per process)

    # ------------------------------------------------------------------------- presets
    @classmethod
    def preset(cls, name: str) -> "TrainConfig":
        """``cpu-tiny`` | ``colab-t4`` | ``gpt2-124m`` (see ``PRESETS``)."""
        if name not in PRESETS:
            raise ValueError(f"unknown training preset {name!r}; choose one of {sorted(PRESETS)}.")
        return PRESETS[name]()

    def tokens_per_step(self) -> int:
        """Tokens in one optimizer step, over all processes: batch_size * block_size * grad_accum_steps."""
        return self.batch_size * self.block_size * self.grad_accum_steps

    # ------------------------------------------------------------------------- overrides
    def with_overrides(self, overrides: typing.Iterable[str]) -> "TrainConfig":
        """Apply ``key=value`` strings; ``model.key=value`` reaches into the GPTConfig.

        Values are parsed by the field's type: ints, floats, ``true``/``false``, strings.
        """
        cfg, model_changes = self, {}
        top = {f.name: f for f in dataclasses.fields(TrainConfig)}
        sub = {f.name: f for f in dataclasses.fields(GPTConfig)}
        changes = {}
        for item in overrides:
            key, sep, raw = item.partition("=")
            key = key.strip().lstrip("-").replace("-", "_")
            if not sep:
                raise ValueError(f"override {item!r} is not of the form key=value (e.g. max_iters=100).")
            if key.startswith("model."):
                name = key[len("model."):]
                if name not in sub:
                    raise ValueError(f"GPTConfig has no field {name!r}; fields: {sorted(sub)}.")
                model_changes[name] = _parse(raw, sub[name], GPTConfig)
            elif key in top and key != "model":
                changes[key] = _parse(raw, top[key], TrainConfig)
            else:
                raise ValueError(f"TrainConfig has no field {key!r}; fields: {sorted(top)} (model fields: model.<name>).")
        if model_changes:
            changes["model"] = dataclasses.replace(cfg.model, **model_changes)
        return dataclasses.replace(cfg, **changes)

    # ------------------------------------------------------------------------- validation
    def validate(self, world_size: int = 1, cuda_available: bool | None = None) -> None:
        """Raise ValueError, in words a learner can act on, for settings that cannot work."""
        cuda = torch.cuda.is_available() if cuda_available is None else cuda_available
        problems = []
        for name in ("batch_size", "grad_accum_steps", "max_iters", "block_size", "eval_interval",
                     "eval_iters", "log_interval", "vocab_multiple", "lr_decay_iters"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.block_size > self.model.block_size:
            problems.append(
                f"block_size={self.block_size} is longer than model.block_size={self.model.block_size}: the "
                f"model's position table has only {self.model.block_size} rows. Lower block_size or raise model.block_size"
            )
        if self.grad_accum_steps > 0 and self.grad_accum_steps % world_size != 0:
            problems.append(
                f"grad_accum_steps={self.grad_accum_steps} must be divisible by the number of processes "
                f"({world_size}): each process runs grad_accum_steps // {world_size} micro-batches"
            )
        if self.dtype not in DTYPES:
            problems.append(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        device = self.resolved_device(cuda)
        if self.dtype == "float16" and not device.startswith("cuda"):
            problems.append(
                f"dtype='float16' needs a CUDA GPU (device is {device!r}): fp16 autocast and its GradScaler are a "
                "GPU feature. Use dtype='bfloat16' or 'float32' on CPU"
            )
        if device.startswith("cuda") and not cuda:
            problems.append(f"device={self.device!r} but no CUDA GPU is available; use device='cpu' or 'auto'")
        if not 0 <= self.min_lr <= self.lr:
            problems.append(f"need 0 <= min_lr <= lr, got min_lr={self.min_lr}, lr={self.lr}")
        if self.warmup_iters < 0 or self.warmup_iters > self.lr_decay_iters:
            problems.append(f"need 0 <= warmup_iters <= lr_decay_iters, got {self.warmup_iters} and {self.lr_decay_iters}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                problems.append(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.weight_decay < 0 or self.grad_clip < 0:
            problems.append(f"weight_decay and grad_clip must be >= 0, got {self.weight_decay} and {self.grad_clip}")
        if not 0 < self.val_fraction < 1:
            problems.append(f"val_fraction must be between 0 and 1, got {self.val_fraction}")
        if not re.fullmatch(r"char|gpt2|cl100k|bpe:[1-9]\d*", self.tokenizer):
            problems.append(f"tokenizer must be 'char', 'gpt2', 'cl100k' or 'bpe:<vocab_size>' (e.g. bpe:1024), "
                            f"got {self.tokenizer!r}")
        elif self.tokenizer.startswith("bpe:") and int(self.tokenizer[4:]) < 256:
            problems.append(f"{self.tokenizer}: a byte-level BPE vocabulary starts with the 256 bytes, so it "
                            "needs vocab_size >= 256")
        if self.sampling not in SAMPLING:
            problems.append(f"sampling must be one of {SAMPLING}, got {self.sampling!r}")
        if problems:
            raise ValueError("this training config cannot run:\n  - " + "\n  - ".join(problems))

    def resolved_device(self, cuda_available: bool | None = None) -> str:
        """'auto' -> 'cuda' when a GPU is present, else 'cpu'."""
        if self.device != "auto":
            return self.device
        cuda = torch.cuda.is_available() if cuda_available is None else cuda_available
        return "cuda" if cuda else "cpu"


def _parse(raw: str, f: dataclasses.Field, owner: type):
    """Turn the string ``raw`` into the type of dataclass field ``f``."""
    hints = typing.get_type_hints(owner)
    typ = hints[f.name]
    args = set(typing.get_args(typ)) if isinstance(typ, types.UnionType) else {typ}
    raw = raw.strip()
    if type(None) in args and raw.lower() in ("none", "null"):
        return None
    if bool in args:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{f.name} expects true or false, got {raw!r}.")
    if int in args:
        try:
            value = float(raw)  # accepts 2000, 2_000 and 2e3
        except ValueError:
            value = None
        if value is None or not value.is_integer():
            raise ValueError(f"{f.name} expects an integer, got {raw!r}.")
        return int(value)
    if float in args:
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{f.name} expects a number, got {raw!r}.") from None
    return raw


# ----------------------------------------------------------------------------- presets
def _cpu_tiny() -> TrainConfig:
    # nanoGPT's "I only have a laptop" recipe (README, shakespeare_char on CPU):
    # 4 layers, 4 heads, 128 channels, context 64, batch 12, 2000 steps, no dropout.
    # A few minutes on one core; its speed against a bare loop and transformers, measured
    # side by side: benchmarks/RESULTS.md, "GPT training" (python -m benchmarks.train_cpu).
    return TrainConfig(model=GPTConfig.preset("course-tiny"), out_dir="out/cpu-tiny", device="cpu")


def _colab_t4() -> TrainConfig:
    # A free Colab T4 (16 GB, no bfloat16, ~65 TFLOP/s fp16): fp16 autocast + GradScaler.
    # torch.compile is off: on Colab the compile time eats much of a short session.
    return TrainConfig(
        model=GPTConfig.preset("course-small", dropout=0.2), block_size=256, batch_size=64,
        max_iters=5000, lr_decay_iters=5000, warmup_iters=100, eval_interval=500, eval_iters=100,
        log_interval=10, dtype="float16", compile=False, device="cuda", vocab_multiple=64,
        out_dir="out/colab-t4",
    )


def _gpt2_124m() -> TrainConfig:
    # GPT-2 small with the settings of GPT-3's paper for a 125M model (Brown et al.
    # 2020, table 2.1: 0.5M tokens per batch, lr 6e-4, beta2 0.95): 32 sequences x 1024
    # tokens x 16 micro-steps = 524,288 tokens per step. GPT-2's own tokenizer (50,257
    # ids, padded to 50,304 = 786 x 64 as in nanoGPT: 124.5M parameters). Data:
    # TinyStories, downloaded once.
    return TrainConfig(
        model=GPTConfig.preset("gpt2"),
        data="tinystories",
        tokenizer="gpt2",
        vocab_multiple=64,
        block_size=1024,
        batch_size=32,
        grad_accum_steps=16,
        max_iters=5000,
        lr=6e-4,
        min_lr=6e-5,
        warmup_iters=200,
        lr_decay_iters=5000,
        weight_decay=0.1,
        beta1=0.9,
        beta2=0.95,
        grad_clip=1.0,
        eval_interval=250,
        eval_iters=50,
        log_interval=10,
        dtype="bfloat16",
        compile=True,
        tf32=True,
        device="cuda",
        out_dir="out/gpt2-124m",
    )


PRESETS: dict[str, typing.Callable[[], TrainConfig]] = {
    "cpu-tiny": _cpu_tiny,
    "colab-t4": _colab_t4,
    "gpt2-124m": _gpt2_124m,
}
