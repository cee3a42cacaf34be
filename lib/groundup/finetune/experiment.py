"""Chapter 8's experiment: pretrain on A, fine-tune on B (clean, noisy, small), measure forgetting.

    exp = ForgettingExperiment.preset("finetune-cpu")
    model, meta_a = pretrained_model(exp)          # corpus A: the built-in corpus
    data = load_corpora(exp, meta_a)               # A and the three versions of B, as token ids
    for name, (version, cfg) in variants(exp).items():
        result = run_variant(model, data, version, cfg)   # losses on A and B along the run

The chapter runs a small version of this on the page; ``python -m groundup.finetune --preset
finetune-cpu`` runs it at full size and writes the numbers and plots to ``out_dir``, and
``--preset finetune-gpt2`` fine-tunes OpenAI's GPT-2 small (124M) on a GPU, with the built-in
corpus standing in for GPT-2's (unavailable) pretraining text as held-out corpus A.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from groundup.finetune.corpus import NOISE_KINDS, make_noisy, make_small, shakespeare_corpus, split_text
from groundup.finetune.loop import FinetuneConfig, FinetuneResult, fixed_batches, finetune
from groundup.finetune.replay import replay_stream
from groundup.gpt import GPT
from groundup.train import RandomWindows, TrainConfig, cached_train, load_tokens, prepare
from groundup.train.data import CharVocab, DataMeta

#: The runs of the experiment: which version of B, and which mitigation.
VARIANTS = ("clean", "noisy", "small", "noisy: shuffled words only", "noisy: random characters only",
            "noisy: spam only", "noisy, lower lr", "noisy, fewer steps", "noisy + replay",
            "noisy, lower blocks frozen", "noisy, LoRA")
#: The versions of B: clean, damaged by every kind of noise or by one, and small.
VERSIONS = ("clean", "noisy", "small", "shuffle", "random_chars", "spam")


@dataclass(frozen=True)
class ForgettingExperiment:
    """Sizes and settings of the forgetting experiment; every field commented."""

    pretrain: str = "cpu-tiny"  # a groundup.train preset trained on corpus A, or "hf:<name or folder>"
    pretrain_overrides: tuple[str, ...] = ()  # key=value changes to that preset (the page trains less)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)  # the plain fine-tuning run
    b_chars: int = 0  # use only the first b_chars characters of corpus B (0 = all 5.1 M)
    b_val_fraction: float = 0.1  # the last 10% of B is held out (measures learning)
    noise_rate: float = 0.5  # fraction of B's lines damaged in the noisy version
    small_chars: int = 50_000  # characters of B's training text in the small version
    lr_factor: float = 0.1  # "lower lr": the learning rate times this
    steps_factor: float = 0.25  # "fewer steps": max_iters times this
    replay: float = 0.25  # "replay": this fraction of each batch from A
    freeze_layers: int = 2  # "frozen": the embeddings and this many lowest blocks frozen
    lora_rank: int = 4  # "LoRA": rank r
    lora_alpha: float = 8.0  # "LoRA": alpha (update scaled by alpha / r)
    lora_lr_factor: float = 1.0  # "LoRA": its learning rate (LoRA usually wants a higher one)
    cka_sequences: int = 16  # sequences of A's held-out text on which CKA compares activations
    data_dir: str = "data"  # token files of A for "hf:" models (a train preset's are in its cache)
    out_dir: str = "out/finetune-cpu"  # results.json and curves.png
    seed: int = 0  # the noise, the data order

    @classmethod
    def preset(cls, name: str) -> "ForgettingExperiment":
        """``finetune-cpu`` (a laptop CPU) | ``finetune-gpt2`` (GPT-2 small, one GPU)."""
        if name not in EXPERIMENT_PRESETS:
            raise ValueError(f"unknown fine-tuning preset {name!r}; choose one of {sorted(EXPERIMENT_PRESETS)}.")
        return EXPERIMENT_PRESETS[name]()

    @classmethod
    def small(cls) -> "ForgettingExperiment":
        """The sizes the chapter runs while the book builds: the
        cpu-tiny model pretrained for 1,000 steps (Chapter 7's model, so one cache serves both),
        60 fine-tuning steps of 8 sequences per run, the first 1.5 M characters of B."""
        return cls(
            pretrain_overrides=("max_iters=1000", "lr_decay_iters=1000", "warmup_iters=100",
                                "eval_interval=250", "eval_iters=10"),
            finetune=FinetuneConfig(max_iters=60, lr_decay_iters=60, warmup_iters=6, lr=1e-3, min_lr=1e-4,
                                    batch_size=8, block_size=64, eval_interval=10, eval_iters=3),
            b_chars=1_500_000, small_chars=20_000, out_dir="out/finetune-small",
        )

    def replace(self, **changes) -> "ForgettingExperiment":
        return dataclasses.replace(self, **changes)


def _finetune_cpu() -> ForgettingExperiment:
    # The cpu-tiny model (4 layers, 128 channels, char-level) pretrained for its full 2,000
    # steps on A, then 1,000 steps of 12 sequences per variant (25 times the page's 60 x 8).
    return ForgettingExperiment(
        pretrain="cpu-tiny",
        finetune=FinetuneConfig(max_iters=1000, lr_decay_iters=1000, warmup_iters=50, lr=1e-3, min_lr=1e-4,
                                batch_size=12, block_size=64, eval_interval=50, eval_iters=8),
        out_dir="out/finetune-cpu",
    )


def _finetune_gpt2() -> ForgettingExperiment:
    # OpenAI's GPT-2 small (124M) from the Hugging Face Hub, GPT-2's tokenizer; one GPU, bf16.
    # Corpus A (held out) is the built-in corpus: GPT-2's WebText is not public, and Python's
    # documentation is text GPT-2 models well. LoRA as in Hu et al. (r=8, alpha=16, lr 10x).
    return ForgettingExperiment(
        pretrain="hf:gpt2",
        finetune=FinetuneConfig(max_iters=1000, lr_decay_iters=1000, warmup_iters=50, lr=1e-4, min_lr=1e-5,
                                batch_size=16, block_size=512, eval_interval=50, eval_iters=16,
                                device="cuda", dtype="bfloat16", lora_alpha=16.0),
        lora_rank=8, lora_alpha=16.0, lora_lr_factor=10.0, out_dir="out/finetune-gpt2",
    )


EXPERIMENT_PRESETS: dict[str, Callable[[], ForgettingExperiment]] = {
    "finetune-cpu": _finetune_cpu,
    "finetune-gpt2": _finetune_gpt2,
}


# ----------------------------------------------------------------------------- the pretrained model
def pretrain_config(exp: ForgettingExperiment) -> TrainConfig:
    """The groundup.train run that pretrains on A: the preset with the experiment's overrides."""
    return TrainConfig.preset(exp.pretrain).with_overrides(["progress=false", *exp.pretrain_overrides])


def pretrained_model(exp: ForgettingExperiment) -> tuple[GPT, DataMeta]:
    """(model pretrained on A, A's token files). A groundup.train preset is trained once and
    cached by ``groundup.train.cached_train`` (a later call with the same config loads it);
    "hf:..." loads GPT-2's weights (needs the network once) and A with GPT-2's tokenizer."""
    if exp.pretrain.startswith("hf:"):
        model = GPT.from_hf(exp.pretrain[3:])
        return model, prepare("builtin", "gpt2", exp.data_dir, progress=False)
    run_ = cached_train(pretrain_config(exp))
    return run_.model, run_.meta


# ----------------------------------------------------------------------------- the corpora
def text_encoder(meta: DataMeta) -> Callable[[str], np.ndarray]:
    """Encode text with corpus A's tokenizer: the fine-tuned model can read nothing else."""
    info = json.loads((meta.folder / "meta.json").read_text())
    if info["tokenizer"] == "char":
        vocab = CharVocab(info["chars"])

        def encode(text: str) -> np.ndarray:
            try:
                return vocab.encode(text).astype(meta.dtype)
            except ValueError as e:
                raise ValueError(f"{e} The model was pretrained on corpus A's {vocab.vocab_size} characters and "
                                 "has no id for this one: fine-tuning text must use A's alphabet.") from None
        return encode
    if info["tokenizer"] in ("gpt2", "cl100k"):
        from groundup.train.data import _pretrained_encoder

        encode_batch, _ = _pretrained_encoder(info["tokenizer"])
        return lambda text: np.asarray(encode_batch([text])[0], dtype=meta.dtype)
    from groundup.tokenizer import Tokenizer

    tok = Tokenizer.load(meta.folder / info["tokenizer_file"])
    return lambda text: np.asarray(tok.encode_ordinary(text), dtype=meta.dtype)


@dataclass
class Corpora:
    """Token ids of everything the experiment reads."""

    a_train: np.ndarray  # A's training split (replay draws from it)
    a_val: np.ndarray  # A's held-out split: forgetting is measured here
    b_train: dict[str, np.ndarray]  # VERSIONS: what fine-tuning trains on
    b_val: np.ndarray  # B's held-out split, always clean: learning is measured here
    texts: dict[str, str]  # the three training texts, to look at


def load_corpora(exp: ForgettingExperiment, meta_a: DataMeta, b_text: str | None = None) -> Corpora:
    """A's token files and B = Shakespeare (``b_text`` replaces it in tests), split and
    encoded with A's tokenizer; the noisy and small versions are cut from B's training split."""
    text = b_text if b_text is not None else shakespeare_corpus()
    if exp.b_chars:
        text = text[:exp.b_chars]
    train_text, val_text = split_text(text, exp.b_val_fraction)
    texts = {"clean": train_text,
             "noisy": make_noisy(train_text, exp.noise_rate, seed=exp.seed),
             "small": make_small(train_text, exp.small_chars)}
    for kind in NOISE_KINDS:  # one kind of damage at a time, same rate, same lines
        texts[kind] = make_noisy(train_text, exp.noise_rate, seed=exp.seed, kinds=(kind,))
    encode = text_encoder(meta_a)
    return Corpora(a_train=load_tokens(meta_a, "train"), a_val=load_tokens(meta_a, "val"),
                   b_train={k: encode(v) for k, v in texts.items()}, b_val=encode(val_text), texts=texts)


# ----------------------------------------------------------------------------- the runs
def variants(exp: ForgettingExperiment) -> dict[str, tuple[str, FinetuneConfig]]:
    """name -> (version of B, fine-tuning config) for every run in ``VARIANTS``."""
    base = exp.finetune
    lora = base.replace(lora_rank=exp.lora_rank, lora_alpha=exp.lora_alpha, lr=base.lr * exp.lora_lr_factor)
    return {
        "clean": ("clean", base),
        "noisy": ("noisy", base),
        "small": ("small", base),
        "noisy: shuffled words only": ("shuffle", base),
        "noisy: random characters only": ("random_chars", base),
        "noisy: spam only": ("spam", base),
        "noisy, lower lr": ("noisy", base.replace(lr=base.lr * exp.lr_factor)),
        "noisy, fewer steps": ("noisy", base.replace(max_iters=max(1, round(base.max_iters * exp.steps_factor)),
                                                     warmup_iters=min(base.warmup_iters,
                                                                      round(base.max_iters * exp.steps_factor)))),
        "noisy + replay": ("noisy", base.replace(replay=exp.replay)),
        "noisy, lower blocks frozen": ("noisy", base.replace(freeze_layers=exp.freeze_layers)),
        "noisy, LoRA": ("noisy", lora),
    }


def eval_sets(data: Corpora, cfg: FinetuneConfig) -> dict[str, list]:
    """The fixed held-out batches: "A" (forgetting) and "B" (learning)."""
    return {"A": fixed_batches(data.a_val, cfg.block_size, cfg.batch_size, cfg.eval_iters, seed=1),
            "B": fixed_batches(data.b_val, cfg.block_size, cfg.batch_size, cfg.eval_iters, seed=2)}


def run_variant(pretrained: GPT, data: Corpora, version: str, cfg: FinetuneConfig, *,
                progress: bool = False) -> FinetuneResult:
    """Fine-tune ``pretrained`` on B's ``version`` as ``cfg`` says (replay mixes
    in A's training text)."""
    b = RandomWindows(
        data.b_train[version], cfg.block_size, cfg.batch_size, seed=cfg.seed
    )
    a = RandomWindows(data.a_train, cfg.block_size, cfg.batch_size, seed=cfg.seed + 1)
    next_batch = replay_stream(b.next, a.next, cfg.replay, seed=cfg.seed)
    return finetune(
        pretrained, cfg, next_batch, eval_sets(data, cfg), progress=progress
    )


def summary(results: dict[str, FinetuneResult]) -> list[dict]:
    """One row per run: start and end losses on A and B, forgetting, weight change, gradients."""
    rows = []
    for name, r in results.items():
        h = r.history
        a, b = h["eval"]["A"], h["eval"]["B"]
        cos = [c for c in h["grad_cos"] if c == c]  # drop the first step's NaN
        rows.append({
            "run": name, "steps": r.config.max_iters, "trainable": r.trainable,
            "A before": a[0], "A after": a[-1], "forgetting": a[-1] - a[0],
            "B before": b[0], "B after": b[-1], "B best": min(b),
            "weight change": h["distance"][-1],
            "grad norm": float(np.mean(h["grad_norm"])), "grad cos": float(np.mean(cos)) if cos else float("nan"),
        })
    return rows


def run(exp: ForgettingExperiment, *, progress: bool = True) -> dict:
    """The whole experiment: pretrain (or load), every variant, CKA; results and plots to out_dir."""
    from groundup.finetune.cka import layer_cka
    from groundup.finetune.lora import merge_lora

    out = Path(exp.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model, meta_a = pretrained_model(exp)
    model = model.to(exp.finetune.device)
    data = load_corpora(exp, meta_a)
    results = {}
    for name, (version, cfg) in variants(exp).items():
        if progress:
            print(f"--- {name}: fine-tuning on {version} B, {cfg.max_iters} steps")
        results[name] = run_variant(model, data, version, cfg, progress=progress)
    x, _ = fixed_batches(data.a_val, exp.finetune.block_size, exp.cka_sequences, 1, seed=3)[0]
    x = x.to(exp.finetune.device)
    cka = {name: layer_cka(model, merge_lora(r.model), x) for name, r in results.items()}
    rows = summary(results)
    (out / "results.json").write_text(json.dumps(
        {"summary": rows, "cka": cka, "history": {k: r.history for k, r in results.items()}}, indent=1))
    plot_curves(results, out / "curves.png")
    return {"summary": rows, "cka": cka, "results": results}


def plot_curves(results: dict[str, FinetuneResult], path: str | Path | None = None, names=None):
    """Loss on A (forgetting) and on B (learning) against fine-tuning steps, one line per run."""
    import matplotlib.pyplot as plt

    names = names or list(results)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))  # <= 10 in: legible at the column width
    for name in names:
        h = results[name].history
        for ax, corpus in zip(axes, ("A", "B")):
            ax.plot(h["step"], h["eval"][corpus], marker=".", label=name)
    axes[0].set_title("held-out A (pretraining text): up = forgetting")
    axes[1].set_title("held-out B (clean Shakespeare): down = learning")
    for ax in axes:
        ax.set_xlabel("fine-tuning step")
        ax.set_ylabel("loss (nats/token)")
    axes[1].legend()
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


__all__ = ["VARIANTS", "ForgettingExperiment", "EXPERIMENT_PRESETS", "pretrain_config", "pretrained_model",
           "text_encoder", "Corpora", "load_corpora", "variants", "eval_sets", "run_variant", "summary", "run",
           "plot_curves"]
