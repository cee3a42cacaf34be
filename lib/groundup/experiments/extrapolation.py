"""Can a transformer read past the length it was trained on? Four position schemes compared.

The same small causal transformer (2 blocks of ``MultiHeadAttention`` + MLP) is
trained at context T on character-level text (``groundup.data.builtin_corpus()``:
Python's own documentation) with each position scheme of ``groundup.positions``.
Then each model reads held-out windows of 4T characters and we record the loss at
every position. Positions 0..T-1 are what it was trained on; T..4T-1 are new.

* learned (GPT-2) has no vector for position T or later: it fails outright. Its
  curve stops at T and its losses past T are reported as NaN (not clamped).
* sinusoidal (Vaswani et al. 2017) is defined everywhere, but the model never saw
  the encodings of positions >= T.
* rope (Su et al. 2021) and alibi (Press et al. 2022) depend on distances i - j;
  ALiBi's paper title is the claim under test: "Train Short, Test Long".
* rope+PI reads the same trained RoPE model with position interpolation (Chen et al.
  2023): every position is multiplied by 1 / eval_factor, so the angles of a 4T window
  stay inside those of the T window it was trained on. Chen et al. then fine-tune
  briefly at the long length: rope+PI+FT does that for ``finetune_steps`` steps, and
  rope+FT is the control, the same fine-tuning without interpolation.

Because attention is causal, the loss at position p of a 4T window is exactly the
loss the model gets on a window of length p + 1; the mean over the first T, 2T and
4T positions is therefore the loss at context T, 2T and 4T.

The full size's numbers are in ``benchmarks/results/extrapolation_full.json``, written by::

    python -m groundup.experiments.extrapolation --full --json benchmarks/results/extrapolation_full.json

and read by the chapter (``load_results``), so the page and this run cannot disagree.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from groundup.attention import MultiHeadAttention
from groundup.experiments import parse_size, save_figure, seeded, stopwatch, threads
from groundup.positions import PositionScheme, build_positions

__all__ = [
    "ExtrapolationConfig", "ExtrapolationResults", "TinyCausalLM", "load_char_corpus", "run", "plot", "format_table",
    "save_results", "load_results", "train_lm", "loss_by_position", "main",
]


@dataclass(frozen=True)
class ExtrapolationConfig:
    """Sizes of the models, the training run and the evaluation."""

    schemes: tuple[str, ...] = ("learned", "sinusoidal", "rope", "alibi")  # position schemes to compare
    block_size: int = 64  # T: the training context
    eval_factor: int = 4  # evaluate windows of eval_factor * T
    n_layer: int = 2  # transformer blocks
    n_embd: int = 64  # C: model width
    n_head: int = 4  # nh: heads per block
    steps: int = 1500  # optimizer steps per scheme
    batch_size: int = 32  # windows per step (B)
    lr: float = 3e-3  # AdamW learning rate (constant)
    corpus_chars: int = 1_000_000  # characters of the built-in corpus to use (10% held out)
    n_eval: int = 256  # held-out windows of eval_factor * T characters
    seed: int = 0  # seeds the weights and the batches (the same for every scheme)
    num_threads: int | None = 1  # torch threads while running (None: leave as is)
    interpolation: bool = True  # with "rope": also read its model with position interpolation (rope+PI)
    # with "rope" and interpolation: fine-tune copies of its model on eval_factor * T windows this many
    # steps, with PI (rope+PI+FT) and without (rope+FT); batch_size // eval_factor windows a step,
    # so a step sees as many tokens as a training step. 0: no fine-tuning.
    finetune_steps: int = 200

    def __post_init__(self) -> None:
        if self.block_size < 1 or self.eval_factor < 1:
            raise ValueError(f"block_size and eval_factor must be >= 1, got {self.block_size} and {self.eval_factor}.")
        if self.finetune_steps < 0:
            raise ValueError(f"finetune_steps must be >= 0, got {self.finetune_steps}.")

    @classmethod
    def small(cls) -> "ExtrapolationConfig":
        """The size the book runs."""
        return cls(block_size=32, steps=400, corpus_chars=300_000, n_eval=128, finetune_steps=60)

    @classmethod
    def tiny(cls) -> "ExtrapolationConfig":
        """A smoke-test size for unit tests (seconds)."""
        return cls(block_size=8, n_layer=1, n_embd=16, n_head=2, steps=20, batch_size=8,
                   corpus_chars=20_000, n_eval=8, finetune_steps=4)


def load_char_corpus(max_chars: int) -> tuple[Tensor, list[str]]:
    """The built-in corpus as character ids (N,), and the characters (the vocabulary)."""
    try:
        from groundup.data import builtin_corpus

        text = builtin_corpus(max_chars=max_chars)
    except ImportError:  # an older checkout without groundup.data: Python's help topics
        from pydoc_data.topics import topics

        text = "\n\n".join(topics[k] for k in sorted(topics))[:max_chars]
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    return torch.tensor([stoi[ch] for ch in text], dtype=torch.long), chars


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, n_embd: int, n_head: int, positions: PositionScheme) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = MultiHeadAttention(n_embd, n_head, causal=True, positions=positions)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))  # (B, T, C)
        return x + self.mlp(self.ln_2(x))  # (B, T, C)


class TinyCausalLM(nn.Module):
    """Token embedding + position scheme + ``n_layer`` blocks + LM head; the scheme
    is the only difference."""

    def __init__(self, vocab_size: int, config: ExtrapolationConfig, kind: str,
                 positions: PositionScheme | None = None) -> None:
        """``positions``: a scheme object to use instead of ``build_positions(kind)``
        (e.g. your own RoPE)."""
        super().__init__()
        C = config.n_embd
        self.kind = kind
        if positions is None:
            positions = build_positions(
                kind, block_size=config.block_size, n_embd=C, n_head=config.n_head
            )
        self.positions = positions
        self.wte = nn.Embedding(vocab_size, C)
        # One scheme object shared by the input and every layer (rope
        # and alibi cache tables).
        self.blocks = nn.ModuleList(
            Block(C, config.n_head, self.positions) for _ in range(config.n_layer)
        )
        self.ln_f = nn.LayerNorm(C)
        self.lm_head = nn.Linear(C, vocab_size)

    def forward(self, idx: Tensor) -> Tensor:
        """idx (B, T) -> logits (B, T, V)."""
        x = self.positions.add_to_input(self.wte(idx))  # (B, T, C)
        for block in self.blocks:
            x = block(x)  # (B, T, C)
        return self.lm_head(self.ln_f(x))  # (B, T, V)


@dataclass
class ExtrapolationResults:
    """What ``run`` measured."""

    config: ExtrapolationConfig  # the settings that produced these numbers
    loss_by_position: dict[str, list[float]]  # scheme -> mean loss at positions 0..4T-1 (NaN: cannot run)
    train_loss: dict[str, list[float]]  # scheme -> training loss at every step
    seconds: dict[str, float]  # scheme -> training + evaluation time
    vocab_size: int = 0  # characters in the vocabulary
    notes: dict[str, str] = field(default_factory=dict)  # scheme -> remark (e.g. why NaN)

    def band_means(self) -> dict[str, dict[str, float]]:
        """Mean loss per scheme over positions [0, T), [T, 2T), [2T, 4T) (NaN where it cannot run)."""
        T, L = self.config.block_size, self.config.block_size * self.config.eval_factor
        bands = {"[0,T)": (0, T), "[T,2T)": (T, min(2 * T, L)), "[2T,4T)": (2 * T, L)}
        out = {}
        for kind, curve in self.loss_by_position.items():
            out[kind] = {name: sum(curve[a:b]) / (b - a) if b > a else math.nan for name, (a, b) in bands.items()}
        return out

    def context_means(self) -> dict[str, dict[int, float]]:
        """Mean loss per scheme of a whole window of length T, 2T, 4T (causal: a prefix of the curve)."""
        T = self.config.block_size
        lengths = [T * f for f in (1, 2, 4) if f <= self.config.eval_factor]
        return {k: {n: sum(c[:n]) / n for n in lengths} for k, c in self.loss_by_position.items()}


@torch.no_grad()
def loss_by_position(model: TinyCausalLM, windows: Tensor, batch_size: int = 32) -> Tensor:
    """Mean cross-entropy at each position of windows (N, L+1) -> (L,)."""
    model.eval()
    total = torch.zeros(windows.size(1) - 1)
    for i in range(0, windows.size(0), batch_size):
        w = windows[i : i + batch_size]  # (b, L+1)
        logits = model(w[:, :-1])  # (b, L, V)
        nll = F.cross_entropy(logits.transpose(1, 2), w[:, 1:], reduction="none")  # (b, L)
        total += nll.sum(0)
    model.train()
    return total / windows.size(0)  # (L,)


def train_lm(model: TinyCausalLM, data: Tensor, T: int, batch_size: int, steps: int, lr: float, seed: int,
           progress: bool, desc: str) -> list[float]:
    """AdamW at a constant lr on random (batch_size, T) windows of data; returns the loss of every step."""
    from tqdm.auto import tqdm

    from groundup.lm import get_batch

    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    g = torch.Generator().manual_seed(seed)  # the same batches for every model given the same seed
    losses = []
    for _ in tqdm(range(steps), disable=not progress, desc=desc):
        x, y = get_batch(data, T, batch_size, g)  # (B, T) each
        logits = model(x)  # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def run(config: ExtrapolationConfig = ExtrapolationConfig(), progress: bool = True) -> ExtrapolationResults:
    """Train one model per position scheme at context T; measure loss by position up to eval_factor * T.

    With "rope" in the schemes and ``config.interpolation``, the RoPE model is also read with
    position interpolation (rope+PI) and, if ``config.finetune_steps``, fine-tuned at length
    eval_factor * T with and without it (rope+PI+FT, rope+FT).
    """

    T, L = config.block_size, config.block_size * config.eval_factor
    data, chars = load_char_corpus(config.corpus_chars)
    n_train = int(0.9 * data.numel())
    train, val = data[:n_train], data[n_train:]
    if val.numel() < L + 2:
        raise ValueError(f"corpus_chars={config.corpus_chars} leaves too little held-out text for windows of {L}.")
    g_eval = torch.Generator().manual_seed(config.seed + 1)
    starts = torch.randint(val.numel() - L - 1, (config.n_eval,), generator=g_eval)  # (N,)
    windows = val[starts[:, None] + torch.arange(L + 1)]  # (N, L+1)

    curves, train_loss, seconds, notes = {}, {}, {}, {}
    with threads(config.num_threads):
        for kind in config.schemes:
            with stopwatch() as elapsed:
                with seeded(config.seed):
                    model = TinyCausalLM(len(chars), config, kind)
                losses = train_lm(model, train, T, config.batch_size, config.steps, config.lr, config.seed + 2,
                                progress, kind)
                if kind == "learned":
                    # The table has rows 0..T-1 only; running at 4T raises. Positions < T of a
                    # 4T window equal those of a T window (causal), so measure those and mark the rest.
                    curve = torch.cat([loss_by_position(model, windows[:, : T + 1]), torch.full((L - T,), math.nan)])
                    notes[kind] = (f"fails outright past T={T}: no learned vector for positions >= {T} "
                                   "(reported as NaN, not clamped)")
                else:
                    curve = loss_by_position(model, windows)
            curves[kind], train_loss[kind], seconds[kind] = curve.tolist(), losses, elapsed()
            if kind == "rope" and config.interpolation:
                _interpolate(model, config, train, windows, curves, train_loss, seconds, notes, progress)
    return ExtrapolationResults(config, curves, train_loss, seconds, len(chars), notes)


def _interpolate(model: TinyCausalLM, config: ExtrapolationConfig, train: Tensor, windows: Tensor,
                 curves: dict, train_loss: dict, seconds: dict, notes: dict, progress: bool) -> None:
    """Position interpolation (Chen et al. 2023) on the trained RoPE model, with and without fine-tuning."""
    import copy

    T, L, scale = config.block_size, windows.size(1) - 1, 1.0 / config.eval_factor
    with stopwatch() as elapsed:
        pi = copy.deepcopy(model)
        pi.positions.scale = scale  # position m of the long window turns like position m / eval_factor
        curves["rope+PI"] = loss_by_position(pi, windows).tolist()
    train_loss["rope+PI"], seconds["rope+PI"] = [], elapsed()
    notes["rope+PI"] = f"the rope model, not trained further, read with positions scaled by {scale:g}"
    if config.finetune_steps == 0:
        return
    B = max(1, config.batch_size // config.eval_factor)  # as many tokens a step as in training
    for kind, s in (("rope+FT", 1.0), ("rope+PI+FT", scale)):
        with stopwatch() as elapsed:
            tuned = copy.deepcopy(model)
            tuned.positions.scale = s
            train_loss[kind] = train_lm(tuned, train, L, B, config.finetune_steps, config.lr, config.seed + 3,
                                      progress, kind)
            curves[kind] = loss_by_position(tuned, windows).tolist()
        seconds[kind] = elapsed()
        notes[kind] = (f"the rope model fine-tuned {config.finetune_steps} steps on windows of {L} "
                       f"({B} a step), positions scaled by {s:g}")


def save_results(results: ExtrapolationResults, path: str | Path) -> Path:
    """Write the results (config and every curve) as JSON; NaN (learned past T) is written as null."""
    import json

    def clean(v):
        if isinstance(v, float) and math.isnan(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"config": asdict(results.config), "loss_by_position": results.loss_by_position,
            "train_loss": results.train_loss, "seconds": results.seconds, "vocab_size": results.vocab_size,
            "notes": results.notes, "torch": torch.__version__}
    path.write_text(json.dumps(clean(data), indent=1) + "\n")
    return path


def load_results(path: str | Path) -> ExtrapolationResults:
    """Read what ``save_results`` wrote."""
    import json

    data = json.loads(Path(path).read_text())
    cfg = data["config"]
    cfg["schemes"] = tuple(cfg["schemes"])
    config = ExtrapolationConfig(**cfg)
    curves = {k: [math.nan if v is None else v for v in c] for k, c in data["loss_by_position"].items()}
    return ExtrapolationResults(config, curves, data["train_loss"], data["seconds"], data["vocab_size"], data["notes"])


def plot(results: ExtrapolationResults, out=None, smooth: int = 4):
    """Loss by position for each scheme, with the training length T marked.

    ``out``: None (return the figure), a path (also save a PNG there), or a matplotlib Axes.
    ``smooth``: running mean over this many positions (per-position losses are noisy).
    """
    if out is None or isinstance(out, (str, Path)):
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(9, 4.5))
    else:
        ax, fig = out, out.figure
    T = results.config.block_size
    for kind, curve in results.loss_by_position.items():
        c = torch.tensor(curve)
        c = c[torch.isfinite(c)]  # learned: only the positions it can run
        x = torch.arange(len(c), dtype=torch.float32)
        if 1 < smooth <= len(c):
            c = F.avg_pool1d(c[None, None], smooth, stride=1)[0, 0]  # running mean, (len - smooth + 1,)
            x = x[: len(c)] + (smooth - 1) / 2
        line, = ax.plot(x.numpy(), c.numpy(), label=kind, lw=2.5 if kind == "learned" else 1.5,
                        zorder=1 if kind == "learned" else 2, ls="--" if "+" in kind else "-")
        if kind == "learned" and len(c):
            ax.plot(x[-1:].numpy(), c[-1:].numpy(), "x", color=line.get_color(), ms=9, mew=2)
    for k in (1, 2):
        if k * T < T * results.config.eval_factor:
            ax.axvline(k * T - 0.5, color="gray", ls="--", lw=1)
    ax.text(T, ax.get_ylim()[1], " T (training length)", va="top", color="gray")
    if "learned" in results.loss_by_position:
        ax.annotate("learned: no position >= T", xy=(T, ax.get_ylim()[0]), xytext=(T + 2, ax.get_ylim()[0]),
                    va="bottom")
    ax.set(xlabel="position in the window", ylabel="loss (nats per character)",
           title=f"Trained at T={T}, evaluated at {results.config.eval_factor}T")
    ax.legend()
    if isinstance(out, (str, Path)):
        save_figure(fig, out)
    return fig


def format_table(results: ExtrapolationResults) -> str:
    """A markdown table of the mean loss per position band."""
    rows = ["| scheme | [0,T) | [T,2T) | [2T,4T) | train loss (last 50 steps) | time (s) |", "|---|---|---|---|---|---|"]
    for kind, bands in results.band_means().items():
        tl = results.train_loss[kind][-50:]
        cells = " | ".join("fails" if math.isnan(v) else f"{v:.3f}" for v in bands.values())
        train = f"{sum(tl) / len(tl):.3f}" if tl else "(not trained)"
        rows.append(f"| {kind} | {cells} | {train} | {results.seconds[kind]:.1f} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> ExtrapolationResults:
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    json_out = None
    if "--json" in argv:  # --json PATH: also write the results there (what the chapter reads)
        i = argv.index("--json")
        if i + 1 >= len(argv):
            raise SystemExit("--json needs a path, e.g. --json benchmarks/results/extrapolation_full.json")
        json_out = argv[i + 1]
        del argv[i : i + 2]
    config, out, tiny = parse_size(argv, __doc__, "extrapolation.png", ExtrapolationConfig)
    results = run(config, progress=not tiny)
    if json_out:
        print(f"results written to {save_results(results, json_out)}")
    print(f"config: {asdict(config)}")
    print(f"vocabulary: {results.vocab_size} characters; mean loss (nats/char) by position band, T={config.block_size}:")
    print(format_table(results))
    for kind, note in results.notes.items():
        print(f"{kind}: {note}")
    print(f"total time: {sum(results.seconds.values()):.1f} s; plot saved to {save_figure(plot(results), out)}")
    return results


if __name__ == "__main__":
    main()
