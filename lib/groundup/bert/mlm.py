"""Masked-language-model pretraining (Devlin et al. 2019, sec. 3.1, Task #1 and appendix A.1).

A bidirectional model cannot be trained to predict the next token: every position sees
the whole input, its own token included, so the "prediction" would be a copy. BERT
hides tokens instead and asks for them back:

* choose 15% of the (non-special) positions at random;
* of those, replace 80% with ``[MASK]``, 10% with a random token, and leave 10% as they are;
* the loss is the cross-entropy of the original token at the chosen positions only.

The 10% random and 10% unchanged keep the model from learning that only ``[MASK]``
positions matter: ``[MASK]`` never appears at fine-tuning time, so every token's
representation must carry its own identity and context.

``train_mlm(cfg)`` pretrains a small BERT on the built-in corpus with the real MiniLM
WordPiece vocabulary; ``cached_mlm(cfg)`` runs it once and keeps it (as
``groundup.train.cached`` does for GPTs), keyed by a hash of the config.

Dimension letters: B batch, T time (tokens), V vocabulary, M masked positions.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from groundup.bert.model import Bert, BertConfig
from groundup.bert.wordpiece import SPECIAL_TOKENS, WordPiece

__all__ = ["mask_tokens", "MLMConfig", "MLMRun", "train_mlm", "cached_mlm", "mlm_batches"]


# ----------------------------------------------------------------------------- masking
def mask_tokens(
    input_ids: torch.Tensor,
    *,
    mask_id: int,
    vocab_size: int,
    special_ids: list[int] | tuple[int, ...],
    mlm_probability: float = 0.15,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking: returns (corrupted input_ids (B, T), labels (B, T)), labels -100
    where nothing is asked. Special tokens ([CLS], [SEP], [PAD]) are never chosen.

    >>> g = torch.Generator().manual_seed(0)
    >>> ids = torch.arange(10, 30).view(2, 10)
    >>> x, y = mask_tokens(ids, mask_id=4, vocab_size=50, special_ids=[0, 1, 2, 3],
    ...                    mlm_probability=0.5, generator=g)
    >>> bool(((y == -100) | (y == ids)).all()), bool(
    ...     ((y == -100) == (x == ids)).sum() >= 10)
    (True, True)
    """
    if not 0.0 < mlm_probability < 1.0:
        raise ValueError(
            f"mlm_probability must be in (0, 1), got {mlm_probability} (BERT: 0.15)."
        )
    B, T = input_ids.shape
    # noqa: E731  (B, T) uniform in [0, 1)
    rand = lambda: torch.rand(B, T, generator=generator)
    special = torch.isin(
        input_ids, torch.tensor(list(special_ids), dtype=input_ids.dtype)
    )  # (B, T)
    chosen = (rand() < mlm_probability) & ~special  # (B, T) the 15%
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, -100))
    # one draw decides which of the three things happens to a chosen position
    u = rand()
    to_mask = chosen & (u < 0.8)  # 80%: [MASK]
    # 10%: a random token; the last 10% stay as they are
    to_random = chosen & (u >= 0.8) & (u < 0.9)
    x = input_ids.clone()
    x[to_mask] = mask_id
    x[to_random] = torch.randint(
        vocab_size, (int(to_random.sum()),), generator=generator, dtype=input_ids.dtype
    )
    return x, labels


