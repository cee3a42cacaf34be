"""Case family 1: the outputs degrade.

Three faults a user reports as "the answers got worse", each traced to a component the
course built:

* ``temperature``: samples full of non-words and different every time. Cause: a decoder
  configured with a high temperature and no nucleus cut (Chapter 7's ``sample_next``).
  Measured: the share of generated words that exist in the training text.
* ``context-window``: answers degrade when the prompt is long. Cause: a RoPE model
  trained on 64-token windows fed 256 tokens at once (Chapters 4 and 6): past position
  64 it meets relative distances it never saw. Measured: loss per character by position.
  Fix: a sliding window of the training length.
* ``numbers``: numbers copied or compared wrongly. Cause: the tokenizer (Chapter 1)
  cuts digit runs into groups of three from the *left*, so the same digit lands in a
  different place of its token depending on the number's length. Measured: the share of
  numbers whose token boundaries fall on place-value (thousands) boundaries. Fix: cut
  digit runs from the right.
"""

from __future__ import annotations

import math
import random
import re
import time

import torch
import torch.nn.functional as F

from groundup.casebook.base import CaseResult, check_size

__all__ = ["course_model_and_codec", "sample_texts", "known_word_share", "case_temperature",
           "rope_model", "loss_by_position", "sliding_window_loss", "case_context_window",
           "digit_groups", "place_value_aligned", "encode_numbers_right_aligned", "case_numbers"]

COURSE_STEPS = 1000  # the course model of Chapters 7 and 8 (one cache serves all three chapters)


# ----------------------------------------------------------------------------- temperature
def course_model_and_codec(steps: int = COURSE_STEPS):
    """(model, encode, decode, text) of Chapter 7's course model on the built-in corpus
    (trained once by ``cached_train``, loaded after)."""
    from groundup.data import builtin_corpus
    from groundup.experiments.temperature import char_codec, course_model

    run = course_model(steps)
    encode, decode = char_codec(run.meta.folder)
    return run.model, encode, decode, builtin_corpus()


@torch.no_grad()
def sample_texts(model, encode, decode, prompts: list[str], *, temperature: float, top_p: float | None,
                 samples: int, new_tokens: int, seed: int = 0) -> list[list[str]]:
    """``samples`` continuations of each prompt (all prompts of one length), per prompt."""
    from groundup.generate import generate

    g = torch.Generator().manual_seed(seed)
    idx = torch.tensor([encode(p) for p in prompts]).repeat_interleave(samples, dim=0)  # (P*K, T0)
    out = generate(model, idx, new_tokens, temperature=temperature, top_p=top_p, generator=g)
    texts = [decode(row[idx.size(1):].tolist()) for row in out]
    return [texts[i * samples:(i + 1) * samples] for i in range(len(prompts))]


def known_word_share(texts: list[str], vocab: set[str]) -> float:
    """Share of the words (runs of letters) of ``texts`` that occur in ``vocab``.

    >>> known_word_share(["the cat sta"], {"the", "cat"})
    0.6666666666666666
    """
    from groundup.experiments.temperature import words

    ws = [w for t in texts for w in words(t)]
    return sum(w in vocab for w in ws) / max(1, len(ws))


