"""Why does a higher temperature give more creative but less consistent text? Measured.

A model trained by the course (Chapter 6's ``cpu-tiny`` on the built-in corpus, one id per
character) continues the same prompts many times at each temperature T. For every T:

* **entropy**: the mean entropy (nats) of the distribution each token was drawn from,
  softmax(z / T): how many options the sampler really weighs;
* **diversity**: distinct-1 and distinct-2 (Li et al. 2016), the share of word unigrams
  and bigrams that are unique across all samples, and **repetition**, the share of
  character 4-grams in a sample that already occurred earlier in it (Welleck et al. 2020's
  seq-rep);
* **consistency**: for each prompt, the mean word-set overlap (Jaccard) between pairs of
  its independent samples, and the share of pairs whose first 16 characters agree;
* **quality**, judged by models that did not write the text: the loss (nats/character)
  of a character 5-gram model with Witten-Bell smoothing fitted on the training text, and
  the share of words that exist in the training text.

Every measure is also taken on real held-out text, as many pieces of the same length as
there are samples: the level a perfect generator would reach.

``python -m groundup.experiments.temperature [--full]`` runs it from the command line;
``--hf gpt2`` runs the same measurements on the real GPT-2 (downloaded once; needs the
network) with GPT-2's tokenizer.
"""
from __future__ import annotations

import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Callable

import torch

from groundup.experiments import parse_size, save_figure, seeded, threads
from groundup.generate import generate

__all__ = ["TemperatureConfig", "TemperatureResults", "CharNGram", "words", "distinct_n", "repetition",
           "jaccard_consistency", "prefix_agreement", "entropy_nats", "course_model", "char_codec", "run", "plot",
           "main"]

WORD = re.compile(r"[A-Za-z]+")


# ----------------------------------------------------------------------------- config
@dataclass(frozen=True)
class TemperatureConfig:
    """Sizes of the experiment. ``small()`` is the book's build-time size."""

    train_steps: int = 2000  # steps of the course model (cpu-tiny; 2,000 = the full preset)
    temperatures: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
    n_prompts: int = 32  # prompts, cut from held-out text
    samples_per_prompt: int = 10  # independent continuations of each prompt, per temperature
    prompt_chars: int = 16  # characters of each prompt
    new_tokens: int = 48  # tokens generated per sample (prompt + new = the course model's 64-token window,
    # so every step uses the KV cache; past the window each step would recompute all 64 positions)
    judge_order: int = 5  # n of the character n-gram judge
    corpus_chars: int = 0  # characters of the built-in corpus for the judge and prompts (0 = all)
    seed: int = 0
    threads: int | None = 1  # torch threads (None: leave alone)

    @classmethod
    def small(cls) -> "TemperatureConfig":
        return cls(train_steps=1000, n_prompts=16, samples_per_prompt=8)

    @classmethod
    def tiny(cls) -> "TemperatureConfig":
        return cls(train_steps=30, temperatures=(0.0, 1.0, 2.0), n_prompts=3, samples_per_prompt=3,
                   new_tokens=24, judge_order=3, corpus_chars=300_000)


# ----------------------------------------------------------------------------- the judge
class CharNGram:
    """A character n-gram language model with Witten-Bell interpolation (Witten & Bell 1991):

        P(c | h) = (C(h c) + N1+(h .) P(c | h')) / (C(h) + N1+(h .))

    h' is h without its first character, C counts in the training text, N1+(h .) is the
    number of different characters seen after h; the recursion ends in the uniform
    distribution over the alphabet (plus one slot for characters never seen).

    >>> lm = CharNGram(2).fit("abab")
    >>> round(sum(lm.prob(c, "a") for c in "ab") + lm.prob("?", "a"), 6)   # sums to 1 over the alphabet
    1.0
    """

    def __init__(self, order: int = 5) -> None:
        if order < 1:
            raise ValueError(f"order must be >= 1, got {order}.")
        self.order = order

    def fit(self, text: str) -> "CharNGram":
        self.alphabet = set(text)
        self.counts: list[Counter] = []  # counts[n][gram] for grams of length n + 1
        self.context: list[Counter] = []  # C(h) for contexts of length n
        self.follow: list[Counter] = []  # N1+(h .)
        for n in range(self.order):
            grams = Counter(text[i:i + n + 1] for i in range(len(text) - n))
            ctx, follow = Counter(), Counter()
            for g, c in grams.items():
                ctx[g[:-1]] += c
                follow[g[:-1]] += 1
            self.counts.append(grams)
            self.context.append(ctx)
            self.follow.append(follow)
        return self

    def prob(self, c: str, history: str) -> float:
        p = 1.0 / (len(self.alphabet) + 1)  # uniform base, one slot for all unseen characters
        h = history[-(self.order - 1):] if self.order > 1 else ""
        for n in range(0, len(h) + 1):  # from the empty context up to the longest
            ctx = h[len(h) - n:] if n else ""
            total = self.context[n].get(ctx, 0)
            if total == 0:
                break  # an unseen context: longer ones are unseen too
            types = self.follow[n][ctx]
            p = (self.counts[n].get(ctx + c, 0) + types * p) / (total + types)
        return p

    def nll(self, text: str, prefix: str = "") -> float:
        """Mean negative log-likelihood of ``text`` in nats per character, after ``prefix``."""
        if not text:
            raise ValueError("cannot score an empty text")
        full = prefix + text
        total = sum(-math.log(self.prob(full[i], full[max(0, i - self.order + 1):i]))
                    for i in range(len(prefix), len(full)))
        return total / len(text)


