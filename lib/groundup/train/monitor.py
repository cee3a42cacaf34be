"""Watching a run: throughput, model FLOPs utilisation (MFU), NaN guard, progress, loss plot.

MFU (PaLM, Chowdhery et al. 2022, appendix B) = achieved FLOP/s / the device's peak, where
achieved FLOP/s = flops_per_token * tokens per second. It answers "how much of the chip
am I using?" independently of the model's size; 40-55% is good for GPT-2 on one GPU.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TextIO

import torch

# Dense peak TFLOP/s (no sparsity) in the precision a run would use: bf16/fp16 tensor cores.
PEAK_TFLOPS = {
    "H200": 989.0,  # same compute die as H100 SXM, more and faster memory
    "H100": 989.0,  # SXM; the PCIe card is 756
    "A100": 312.0,
    "L4": 121.0,
    "A10G": 125.0,  # 70 for "A10"-class cards in some clouds; this is the AWS g5 part
    "V100": 125.0,  # fp16 tensor cores (no bf16)
    "T4": 65.0,  # fp16 tensor cores (no bf16)
}


def device_peak_flops(device: str | torch.device) -> float | None:
    """Peak FLOP/s of ``device`` from ``PEAK_TFLOPS``; None on CPU or an unknown GPU."""
    device = torch.device(device)
    if device.type != "cuda" or not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name(device)
    for key, tflops in PEAK_TFLOPS.items():
        if key in name:
            return tflops * 1e12
    return None


def mfu(
    flops_per_token: float,
    tokens_per_s: float,
    peak_flops: float | None,
    n_devices: int = 1,
) -> float | None:
    """Fraction of the devices' peak used, e.g. 0.45; None when the peak is unknown.

    >>> round(mfu(6 * 124e6, 400_000, 989e12), 3)
    0.301
    """
    if peak_flops is None:
        return None
    return flops_per_token * tokens_per_s / (peak_flops * n_devices)


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite: training cannot recover from that step."""


def check_finite(losses: list[float], first_step: int, lrs: list[float], dtype: str,
                 previous: float | None = None) -> None:
    """Raise ``NonFiniteLossError`` naming the first step whose loss is NaN/inf.

    ``losses[i]`` and ``lrs[i]`` belong to step ``first_step + i`` (steps count from 1);
    ``previous`` is the loss of step ``first_step - 1``, if there was one."""
    for i, loss in enumerate(losses):
        if not math.isfinite(loss):
            step = first_step + i
            last = losses[i - 1] if i > 0 else previous
            before = f"; the loss at step {step - 1} was {last:.4f}" if last is not None else ""
            raise NonFiniteLossError(
                f"the training loss became {loss} at step {step} (learning rate {lrs[i]:.3g}, dtype {dtype}){before}.\n"
                "Usual causes:\n"
                "  - the learning rate is too high: the weights blew up (try lr 10x smaller, or more warmup_iters);\n"
                "  - float16 overflowed (max 65,504) with no GradScaler: use dtype='bfloat16', or the GradScaler "
                "that dtype='float16' sets up in this trainer;\n"
                "  - bad data: token ids >= the model's vocab_size, or NaNs from a custom layer "
                "(run a few steps with torch.autograd.set_detect_anomaly(True) to find it)."
            )


def _interactive(stream: TextIO) -> bool:
    """A terminal, or a Jupyter kernel (where tqdm.auto draws a widget)."""
    if type(stream).__module__.startswith("ipykernel"):
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or file-less stream
        return False


class Progress:
    """The run's progress: a tqdm bar on a terminal or in Jupyter, plain lines elsewhere.

    Redirected to a file or a pipe (a log, a CI job), a bar that redraws on every step
    writes a line per step; there the report is a plain line about ``lines`` times a
    run (at the first logged step past each mark), plus one per evaluation.

    >>> import io
    >>> out = io.StringIO()
    >>> p = Progress(total=100, initial=0, stream=out, lines=4)
    >>> for step in range(1, 101):
    ...     p.step(step, {"loss": f"{3 - step / 100:.2f}"})
    >>> out.getvalue().splitlines()
    ['step 25/100: loss 2.75', 'step 50/100: loss 2.50', 'step 75/100: loss 2.25', 'step 100/100: loss 2.00']
    """

    def __init__(self, total: int, initial: int, *, stream: TextIO | None = None, lines: int = 20):
        self.total, self.stream = total, stream if stream is not None else sys.stderr
        self.bar = None
        if _interactive(self.stream):
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=initial, desc="train", dynamic_ncols=True, file=self.stream)
        self.every = max(1, -(-(total - initial) // lines))  # steps between plain lines
        self.next_line = initial + self.every

    def step(self, done: int, stats: dict | None = None) -> None:
        """One optimizer step finished; ``stats`` (loss, tok_s, ...) when the step was logged."""
        if self.bar is not None:
            if stats:
                self.bar.set_postfix(stats, refresh=False)  # drawn by update(), at most every 0.1 s
            self.bar.update(1)
        elif stats and (done >= self.next_line or done == self.total):
            fields = ", ".join(f"{k} {v}" for k, v in stats.items())
            print(f"step {done}/{self.total}: {fields}", file=self.stream, flush=True)
            while self.next_line <= done:
                self.next_line += self.every

    def write(self, message: str) -> None:
        if self.bar is not None:
            self.bar.write(message)
        else:
            print(message, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def plot_history(history: dict, path: str | Path) -> Path:
    """Save a PNG of the training loss per step and the evaluated train/val losses."""
    # A bare Figure draws without pyplot, so saving never switches the caller's backend.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    steps = range(1, len(history["loss"]) + 1)
    ax.plot(steps, history["loss"], lw=0.8, alpha=0.6, label="train (batch)")
    if history["eval"]:
        it, tr, va = zip(*history["eval"])
        ax.plot(it, tr, "o-", label="train (eval)")
        ax.plot(it, va, "s-", label="val (eval)")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy loss (nats/token)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return Path(path)