def case_temperature(size: str = "small", *, model_bundle=None) -> CaseResult:
    """T = 1.6 with no top-p (the fault) against T = 0.7 with top-p 0.9 (the fix)."""
    from groundup.experiments.temperature import jaccard_consistency, words

    check_size(size)
    n_prompts, samples, new = {"tiny": (4, 3, 32), "small": (16, 6, 48), "full": (64, 10, 48)}[size]
    model, encode, decode, text = model_bundle or course_model_and_codec(COURSE_STEPS)  # a 30-step model samples junk at any T
    cut = int(0.9 * len(text))
    vocab = set(words(text[:cut]))
    held = text[cut:]
    step = len(held) // n_prompts
    prompts = [held[i * step:i * step + 16] for i in range(n_prompts)]
    out = {}
    for name, (T, p) in {"before": (1.6, None), "after": (0.7, 0.9)}.items():
        by_prompt = sample_texts(model, encode, decode, prompts, temperature=T, top_p=p, samples=samples,
                                 new_tokens=new)
        flat = [t for s in by_prompt for t in s]
        out[name] = {"known_words": known_word_share(flat, vocab),
                     "consistency": sum(jaccard_consistency(s) for s in by_prompt) / n_prompts,
                     "example": by_prompt[0][0]}
    return CaseResult(
        "temperature", "share of generated words that are real words", out["before"]["known_words"],
        out["after"]["known_words"], True,
        cause="sampling at T = 1.6 with no nucleus cut draws from the tail of tokens the model rates unlikely",
        fix="T = 0.7 and top-p 0.9: sample near the model's own distribution, without its tail",
        details=out)


# ----------------------------------------------------------------------------- context window
def rope_model(steps: int = 400, *, progress: bool = False):
    """A cpu-tiny GPT with rotary positions (Chapter 4) trained on 64-character windows of the
    built-in corpus, cached by ``cached_train``. RoPE accepts any length: nothing stops a
    longer prompt, which is the fault. Returns the ``CachedRun``."""
    from groundup.train import TrainConfig, cached_train

    cfg = TrainConfig.preset("cpu-tiny").with_overrides([
        "model.position=rope", "model.block_size=1024", "block_size=64",
        f"max_iters={steps}", f"lr_decay_iters={steps}", f"warmup_iters={max(1, min(100, steps // 10))}",
        f"eval_interval={steps}", "eval_iters=5", f"progress={str(progress).lower()}",
    ])
    return cached_train(cfg)


@torch.no_grad()
def loss_by_position(model, windows: torch.Tensor) -> torch.Tensor:
    """Mean next-token loss at each position of ``windows`` (B, T+1), the whole window at once: (T,)."""
    logits = model(windows[:, :-1])[0]  # (B, T, V)
    loss = F.cross_entropy(logits.transpose(1, 2), windows[:, 1:], reduction="none")  # (B, T)
    return loss.mean(dim=0)


@torch.no_grad()
def sliding_window_loss(model, windows: torch.Tensor, window: int) -> torch.Tensor:
    """The same losses, but no prediction sees more than ``window`` tokens
    (the training length): (T,).

    Strided evaluation: windows of ``window`` tokens every ``window // 2``; the first
    scores all its positions, each later one only its second half, so every position is
    predicted from between ``window // 2`` and ``window`` tokens of context, a
    length the model knows."""
    T = windows.size(1) - 1
    half = window // 2
    # positions 0 .. window-1
    losses = [loss_by_position(model, windows[:, :min(window, T) + 1])]
    done, start = min(window, T), half
    while done < T:
        end = min(start + window, T)
        # positions start .. end-1
        part = loss_by_position(model, windows[:, start:end + 1])
        # only those not scored yet, each with >= half of context
        losses.append(part[done - start:])
        done, start = end, start + half
    return torch.cat(losses)  # (T,)


def case_context_window(size: str = "small", *, run=None) -> CaseResult:
    """Loss past the training window: the whole long prompt at once (fault) vs a sliding window (fix)."""
    import numpy as np

    from groundup.train.data import load_tokens

    check_size(size)
    steps, B, T = {"tiny": (30, 4, 128), "small": (400, 16, 512), "full": (2000, 64, 1024)}[size]
    run = run or rope_model(steps)
    model = run.model
    train_T = 64
    val = np.asarray(load_tokens(run.meta, "val"))
    starts = np.linspace(0, len(val) - T - 2, B).astype(int)
    windows = torch.tensor(np.stack([val[s:s + T + 1] for s in starts]).astype(np.int64))  # (B, T+1)
    before = loss_by_position(model, windows)  # (T,)
    after = sliding_window_loss(model, windows, train_T)  # (T,)
    inside = before[:train_T].mean().item()
    return CaseResult(
        "context-window", f"loss (nats/char) at positions {train_T}-{T} of a {T}-character prompt",
        before[train_T:].mean().item(), after[train_T:].mean().item(), False,
        cause=f"a RoPE model trained on {train_T}-token windows meets relative distances it never saw",
        fix=f"feed the model at most its training length: a sliding window of {train_T} tokens",
        details={"before_curve": before.tolist(), "after_curve": after.tolist(), "inside_window": inside,
                 "train_T": train_T, "T": T})