# ----------------------------------------------------------------------------- the run
@dataclass(frozen=True)
class MLMConfig:
    """A small MLM pretraining run on the built-in corpus (Python's documentation)."""

    n_layer: int = 2  # BERT blocks
    n_head: int = 4  # attention heads
    n_embd: int = 128  # width C
    intermediate_size: int = 512  # MLP width (4C)
    vocab_size: int = 8192  # the most frequent MiniLM WordPiece tokens of the corpus; the rest become [UNK]
    seq_len: int = 64  # tokens per sequence T, [CLS] and [SEP] included
    batch_size: int = 16  # sequences per step B
    steps: int = 450  # optimizer steps
    lr: float = 2e-3  # peak learning rate of AdamW
    warmup: int = 45  # linear warm-up steps (post-norm needs one; Chapter 5)
    weight_decay: float = 0.01  # BERT's
    mlm_probability: float = 0.15  # BERT's 15%
    dropout: float = 0.0  # on embeddings, sub-blocks and attention weights (BERT: 0.1; a short run has no use for it)
    max_chars: int = 1_000_000  # characters of the corpus to use
    eval_every: int = 50  # steps between held-out measurements
    eval_batches: int = 8  # held-out batches per measurement (fixed masks)
    seed: int = 0  # weights, batches and masks

    def __post_init__(self) -> None:
        if self.vocab_size <= len(SPECIAL_TOKENS):
            raise ValueError(f"MLMConfig.vocab_size must leave room beyond the {len(SPECIAL_TOKENS)} special tokens.")
        if not 0 < self.warmup < self.steps:
            raise ValueError(f"MLMConfig.warmup ({self.warmup}) must be between 0 and steps ({self.steps}).")

    def key(self) -> str:
        """A short hash of the config: its cache folder's name."""
        blob = json.dumps(dataclasses.asdict(self), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class MLMRun:
    """A finished run: the model (eval mode, CPU), the tokenizer, and what was measured.

    The model's vocabulary is ``keep``: its id i is the tokenizer's id ``keep[i]``; ids
    0-4 are [PAD] [UNK] [CLS] [SEP] [MASK]."""

    model: Bert
    tokenizer: WordPiece
    keep: list[int]  # the run's id -> MiniLM's id
    history: dict  # "step", "loss", "acc" per step; "eval": [(step, loss, acc)]; "seconds", "baseline_acc", ...
    trained_now: bool

    def encode(self, text: str) -> torch.Tensor:
        """Text -> (1, T) ids in the run's vocabulary, [CLS] ... [SEP]; "[MASK]" in the text stays a mask."""
        to_small = {old: new for new, old in enumerate(self.keep)}
        ids = self.tokenizer.encode(text)["input_ids"]
        return torch.tensor([[to_small.get(i, UNK) for i in ids]])  # (1, T)

    def token(self, i: int) -> str:
        return self.tokenizer.inv_vocab[self.keep[int(i)]]

    @torch.no_grad()
    def fill_mask(self, text: str, k: int = 3) -> list[list[tuple[str, float]]]:
        """For each [MASK] in ``text``, the k likeliest tokens with their probabilities."""
        ids = self.encode(text)  # (1, T)
        hidden = self.model(ids)  # (1, T, C)
        probs = self.model.mlm_logits(hidden[ids == MASK]).softmax(-1)  # (masks, V)
        top = probs.topk(k, dim=-1)
        return [[(self.token(i), float(p)) for p, i in zip(ps, ix)] for ps, ix in zip(top.values, top.indices)]


# ids of the special tokens in the run's vocabulary (and in BERT's order of SPECIAL_TOKENS)
PAD, UNK, CLS, SEP, MASK = range(len(SPECIAL_TOKENS))


def _corpus_ids(tokenizer: WordPiece, max_chars: int) -> torch.Tensor:
    """The built-in corpus as one stream of WordPiece ids (no special tokens)."""
    from groundup.data import builtin_corpus

    text = builtin_corpus(max_chars=max_chars)
    ids = [i for para in text.split("\n\n") for i in tokenizer.encode(para, add_special_tokens=False)["input_ids"]]
    return torch.tensor(ids, dtype=torch.long)  # (N,)


def _shrink_vocab(train_ids: torch.Tensor, tokenizer: WordPiece, size: int) -> list[int]:
    """The special tokens, then the size - 5 most frequent tokens of the training stream:
    the run's id -> the tokenizer's id."""
    specials = [tokenizer.vocab[t] for t in SPECIAL_TOKENS]
    counts = torch.bincount(train_ids, minlength=len(tokenizer)).float()  # (V_tokenizer,)
    counts[specials] = -1.0
    top = counts.argsort(descending=True, stable=True)[: size - len(specials)]
    return specials + sorted(top.tolist())


def mlm_batches(stream: torch.Tensor, cfg: MLMConfig, generator: torch.Generator):
    """Endless (corrupted ids (B, T), labels (B, T)): random windows of the stream as [CLS] ... [SEP]."""
    body = cfg.seq_len - 2
    while True:
        starts = torch.randint(len(stream) - body, (cfg.batch_size,), generator=generator)  # (B,)
        rows = torch.stack([stream[s:s + body] for s in starts.tolist()])  # (B, T-2)
        cls = torch.full((cfg.batch_size, 1), CLS)
        sep = torch.full((cfg.batch_size, 1), SEP)
        ids = torch.cat([cls, rows, sep], dim=1)  # (B, T)
        yield mask_tokens(ids, mask_id=MASK, vocab_size=cfg.vocab_size, special_ids=(PAD, UNK, CLS, SEP, MASK),
                          mlm_probability=cfg.mlm_probability, generator=generator)


def train_mlm(cfg: MLMConfig = MLMConfig(), *, tokenizer: WordPiece | None = None, progress: bool = True) -> MLMRun:
    """Pretrain a small BERT with the MLM objective; records masked-token accuracy as it goes."""
    if tokenizer is None:
        from groundup.bert.loading import load_minilm

        tokenizer = load_minilm()[1]
    torch.manual_seed(cfg.seed)
    stream = _corpus_ids(tokenizer, cfg.max_chars)  # (N,) MiniLM ids
    split = int(0.9 * len(stream))
    keep = _shrink_vocab(stream[:split], tokenizer, cfg.vocab_size)
    to_small = torch.full((len(tokenizer),), UNK, dtype=torch.long)  # (V_tokenizer,)
    to_small[torch.tensor(keep)] = torch.arange(len(keep))
    small = to_small[stream]  # (N,) the run's ids
    train_ids, val_ids = small[:split], small[split:]
    model = Bert(BertConfig(vocab_size=cfg.vocab_size, max_position_embeddings=cfg.seq_len, n_layer=cfg.n_layer,
                            n_head=cfg.n_head, n_embd=cfg.n_embd, intermediate_size=cfg.intermediate_size,
                            dropout=cfg.dropout, attn_dropout=cfg.dropout, pooler=False))
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]  # biases and LayerNorms, as BERT
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.999))
    # BERT's schedule: linear warm-up, then linear decay to zero.
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / cfg.warmup if s < cfg.warmup else max(0.0, (cfg.steps - s) / (cfg.steps - cfg.warmup)))
    g = torch.Generator().manual_seed(cfg.seed)
    val_iter = mlm_batches(val_ids, cfg, torch.Generator().manual_seed(cfg.seed + 1))
    val = [next(val_iter) for _ in range(cfg.eval_batches)]  # the same held-out masks at every measurement
    # The no-context baseline: always answer the most frequent (non-special) token of the training stream.
    counts = torch.bincount(train_ids, minlength=cfg.vocab_size)
    counts[:len(SPECIAL_TOKENS)] = -1
    top = int(counts.argmax())
    val_labels = torch.cat([y[y != -100] for _, y in val])  # (M,)
    history = {"step": [], "loss": [], "acc": [], "eval": [],
               "baseline_acc": float((val_labels == top).float().mean()),
               "baseline_token": tokenizer.inv_vocab[keep[top]],
               "unk_fraction": float((small == UNK).float().mean()), "corpus_tokens": len(stream)}

    def evaluate() -> tuple[float, float]:
        model.eval()
        losses, right, n = [], 0, 0
        with torch.no_grad():
            for x, y in val:
                loss, logits = model.mlm_loss(x, y)  # (M, V)
                losses.append(float(loss))
                right += int((logits.argmax(-1) == y[y != -100]).sum())
                n += int((y != -100).sum())
        model.train()
        return sum(losses) / len(losses), right / n

    batches = mlm_batches(train_ids, cfg, g)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.steps, desc="MLM pretraining", unit="step")
    t0 = time.perf_counter()
    model.train()
    history["eval"].append((0, *evaluate()))
    for step in range(1, cfg.steps + 1):
        x, y = next(batches)
        loss, logits = model.mlm_loss(x, y)  # scalar, (M, V)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        history["step"].append(step)
        history["loss"].append(loss.item())
        history["acc"].append((logits.detach().argmax(-1) == y[y != -100]).float().mean().item())
        if step % cfg.eval_every == 0 or step == cfg.steps:
            history["eval"].append((step, *evaluate()))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{history['loss'][-1]:.2f}", val_acc=f"{history['eval'][-1][2]:.3f}")
    if bar is not None:
        bar.close()
    history["seconds"] = time.perf_counter() - t0
    return MLMRun(model.eval(), tokenizer, keep, history, trained_now=True)


