"""The course's own reader: a small GPT trained to answer from passages in its context (Chapter 13).

The reader is the library's ``GPT`` (Chapter 5) over the invented world's words
(``WorldTokenizer``). Each training example is a freshly drawn world: 0 to
``max_passages`` one-fact passages about people with *new random facts*, a question about one
of them, and the answer followed by the number of the passage that states it::

    [1] Velmora keeps a heron .
    [2] Velmora was born in Port Karst .
    [3] Tavrin was born in Old Vessa .
    question : where was Velmora born ?
    answer : Port Karst [2] <eos>

(the loss is on the answer only). Some distractors share the name, some the relation, so
neither alone finds the answer.

Because a name's facts change from example to example, the only way to lower the loss is
to find the person's passage and copy from it (an induction-style lookup): nothing about
any particular world can be memorised. With no passage (``closed_book``, a share of the
examples) the best it can do is guess: chance, 1 / n_values. And since every training
context that has passages holds the answer, the reader learns to trust its context: shown
a wrong passage it copies from it, fluently and wrongly.

``train_reader(cfg)`` trains once and caches the weights by a hash of ``cfg`` under
``groundup.train.cached.cache_root()`` (the mechanism of ``cached_train``); later calls
load them in well under a second.

Dimension letters: B batch, T time (tokens), V vocabulary.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from groundup.gpt import GPT, GPTConfig
from groundup.rag.prompt import build_prompt
from groundup.rag.world import RELATIONS, WorldTokenizer, draw_people, question_text

__all__ = ["ReaderConfig", "Reader", "train_reader", "make_example", "answer_logprobs", "greedy_answers"]


@dataclass(frozen=True)
class ReaderConfig:
    """A reader training run. The defaults train in under a minute on one CPU core."""

    n_values: int = 10  # answers per relation in the training worlds (chance = 1 / n_values)
    max_passages: int = 3  # a training context holds 0..max_passages passages (facts)
    closed_book: float = 0.1  # share of training examples with no passage at all
    n_questions: int = 1  # questions (with answers) per training context (more did not train faster)
    n_layer: int = 2  # Transformer blocks (two: the least an induction-style lookup needs)
    n_head: int = 4  # attention heads per block
    n_embd: int = 64  # width of the residual stream
    block_size: int = 48  # the reader's window, in words: four passages and a question
    position: str = "rope"  # rotary positions (Chapter 4): "the value 4 words after the name"
    # is one relative offset, which learned absolute positions must learn at every position
    steps: int = 600  # optimizer steps
    batch_size: int = 32  # examples per step
    lr: float = 3e-3  # peak AdamW learning rate (cosine to lr/10 after warmup)
    warmup: int = 50  # linear warmup steps
    weight_decay: float = 0.01  # AdamW decoupled weight decay
    loss_on_all: bool = False  # loss on every token (names repeat, copying them could train the lookup),
    # or on the answer only (what trained faster here)
    seed: int = 0  # draws the training worlds and the initial weights

    def key(self) -> str:
        """A short hash of the config: the cache folder's name."""
        blob = json.dumps(dataclasses.asdict(self), sort_keys=True)
        return hashlib.sha256(("rag-reader-v2" + blob).encode()).hexdigest()[:16]