# ----------------------------------------------------------------------------- numbers
DIGITS = re.compile(r"\d+")


def digit_groups(tokenizer, number: str) -> list[int]:
    """How many digits each token of ``number`` (a digit string) holds, left to right.

    With cl100k (groups of up to 3 digits, cut from the left): ``"1234567" -> [3, 3, 1]``."""
    return [len(tokenizer.decode([i])) for i in tokenizer.encode(number)]


def place_value_aligned(groups: list[int]) -> bool:
    """True when every token boundary is a thousands boundary, counted from the right
    (the way ``1,234,567`` is written): every group but the first holds 3 digits.

    >>> place_value_aligned([1, 3, 3]), place_value_aligned([3, 3, 1])
    (True, False)
    """
    return all(g == 3 for g in groups[1:]) and 1 <= groups[0] <= 3


def encode_numbers_right_aligned(tokenizer, text: str) -> list[int]:
    """Encode ``text`` with every digit run cut into groups of 3 from the right first
    (Singh & Strouse 2024: "right-to-left" tokenization of numbers), so that a token
    always holds units, thousands, millions..., whatever the number's length.

    >>> from groundup.tokenizer import load_cl100k
    >>> tok = load_cl100k()
    >>> [tok.decode([i]) for i in encode_numbers_right_aligned(tok, "pay 1234567 now")]
    ['pay', ' ', '1', '234', '567', ' now']
    """
    ids, pos = [], 0
    for m in DIGITS.finditer(text):
        ids += tokenizer.encode(text[pos:m.start()])
        digits = m.group()
        head = len(digits) % 3 or 3
        for group in [digits[:head]] + [
            digits[i : i + 3] for i in range(head, len(digits), 3)
        ]:
            ids += tokenizer.encode(group)
        pos = m.end()
    return ids + tokenizer.encode(text[pos:])


def case_numbers(size: str = "small", *, tokenizer=None) -> CaseResult:
    """Share of random numbers (1 to 12 digits) whose tokens are place-value aligned."""
    check_size(size)
    from groundup.tokenizer import load_cl100k

    tok = tokenizer or load_cl100k()
    n = {"tiny": 200, "small": 2000, "full": 20000}[size]
    rng = random.Random(0)
    numbers = [str(rng.randrange(10 ** (d - 1), 10 ** d)) for d in (rng.randint(1, 12) for _ in range(n))]
    before = [digit_groups(tok, x) for x in numbers]
    after = [[len(tok.decode([i])) for i in encode_numbers_right_aligned(tok, x)] for x in numbers]
    tokens_before = sum(map(len, before)) / n
    tokens_after = sum(map(len, after)) / n
    examples = {x: (g, h) for x, g, h in zip(numbers[:6], before, after)}
    return CaseResult(
        "numbers", "share of numbers whose tokens fall on thousands boundaries",
        sum(map(place_value_aligned, before)) / n, sum(map(place_value_aligned, after)) / n, True,
        cause="the split pattern cuts digit runs into groups of 3 from the left: the units digit moves "
              "between tokens as the number grows",
        fix="cut digit runs into groups of 3 from the right before BPE (the token ids stay cl100k's)",
        details={"tokens_per_number_before": tokens_before, "tokens_per_number_after": tokens_after,
                 "examples": examples})