def cached_mlm(cfg: MLMConfig = MLMConfig(), *, cache_dir: str | Path | None = None, progress: bool = True) -> MLMRun:
    """``train_mlm(cfg)`` the first time; later calls load the stored run (a second).
    Stored in ``$GROUNDUP_CACHE/bert-mlm/<hash of cfg>`` (``groundup.train.cached``'s root)."""
    from groundup.train.cached import cache_root

    from filelock import FileLock  # a dependency of torch

    folder = (Path(cache_dir) if cache_dir is not None else cache_root()) / "bert-mlm" / cfg.key()
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Chapters 9 and 14 execute in parallel at build time: the first trains, the other waits and loads.
    with FileLock(str(folder) + ".lock"):
        return _load_or_train_mlm(cfg, folder, progress)


def _load_or_train_mlm(cfg: MLMConfig, folder: Path, progress: bool) -> MLMRun:
    from groundup.bert.loading import load_minilm

    tokenizer = load_minilm()[1]
    if (folder / "model.pt").exists() and (folder / "run.json").exists():
        try:
            saved = json.loads((folder / "run.json").read_text())
            model = Bert(BertConfig(**saved["config"]))
            model.load_state_dict(torch.load(folder / "model.pt", map_location="cpu", weights_only=True))
            return MLMRun(model.eval(), tokenizer, saved["keep"], saved["history"], trained_now=False)
        except Exception:  # a torn or foreign file: train again rather than fail
            pass
    run = train_mlm(cfg, tokenizer=tokenizer, progress=progress)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "model.pt.tmp"
    torch.save(run.model.state_dict(), tmp)
    (folder / "run.json").write_text(json.dumps({"config": dataclasses.asdict(run.model.config), "keep": run.keep,
                                                 "history": run.history}))
    tmp.replace(folder / "model.pt")  # last: model.pt exists only once run.json is complete
    return run
