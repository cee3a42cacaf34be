"""Why does attention let a model connect distant tokens? A key-value recall experiment.

The task. Early in a sequence a few key-value pairs are stored, each as one token
``(key, value)``; then come filler tokens; the last token is a query naming one of
the keys, and the model must output that key's value. The pair it needs is at least
``min_distance`` (64) positions back::

    (k3,v7) filler (k1,v2) filler ... filler filler  query(k1)  ->  answer v2
    '------------------ >= 64 positions -------------------'

Two models with the same layers and the same parameters are trained on it:

(a) one layer of causal self-attention over the whole sequence;
(b) the same layer, but each token may only look ``window`` (8) tokens back, as a
    convolution or a local-attention layer would.

Attention compares the query with every earlier token in one step, whatever the
distance (Vaswani et al. 2017, sec. 4: "maximum path length" O(1) for
self-attention against O(n/k) for convolutions of width k). So (a) learns to find
the matching pair and copy its value, and its attention to that pair can be drawn.
(b) never sees a pair, so it can do no better than guessing the value (chance).

(b) fails because it cannot see; a third model *can* reach the pair, by relaying:

(c) a recurrent network (one GRU layer, Cho et al. 2014, the same width), whose state
    carries everything forward one token at a time: a path of length O(n) (Table 1).

``accuracy_by_distance`` then moves the needed pair to a chosen distance from the
query, so each model's accuracy can be read against distance.

Why store key and value in one token? Finding "the token after the matching key"
needs two attention steps (an induction head, two layers). One layer can match a
query against a key *and* read a value only if both live in the same token.

Measured on a 2-core CPU, torch 2.13.0, one thread. The CPU time is what a quiet
machine takes; the wall time was longer here because other jobs shared the cores.

==========================  ==========  ==============  ===========  ======
config                      CPU time    (a) attention   (b) window   chance
==========================  ==========  ==============  ===========  ======
``RecallConfig()`` T=128    61 s        99.1%           5.3%         6.25%
``RecallConfig.small()``    20 s        98.0%           5.2%         6.25%
``RecallConfig.tiny()``     5 s         100.0%          14.5%        12.5%
==========================  ==========  ==============  ===========  ======

(Those CPU times are for (a) and (b), measured before model (c) was added. The GRU
adds about 60% to them: the book's cell that runs ``small`` went from 46 s to 74 s of
CPU time, both measured on the same loaded machine. ``main`` prints (c)'s accuracies;
at ``small`` it stays at chance, 4.0% against 6.25%.) (``tiny`` is the unit-test size: T=48, pairs >= 40 back, 8 values.) In model (a)
the heads share the keys between them; for each example the head that looks
hardest at the needed pair puts about 0.9 of its attention on it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from groundup.attention import MultiHeadAttention, banded_causal_mask
from groundup.experiments import parse_size, save_figure, seeded, stopwatch, threads

__all__ = [
    "RecallConfig", "RecallResults", "make_recall_batch", "move_pair", "RecallModel", "RecurrentRecallModel",
    "train_and_evaluate", "accuracy_by_distance", "run", "plot", "main",
]


@dataclass(frozen=True)
class RecallConfig:
    """Sizes of the recall task, the model and the training run."""

    seq_len: int = 128  # T: tokens per sequence, the query is the last one
    min_distance: int = 64  # every stored pair is at least this many positions before the query
    n_keys: int = 8  # distinct keys
    n_values: int = 16  # distinct values; chance accuracy is 1 / n_values
    n_pairs: int = 4  # key-value pairs stored per sequence (distinct keys)
    n_filler: int = 16  # distinct filler tokens between the pairs
    window: int = 8  # how far back model (b) may look, counting the token itself
    n_embd: int = 64  # C: model width
    n_head: int = 4  # nh: attention heads (with one head training often stalls near 70%)
    steps: int = 800  # optimizer steps for each model
    batch_size: int = 64  # sequences per step (B)
    lr: float = 3e-3  # AdamW learning rate
    eval_every: int = 50  # steps between accuracy checks (for the learning curves)
    n_eval: int = 1000  # held-out sequences for the accuracy
    seed: int = 0  # seeds the data and both models' initial weights
    num_threads: int | None = 1  # torch threads while running (None: leave as is); see experiments.threads

    @classmethod
    def small(cls) -> "RecallConfig":
        """The size the book runs: shorter sequences (pairs 64-79 back), fewer steps."""
        return cls(seq_len=80, steps=400, eval_every=25, n_eval=500)

    @classmethod
    def tiny(cls) -> "RecallConfig":
        """A smoke-test size for unit tests (seconds); still long-range (distance >= 40)."""
        return cls(seq_len=48, min_distance=40, n_keys=4, n_values=8, n_pairs=2, n_filler=8,
                   n_embd=32, steps=150, eval_every=50, n_eval=256)

    @property
    def vocab_size(self) -> int:
        """Filler tokens, then one token per (key, value) pair, then one query token per key."""
        return self.n_filler + self.n_keys * self.n_values + self.n_keys

    def __post_init__(self) -> None:
        if self.n_pairs > self.n_keys:
            raise ValueError(f"n_pairs={self.n_pairs} needs at least as many distinct keys, got n_keys={self.n_keys}.")
        if self.seq_len - 1 - self.min_distance + 1 < self.n_pairs:
            raise ValueError(
                f"seq_len={self.seq_len} leaves {self.seq_len - self.min_distance} positions at least "
                f"min_distance={self.min_distance} before the query, too few for n_pairs={self.n_pairs}."
            )
        if self.window >= self.min_distance:
            raise ValueError(f"window={self.window} must be shorter than min_distance={self.min_distance}.")


def make_recall_batch(
    config: RecallConfig, batch_size: int, generator: torch.Generator
) -> tuple[Tensor, Tensor, Tensor]:
    """Sample sequences (B, T), answers (B,) in [0, n_values), and the position
    of the needed pair (B,).

    Token ids: 0..n_filler-1 filler, then pair (key, value) = n_filler + key*n_values +
    value, then query(key) = n_filler + n_keys*n_values + key.
    """
    c, B, T = config, batch_size, config.seq_len
    # (B, T) filler everywhere
    x = torch.randint(c.n_filler, (B, T), generator=generator)
    # (B, n_pairs) distinct
    keys = torch.rand(B, c.n_keys, generator=generator).argsort(dim=1)[:, : c.n_pairs]
    # (B, n_pairs)
    values = torch.randint(c.n_values, (B, c.n_pairs), generator=generator)
    last_slot = T - 1 - c.min_distance  # latest position allowed for a pair
    slots = torch.rand(B, last_slot + 1, generator=generator).argsort(dim=1)[
        :, : c.n_pairs
    ]  # (B, n_pairs)
    x.scatter_(1, slots, c.n_filler + keys * c.n_values + values)
    # (B, 1) which pair to ask for
    asked = torch.randint(c.n_pairs, (B, 1), generator=generator)
    x[:, -1] = c.n_filler + c.n_keys * c.n_values + keys.gather(1, asked)[:, 0]
    return x, values.gather(1, asked)[:, 0], slots.gather(1, asked)[:, 0]


def move_pair(x: Tensor, where: Tensor, distance: int) -> tuple[Tensor, Tensor]:
    """Swap each sequence's needed pair (at ``where``, (B,)) with the token ``distance`` before the query.

    Returns the new sequences (B, T) and the pair's new position (B,). A swap keeps every
    token of the sequence, so the other pairs are still there (one may move into the gap).
    """
    T = x.size(1)
    if not 1 <= distance <= T - 1:
        raise ValueError(f"distance={distance} must be between 1 and T - 1 = {T - 1} (the query is the last token).")
    rows = torch.arange(x.size(0))
    new = torch.full_like(where, T - 1 - distance)  # (B,)
    x = x.clone()
    x[rows, where], x[rows, new] = x[rows, new], x[rows, where]
    return x, new


class RecallModel(nn.Module):
    """Embedding -> one pre-norm attention block (attention + MLP) ->
    classifier on the last token.

    ``window=None`` attends over the whole causal prefix; ``window=w`` adds a banded
    mask so each token sees only the last w tokens. The parameters are identical.
    No position scheme: finding the pair is a match by content, wherever it is.

    ``attention``: the attention layer to use, a module called as
    ``attention(x, attn_mask=mask)`` on (B, T, C) (default: the library's causal
    ``MultiHeadAttention``). The exercise plugs the learner's layer in here.
    """

    def __init__(
        self,
        config: RecallConfig,
        window: int | None = None,
        attention: nn.Module | None = None,
    ) -> None:
        super().__init__()
        C = config.n_embd
        self.window = window
        self.wte = nn.Embedding(config.vocab_size, C)
        self.ln_1 = nn.LayerNorm(C)
        self.attn = (
            MultiHeadAttention(C, config.n_head, causal=True)
            if attention is None
            else attention
        )
        self.ln_2 = nn.LayerNorm(C)
        self.mlp = nn.Sequential(nn.Linear(C, 4 * C), nn.GELU(), nn.Linear(4 * C, C))
        self.ln_f = nn.LayerNorm(C)
        self.head = nn.Linear(C, config.n_values)

    def forward(
        self, idx: Tensor, need_weights: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """idx (B, T) -> logits over values (B, n_values) [, attention
        weights (B, nh, T, T)]."""
        T = idx.size(1)
        mask = (
            None
            if self.window is None
            else banded_causal_mask(T, self.window, idx.device)
        )  # (T, T)
        x = self.wte(idx)  # (B, T, C)
        if need_weights:
            a, w = self.attn(self.ln_1(x), attn_mask=mask, need_weights=True)
        else:  # a plugged-in layer need not know need_weights
            a, w = self.attn(self.ln_1(x), attn_mask=mask), None
        # Only the query's answer is scored, so the rest of the
        # block runs on the last token.
        h = x[:, -1] + a[:, -1]  # (B, C)
        h = h + self.mlp(self.ln_2(h))  # (B, C)
        logits = self.head(self.ln_f(h))  # (B, n_values)
        return (logits, w) if need_weights else logits


class RecurrentRecallModel(nn.Module):
    """Model (c): embedding -> one GRU layer -> classifier on the last state.

    It *can* reach a pair any distance back, but only by relaying it through the state,
    one token at a time (Table 1's recurrent row: path length O(n)).
    """

    def __init__(self, config: RecallConfig) -> None:
        super().__init__()
        C = config.n_embd
        self.wte = nn.Embedding(config.vocab_size, C)
        self.rnn = nn.GRU(C, C, batch_first=True)
        self.ln_f = nn.LayerNorm(C)
        self.head = nn.Linear(C, config.n_values)

    def forward(self, idx: Tensor) -> Tensor:
        """idx (B, T) -> logits over values (B, n_values)."""
        h, _ = self.rnn(self.wte(idx))  # (B, T, C): the state after each token
        return self.head(self.ln_f(h[:, -1]))  # (B, n_values)


@dataclass
class RecallResults:
    """What ``run`` measured."""

    config: RecallConfig  # the settings that produced these numbers
    chance: float  # 1 / n_values
    accuracy: dict[str, float]  # final held-out accuracy: {"attention": ..., "window": ...}
    curves: dict[str, list[float]]  # held-out accuracy every eval_every steps, per model
    curve_steps: list[int]  # the steps at which the curves were measured
    attention: Tensor  # (n_show, T) where model (a)'s query looks, in the head shown for each example
    heads_shown: list[int]  # (n_show,) the head shown per example: the one most on the needed pair
    correct: list[bool]  # (n_show,) whether model (a) answered each shown example right
    head_on_pair: list[float]  # per head: mean attention of the query on the needed pair (200 examples)
    best_head_on_pair: float  # mean over 200 examples of the largest per-head attention on the needed pair
    pair_position: Tensor  # (n_show,) where each example's needed pair sits
    seconds: float  # wall time of the whole run
    n_params: int = 0  # parameters of models (a) and (b) (identical)
    n_params_recurrent: int = 0  # parameters of model (c)
    distances: list[int] = None  # the distances at which accuracy_by_distance was measured
    by_distance: dict[str, list[float]] = None  # per model: held-out accuracy at each of `distances`


@torch.no_grad()
def _accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    model.eval()
    acc = (model(x).argmax(-1) == y).float().mean().item()
    model.train()
    return acc


def _train(model: RecallModel, config: RecallConfig, eval_set, seed: int, desc: str, progress: bool) -> list[float]:
    from tqdm.auto import tqdm

    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.0)
    curve = []
    for step in tqdm(range(1, config.steps + 1), disable=not progress, desc=desc):
        x, y, _ = make_recall_batch(config, config.batch_size, g)  # (B, T), (B,)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % config.eval_every == 0 or step == config.steps:
            curve.append(_accuracy(model, *eval_set))
    return curve


def _eval_set(config: RecallConfig) -> tuple[Tensor, Tensor, Tensor]:
    """The held-out sequences (n_eval, T), answers and pair positions, the same for every model."""
    return make_recall_batch(config, config.n_eval, torch.Generator().manual_seed(config.seed + 1))


def train_and_evaluate(model: nn.Module, config: RecallConfig, progress: bool = False) -> float:
    """Train ``model`` (idx (B, T) -> logits (B, n_values)) on the task; return its held-out accuracy.

    The batches, optimizer and held-out set are those of ``run``, so a learner's model is
    measured exactly as the chapter's. Runs under ``config.num_threads``.
    """
    with threads(config.num_threads):
        x_eval, y_eval, _ = _eval_set(config)
        return _train(model, config, (x_eval, y_eval), config.seed + 2, "recall", progress)[-1]


@torch.no_grad()
def accuracy_by_distance(model: nn.Module, config: RecallConfig, distances: list[int]) -> list[float]:
    """Held-out accuracy with the needed pair moved to exactly each distance before the query."""
    x_eval, y_eval, pos_eval = _eval_set(config)
    return [_accuracy(model, move_pair(x_eval, pos_eval, d)[0], y_eval) for d in distances]


def run(config: RecallConfig = RecallConfig(), progress: bool = True, n_show: int = 12) -> RecallResults:
    """Train (a) full attention, (b) windowed attention and (c) a GRU; measure all three."""
    with stopwatch() as elapsed, threads(config.num_threads):
        x_eval, y_eval, pos_eval = _eval_set(config)
        models = {}
        for name, window in (("attention", None), ("window", config.window)):
            with seeded(config.seed):  # same initial weights for both
                models[name] = RecallModel(config, window)
        with seeded(config.seed):
            models["recurrent"] = RecurrentRecallModel(config)
        curves = {
            name: _train(m, config, (x_eval, y_eval), config.seed + 2, name, progress) for name, m in models.items()
        }
        accuracy = {name: c[-1] for name, c in curves.items()}
        # From next to the query to as far back as a sequence allows; training saw only >= min_distance.
        T = config.seq_len
        distances = sorted({1, 2, 4, config.window - 1, config.window, 16, 32, config.min_distance // 2,
                            config.min_distance, (config.min_distance + T - 1) // 2, T - 1} - {0})
        distances = [d for d in distances if 1 <= d <= T - 1]
        by_distance = {name: accuracy_by_distance(m, config, distances) for name, m in models.items()}
        model = models["attention"].eval()
        n_probe = min(200, config.n_eval)
        with torch.no_grad():
            logits, w = model(x_eval[:n_probe], need_weights=True)  # (n_probe, n_values), (n_probe, nh, T, T)
        correct = (logits.argmax(-1) == y_eval[:n_probe])[:n_show].tolist()
        query_rows = w[:, :, -1, :]  # (n_probe, nh, T): where the query looks, per head
        on_pair = query_rows[torch.arange(n_probe), :, pos_eval[:n_probe]]  # (n_probe, nh)
        # The heads share the keys between them (each looks up some keys), so for each
        # example we show the head that looks hardest at the pair it needs.
        heads = on_pair[:n_show].argmax(1)  # (n_show,)
        attention = query_rows[torch.arange(n_show), heads]  # (n_show, T)
    steps = [s for s in range(1, config.steps + 1) if s % config.eval_every == 0 or s == config.steps]
    return RecallResults(
        config=config,
        chance=1.0 / config.n_values,
        accuracy=accuracy,
        curves=curves,
        curve_steps=steps,
        attention=attention,
        heads_shown=heads.tolist(),
        correct=correct,
        head_on_pair=on_pair.mean(0).tolist(),
        best_head_on_pair=on_pair.amax(1).mean().item(),
        pair_position=pos_eval[:n_show],
        seconds=elapsed(),
        n_params=sum(p.numel() for p in models["attention"].parameters()),
        n_params_recurrent=sum(p.numel() for p in models["recurrent"].parameters()),
        distances=distances,
        by_distance=by_distance,
    )


def plot(results: RecallResults, out=None):
    """Learning curves, accuracy against distance, and a heatmap of where model (a)'s query looks.

    ``out``: None (return the figure), a path (also save a PNG there), or three matplotlib Axes.
    """
    import matplotlib
    import matplotlib.patches

    if out is None or isinstance(out, (str, Path)):
        import matplotlib.pyplot as plt

        fig, axd = plt.subplot_mosaic([["curves", "distance"], ["heat", "heat"]], figsize=(10, 9), layout="constrained",
                                      height_ratios=[1, 1.3])
        axes = [axd["curves"], axd["distance"], axd["heat"]]
    else:
        axes = list(out)
        fig = axes[0].figure
    c = results.config
    labels = {"attention": "(a) full attention", "window": f"(b) window of {c.window}", "recurrent": "(c) GRU"}
    ax = axes[0]
    for name, curve in results.curves.items():
        ax.plot(results.curve_steps, [100 * a for a in curve], label=f"{labels[name]}: {100 * results.accuracy[name]:.1f}%")
    ax.axhline(100 * results.chance, color="gray", ls="--", label=f"chance {100 * results.chance:.1f}%")
    ax.set(xlabel="training step", ylabel="held-out accuracy (%)", ylim=(0, 102), title="Recall a value >= "
           f"{c.min_distance} tokens back")
    ax.legend()

    ax = axes[1]
    for name, accs in results.by_distance.items():
        ax.plot(results.distances, [100 * a for a in accs], "o-", ms=4, label=labels[name])
    ax.axhline(100 * results.chance, color="gray", ls="--", label="chance")
    ax.axvspan(c.min_distance, c.seq_len - 1, color="gray", alpha=0.15, label="distances seen in training")
    ax.axvline(c.window - 0.5, color="tab:orange", ls=":", label=f"edge of (b)'s window")
    ax.set(xlabel="distance from the needed pair to the query (tokens)", ylabel="held-out accuracy (%)",
           ylim=(0, 102), title="Accuracy against distance, the pair moved")
    ax.legend()

    ax = axes[2]
    im = ax.imshow(results.attention.numpy(), aspect="auto", cmap="viridis", interpolation="nearest")
    ax.scatter(results.pair_position.numpy(), range(len(results.pair_position)), marker="s", s=70,
               facecolors="none", edgecolors="red", linewidths=1.2, label="the pair holding the answer")
    n = len(results.pair_position)
    ax.add_patch(matplotlib.patches.Rectangle((c.seq_len - c.window - 0.5, -0.5), c.window, n, fill=False,
                                              edgecolor="tab:orange", lw=1.5, ls="--", label="model (b)'s window"))
    ticks = [f"ex {i}, head {h}: {'right' if ok else 'WRONG'}"
             for i, (h, ok) in enumerate(zip(results.heads_shown, results.correct))]
    ax.set_yticks(range(n), ticks)
    ax.set(xlabel="key position", title="(a): where the query (last token) looks")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    fig.colorbar(im, ax=ax, fraction=0.03)
    if isinstance(out, (str, Path)):
        save_figure(fig, out)
    return fig


def main(argv: list[str] | None = None) -> RecallResults:
    config, out, tiny = parse_size(argv, __doc__, "recall.png", RecallConfig)
    results = run(config, progress=not tiny)
    print(f"config: {asdict(config)}")
    print(f"parameters: {results.n_params:,} in (a) and (b), {results.n_params_recurrent:,} in (c)")
    for name, acc in results.accuracy.items():
        print(f"{name:>9}: held-out accuracy {100 * acc:5.1f}%")
    print("accuracy by distance:", "  ".join(f"d={d}" for d in results.distances))
    for name, accs in results.by_distance.items():
        print(f"{name:>9}: " + " ".join(f"{100 * a:5.1f}%" for a in accs))
    print(f"   chance: {100 * results.chance:5.1f}%")
    per_head = ", ".join(f"{a:.2f}" for a in results.head_on_pair)
    print(f"mean attention of the query on the needed pair, per head of (a): {per_head}; "
          f"in the head that looks hardest, per example: {results.best_head_on_pair:.2f}")
    print(f"time: {results.seconds:.1f} s; plot saved to {save_figure(plot(results), out)}")
    return results


if __name__ == "__main__":
    main()