def make_example(rng: random.Random, cfg: ReaderConfig, n_passages: int | None = None,
                 n_questions: int | None = None) -> tuple[str, str]:
    """One training example: (prompt, target). The prompt is the passages and the first
    question; the target its answer ``value [n] <eos>`` (``value <eos>`` with no
    passages), then ``n_questions - 1`` more questions about the same passages, each
    with its answer: more answers per forward pass, for the same context.

    The passages are facts of a few people: several facts of one person and one fact of
    several people, so that neither the name nor the relation alone finds the answer."""
    if n_passages is None:
        n_passages = (
            0 if rng.random() < cfg.closed_book else rng.randint(1, cfg.max_passages)
        )
    n_questions = cfg.n_questions if n_questions is None else n_questions
    n_people = rng.randint(-(-max(n_passages, 1) // len(RELATIONS)), max(n_passages, 1))
    people = draw_people(rng, n_people, cfg.n_values)
    facts = rng.sample([(p, r) for p in people for r in RELATIONS], max(n_passages, 1))
    passages = [p.sentence(r) for p, r in facts] if n_passages else []
    qa = []
    for _ in range(n_questions):
        j = rng.randrange(len(facts))
        person, relation = facts[j]
        if not n_passages:  # closed book: a fresh person each time
            person, relation = (
                draw_people(rng, 1, cfg.n_values)[0],
                rng.choice(RELATIONS),
            )
        cite = f" [{j + 1}]" if passages else ""
        qa.append(
            (
                question_text(person.name, relation),
                f"{person.value(relation)}{cite} <eos>",
            )
        )
    prompt = build_prompt(qa[0][0], passages)
    target = " ".join([qa[0][1]] + [f"question : {q} answer : {a}" for q, a in qa[1:]])
    return prompt, target


@dataclass
class Reader:
    """A trained reader: the model (eval mode, CPU), its tokenizer and its training record."""

    model: GPT
    tokenizer: WorldTokenizer
    config: ReaderConfig
    history: dict = field(default_factory=dict)  # "loss" per step, "seconds" of training
    trained_now: bool = False  # False when the weights came from the cache

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)

    def fits(self, prompt: str, max_new_tokens: int = 4) -> bool:
        return len(self.encode(prompt)) + max_new_tokens <= self.model.config.block_size


def _batch(rng: random.Random, cfg: ReaderConfig, tok: WorldTokenizer) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) inputs and targets (-1 on padding, and on the prompt unless ``loss_on_all``)."""
    examples = [make_example(rng, cfg) for _ in range(cfg.batch_size)]
    encoded = [(tok.encode(p), tok.encode(t)) for p, t in examples]
    # pad to the batch's longest example, not the window: the positions past it cost time
    # and change nothing before them (attention is causal)
    T = min(cfg.block_size, max(len(p) + len(t) for p, t in encoded) - 1)
    x = torch.full((cfg.batch_size, T), tok.pad_id, dtype=torch.long)  # (B, T)
    y = torch.full((cfg.batch_size, T), -1, dtype=torch.long)  # (B, T)
    for b, (p, t) in enumerate(encoded):
        ids = (p + t)[: T + 1]
        x[b, : len(ids) - 1] = torch.tensor(ids[:-1])
        start = 0 if cfg.loss_on_all else len(p) - 1
        y[b, start: len(ids) - 1] = torch.tensor(ids[start + 1:])  # predict each (answer) token
    return x, y


def train_reader(cfg: ReaderConfig = ReaderConfig(), *, cache_dir: str | Path | None = None,
                 use_cache: bool = True) -> Reader:
    """Train the reader of ``cfg`` once and keep it; load it on later calls."""
    from groundup.train.cached import cache_root

    tok = WorldTokenizer()
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    path = root / "rag" / cfg.key() / "reader.pt"
    gcfg = GPTConfig(block_size=cfg.block_size, vocab_size=tok.vocab_size, n_layer=cfg.n_layer,
                     n_head=cfg.n_head, n_embd=cfg.n_embd, dropout=0.0, position=cfg.position)
    need = cfg.max_passages * 8 + 12 * cfg.n_questions  # a passage is at most 8 words with its mark
    if need > cfg.block_size:
        raise ValueError(f"block_size={cfg.block_size} cannot hold {cfg.max_passages} passages, a question "
                         f"and an answer (~{need} words); raise block_size or lower max_passages.")
    if use_cache and path.exists():
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=False)
            model = GPT(GPTConfig(**ckpt["model_config"]))
            model.load_state_dict(ckpt["model"])
            return Reader(model.eval(), tok, cfg, ckpt["history"], trained_now=False)
        except Exception:  # a torn or foreign file: train again
            pass
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    model = GPT(gcfg)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.99))
    losses = []
    start, cpu = time.perf_counter(), time.process_time()
    model.train()
    for step in range(cfg.steps):
        if step < cfg.warmup:
            lr = cfg.lr * (step + 1) / cfg.warmup
        else:
            frac = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
            lr = cfg.lr / 10 + 0.5 * (cfg.lr - cfg.lr / 10) * (1 + math.cos(math.pi * frac))
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = _batch(rng, cfg, tok)
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    history = {"loss": losses, "seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu,
               "threads": torch.get_num_threads()}
    model.eval()
    if use_cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save({"model_config": dataclasses.asdict(gcfg), "model": model.state_dict(),
                    "history": history, "reader_config": dataclasses.asdict(cfg)}, tmp)
        tmp.replace(path)
    return Reader(model, tok, cfg, history, trained_now=True)


# ----------------------------------------------------------------------------- reading
def _pad(rows: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad ``rows`` to (B, T); also return each row's length (B,)."""
    lengths = torch.tensor([len(r) for r in rows])
    x = torch.full((len(rows), int(lengths.max())), pad, dtype=torch.long)  # (B, T)
    for i, r in enumerate(rows):
        x[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return x, lengths


@torch.no_grad()
def answer_logprobs(reader: Reader, prompts: list[str], answers: list[str]) -> torch.Tensor:
    """log p(answer | prompt) per pair, (B,): the sum of the answer tokens' log-probabilities
    (teacher forcing). Also ``token_logprobs`` for the per-token terms RAG-Token needs."""
    return token_logprobs(reader, prompts, answers).sum(dim=1)


@torch.no_grad()
def token_logprobs(reader: Reader, prompts: list[str], answers: list[str]) -> torch.Tensor:
    """log p(y_i | prompt, y_<i) for each answer token: (B, N), N = answer length in tokens
    (all answers must have the same length; pad nothing)."""
    tok = reader.tokenizer
    a_ids = [tok.encode(a) for a in answers]
    N = len(a_ids[0])
    if any(len(a) != N for a in a_ids):
        raise ValueError("token_logprobs needs answers of one token length; group them by length first.")
    p_ids = [tok.encode(p) for p in prompts]
    x, lengths = _pad([p + a for p, a in zip(p_ids, a_ids)], tok.pad_id)  # (B, T)
    if x.size(1) > reader.model.config.block_size:
        raise ValueError(f"prompt + answer is {x.size(1)} tokens, past the reader's window of "
                         f"{reader.model.config.block_size}: pack fewer passages.")
    logp = F.log_softmax(reader.model(x)[0].float(), dim=-1)  # (B, T, V)
    out = torch.empty(len(prompts), N)
    for b, (p, a) in enumerate(zip(p_ids, a_ids)):
        pos = torch.arange(len(p) - 1, len(p) - 1 + N)  # the positions that predict the answer
        out[b] = logp[b, pos, torch.tensor(a)]
    return out  # (B, N)


@torch.no_grad()
def greedy_answers(reader: Reader, prompts: list[str], max_new_tokens: int = 5) -> list[str]:
    """Greedy answers for many prompts at once, each up to its ``<eos>``.

    Prompts of one token length form one batch for Chapter 7's ``generate`` (KV cache,
    temperature 0): the prompt is prefilled once and each answer token costs one position.
    The same tokens as ``generate`` on one prompt at a time (a test checks it)."""
    from groundup.generate import generate

    tok, model = reader.tokenizer, reader.model
    rows = [tok.encode(p) for p in prompts]
    if rows and max(map(len, rows)) + max_new_tokens > model.config.block_size:
        raise ValueError(f"the longest prompt ({max(map(len, rows))} tokens) plus {max_new_tokens} new "
                         f"tokens is past the reader's window of {model.config.block_size}.")
    by_length: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        by_length.setdefault(len(r), []).append(i)
    outs: list[str] = [""] * len(rows)
    for T, idx in by_length.items():
        x = torch.tensor([rows[i] for i in idx])  # (B, T)
        y = generate(model, x, max_new_tokens, temperature=0.0, stop=tok.eos_id)[:, T:]  # (B, <= n)
        for i, new in zip(idx, y.tolist()):
            new = new[: new.index(tok.eos_id)] if tok.eos_id in new else new
            outs[i] = tok.decode(new)
    return outs