# ----------------------------------------------------------------------------- metrics
def words(text: str) -> list[str]:
    """Lower-cased alphabetic words. ``words("The cat's hat.")`` -> ['the', 'cat', 's', 'hat']"""
    return [w.lower() for w in WORD.findall(text)]


def distinct_n(texts: list[str], n: int) -> float:
    """Li et al. 2016: distinct word n-grams / all word n-grams, over all ``texts``.

    >>> distinct_n(["a b a b", "a b"], 1)   # 2 distinct of 6
    0.3333333333333333
    """
    grams = [tuple(w[i:i + n]) for t in texts for w in [words(t)] for i in range(len(w) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def repetition(text: str, n: int = 4) -> float:
    """Share of the character n-grams of ``text`` that already occurred earlier in it
    (Welleck et al. 2020's seq-rep-n, on characters: a loop shows up within a few words).

    >>> repetition("abcabcabc", n=3)   # 7 trigrams; the last 4 repeat earlier ones
    0.5714285714285714
    """
    grams = [text[i:i + n] for i in range(len(text) - n + 1)]
    if not grams:
        return 0.0
    seen, repeats = set(), 0
    for g in grams:
        repeats += g in seen
        seen.add(g)
    return repeats / len(grams)


def jaccard_consistency(samples: list[str]) -> float:
    """Mean over pairs of samples of |words(a) & words(b)| / |words(a) | words(b)|.

    >>> jaccard_consistency(["a b", "a b", "c d"])   # pairs: 1, 0, 0
    0.3333333333333333
    """
    sets = [set(words(s)) for s in samples]
    pairs = [(len(a & b) / len(a | b)) if a | b else 1.0 for a, b in combinations(sets, 2)]
    return sum(pairs) / len(pairs)


def prefix_agreement(samples: list[str], chars: int = 16) -> float:
    """Share of pairs of samples whose first ``chars`` characters are identical."""
    pairs = [a[:chars] == b[:chars] for a, b in combinations(samples, 2)]
    return sum(pairs) / len(pairs)


def entropy_nats(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Entropy of softmax(logits / T) over the last dim (0 for greedy, T = 0)."""
    if temperature == 0:
        return torch.zeros(logits.shape[:-1])
    logp = torch.log_softmax(logits.double() / temperature, dim=-1)
    return -(logp.exp() * logp).nan_to_num().sum(dim=-1)


# ----------------------------------------------------------------------------- the run
def course_model(train_steps: int, *, progress: bool = False):
    """Chapter 6's cpu-tiny preset on the built-in corpus, trained once and cached
    (``groundup.train.cached_train``). Returns the ``CachedRun``."""
    from groundup.train import TrainConfig, cached_train

    cfg = TrainConfig.preset("cpu-tiny").with_overrides(
        [
            f"max_iters={train_steps}",
            f"lr_decay_iters={train_steps}",
            f"warmup_iters={max(1, min(100, train_steps // 10))}",
            f"eval_interval={max(1, train_steps // 4)}",
            "eval_iters=10",
            f"progress={str(progress).lower()}",
        ]
    )
    return cached_train(cfg)


@dataclass
class TemperatureResults:
    config: TemperatureConfig
    temperatures: list[float]
    entropy: list[float]  # nats per token, of the distribution sampled from
    distinct1: list[float]
    distinct2: list[float]
    repetition: list[float]  # mean seq-rep-4 (characters) per sample
    consistency: list[float]  # mean pairwise word Jaccard among samples of one prompt
    prefix_agreement: list[float]  # share of pairs agreeing on the first 16 characters
    judge_nll: list[float]  # nats/char under the n-gram judge
    real_words: list[float]  # share of generated words found in the training text
    reference: dict[str, float]  # every measure on real held-out text (no entropy, no consistency)
    examples: dict[float, str] = field(default_factory=dict)  # one continuation per T (prompt 0)
    prompt: str = ""
    seconds: float = 0.0


def run(
    config: TemperatureConfig,
    model,
    encode: Callable[[str], list[int]],
    decode: Callable[[list[int]], str],
    train_text: str,
    heldout_text: str,
    *,
    progress: bool = True,
) -> TemperatureResults:
    """Sample ``model`` at every temperature and measure; ``train_text`` fits the judge,
    prompts and the reference come from ``heldout_text``."""
    t0 = time.perf_counter()
    judge = CharNGram(config.judge_order).fit(train_text)
    vocab = set(words(train_text))
    P, K, L = config.n_prompts, config.samples_per_prompt, config.new_tokens
    step = len(heldout_text) // (P * K)
    if step < config.prompt_chars + 4 * L:
        raise ValueError(
            f"held-out text of {len(heldout_text):,} characters is too short for "
            f"{P * K} pieces of {config.prompt_chars + 4 * L} characters."
        )
    pieces = [
        heldout_text[i * step : i * step + config.prompt_chars + 4 * L]
        for i in range(P * K)
    ]
    prompts = [pieces[i * K][:config.prompt_chars] for i in range(P)]
    # Real continuations, one per sample, cut to about the
    # samples' length in characters.
    real = [
        (piece[: config.prompt_chars], piece[config.prompt_chars :]) for piece in pieces
    ]
    real = [(p, r[:max(8, L * len(p) // max(1, len(encode(p))))]) for p, r in real]
    real_texts = [r for _, r in real]
    real_words = [w for r in real_texts for w in words(r)]
    reference = {
        "distinct1": distinct_n(real_texts, 1), "distinct2": distinct_n(real_texts, 2),
        "repetition": sum(repetition(r) for r in real_texts) / len(real_texts),
        "judge_nll": sum(judge.nll(r, p) for p, r in real) / len(real),
        "real_words": sum(w in vocab for w in real_words) / max(1, len(real_words)),
    }
    res = TemperatureResults(
        config,
        list(config.temperatures),
        [],
        [],
        [],
        [],
        [],
        [],
        [],
        [],
        reference=reference,
        prompt=prompts[0],
    )
    # Prompts of one encoded length go through the model as one
    # batch, each repeated K times.
    ids = [list(encode(p)) for p in prompts]
    groups: dict[int, list[int]] = {}
    for i, x in enumerate(ids):
        groups.setdefault(len(x), []).append(i)
    temps = config.temperatures
    if progress:
        from tqdm.auto import tqdm

        temps = tqdm(temps, desc="temperatures")
    with threads(config.threads), seeded(config.seed):
        for T in temps:
            g = torch.Generator().manual_seed(config.seed)
            by_prompt: list[list[str]] = [[] for _ in range(P)]
            entropies = []
            for members in groups.values():
                idx = torch.tensor(
                    [ids[i] for i in members], dtype=torch.long
                ).repeat_interleave(K, dim=0)  # (n*K, T0)
                out, logits = generate(
                    model, idx, L, temperature=T, generator=g, return_logits=True
                )
                entropies.append(entropy_nats(logits, T).flatten())
                for row, i in enumerate(m for m in members for _ in range(K)):
                    by_prompt[i].append(decode(out[row, idx.size(1):].tolist()))
            # P*K continuations, prompt by prompt
            texts = [t for group in by_prompt for t in group]
            gen_words = [w for t in texts for w in words(t)]
            res.entropy.append(torch.cat(entropies).mean().item())
            res.distinct1.append(distinct_n(texts, 1))
            res.distinct2.append(distinct_n(texts, 2))
            res.repetition.append(sum(repetition(t) for t in texts) / len(texts))
            res.consistency.append(sum(jaccard_consistency(s) for s in by_prompt) / P)
            res.prefix_agreement.append(sum(prefix_agreement(s) for s in by_prompt) / P)
            res.judge_nll.append(
                sum(judge.nll(t, prompts[i]) for i in range(P) for t in by_prompt[i])
                / len(texts)
            )
            res.real_words.append(
                sum(w in vocab for w in gen_words) / max(1, len(gen_words))
            )
            res.examples[T] = by_prompt[0][0]
    res.seconds = time.perf_counter() - t0
    return res


def plot(res: TemperatureResults, out: str | Path | None = None):
    """One figure, four panels against temperature: entropy, diversity, consistency, quality."""
    import matplotlib.pyplot as plt

    T = res.temperatures
    # 2 x 2 at 10 inches: the page shows it about full size, so 10-point text stays >= 9 px
    fig, axes = plt.subplots(2, 2, figsize=(10, 6))
    axes = axes.flatten()
    axes[0].plot(T, res.entropy, "o-")
    axes[0].set_title("entropy of the next-token choice")
    axes[0].set_ylabel("nats")
    axes[1].plot(T, res.distinct2, "o-", label="distinct-2 (across samples)")
    axes[1].plot(T, res.repetition, "s-", label="repetition (within a sample)")
    axes[1].axhline(res.reference["distinct2"], color="C0", ls=":", lw=1)
    axes[1].axhline(res.reference["repetition"], color="C1", ls=":", lw=1, label="dotted: real text")
    axes[1].set_title("diversity")
    axes[1].legend()
    axes[2].plot(T, res.consistency, "o-", label="word overlap of two samples")
    axes[2].plot(T, res.prefix_agreement, "s-", label="same first 16 characters")
    axes[2].set_title("consistency (same prompt)")
    axes[2].legend()
    axes[3].plot(T, res.judge_nll, "o-", label="generated")
    axes[3].axhline(res.reference["judge_nll"], color="gray", ls=":", label="real held-out text")
    axes[3].set_title("quality: judge's loss (lower = better)")
    axes[3].set_ylabel("nats/char")
    axes[3].legend()
    for ax in axes:
        ax.set_xlabel("temperature T")
    fig.tight_layout()
    if out is not None:
        save_figure(fig, out)
    return fig


def char_codec(folder: str | Path):
    """(encode, decode) of a character-level data folder written by ``groundup.train.prepare``."""
    import json

    from groundup.train.data import CharVocab

    vocab = CharVocab(json.loads((Path(folder) / "meta.json").read_text())["chars"])
    return (lambda s: vocab.encode(s).tolist()), vocab.decode


def _hf_setup(name: str):
    """The real GPT-2 and its tokenizer (both downloaded once)."""
    from groundup.gpt import GPT
    from groundup.tokenizer import load_gpt2

    tok = load_gpt2()
    return GPT.from_hf(name), tok.encode, tok.decode


def main(argv: list[str] | None = None) -> int:
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    hf = None
    if "--hf" in argv:
        i = argv.index("--hf")
        hf = argv[i + 1] if i + 1 < len(argv) else "gpt2"
        del argv[i:i + 2]
    config, out, _ = parse_size(argv, __doc__, "out/temperature.png", TemperatureConfig)
    from groundup.data import builtin_corpus

    text = builtin_corpus(config.corpus_chars or None)
    cut = int(len(text) * 0.9)
    if hf:
        model, encode, decode = _hf_setup(hf)
    else:
        with threads(config.threads):  # one thread: see groundup.experiments.threads
            run_ = course_model(config.train_steps, progress=True)
        model, encode, decode = run_.model, *char_codec(run_.meta.folder)
    res = run(config, model, encode, decode, text[:cut], text[cut:])
    print(f"real held-out text: " + ", ".join(f"{k} {v:.3f}" for k, v in res.reference.items()))
    print("| T | entropy | distinct-2 | repetition | consistency | same start | judge nats/char | real words |")
    print("|---|---|---|---|---|---|---|---|")
    for j, T in enumerate(res.temperatures):
        print(f"| {T} | {res.entropy[j]:.2f} | {res.distinct2[j]:.2f} | {res.repetition[j]:.2f} | "
              f"{res.consistency[j]:.2f} | {res.prefix_agreement[j]:.2f} | {res.judge_nll[j]:.2f} | {res.real_words[j]:.2f} |")
    print(f"plot: {plot(res, out) and out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
