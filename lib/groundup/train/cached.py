"""Train once, reuse after: the course models that later chapters stand on.

Chapter 7 samples from a model trained on the built-in corpus and Chapter 8 fine-tunes
one; neither should pay for the pretraining on every book build. ``cached_train(cfg)``
trains ``cfg`` the first time and writes the run to a folder named after a hash of the
config; later calls with the same config load the finished checkpoint instead (about a
second). Any change to the config (steps, sizes, seed, corpus) is a new folder.

The cache lives in ``$GROUNDUP_CACHE`` if set, else ``~/.cache/groundup``. Deleting the
folder only costs the time to train again.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from groundup.gpt import GPT, GPTConfig
from groundup.train.config import TrainConfig
from groundup.train.data import DataMeta, prepare

# Fields that say where things go or how they are shown, not what is trained.
_NOT_IN_KEY = ("out_dir", "data_dir", "progress", "save_checkpoints", "log_interval", "plot")


def cache_root() -> Path:
    """``$GROUNDUP_CACHE`` or ``~/.cache/groundup``."""
    return Path(os.environ.get("GROUNDUP_CACHE") or Path.home() / ".cache" / "groundup")


def run_key(cfg: TrainConfig) -> str:
    """A short hash of everything in ``cfg`` that changes the trained weights.

    >>> run_key(TrainConfig.preset("cpu-tiny")) == run_key(TrainConfig.preset("cpu-tiny").with_overrides(["out_dir=x"]))
    True
    """
    fields = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in _NOT_IN_KEY}
    blob = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class CachedRun:
    """A finished run: the model (eval mode, on CPU), its loss history and its data."""

    model: GPT
    history: dict  # as TrainResult.history: "loss", "lr", "eval" [(step, train, val)]
    meta: DataMeta  # the token files (train.bin / val.bin) and vocabulary size
    folder: Path  # where ckpt.pt and history.json are
    trained_now: bool  # False when it was loaded from the cache


def cached_train(cfg: TrainConfig, *, cache_dir: str | Path | None = None) -> CachedRun:
    """Train ``cfg`` once (on its device) and keep the result; load it on later calls."""
    from groundup.train.loop import train  # the loop imports this package's config and data

    from filelock import FileLock  # a dependency of torch

    root = Path(cache_dir) if cache_dir is not None else cache_root()
    folder = root / "runs" / run_key(cfg)
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Pages execute in parallel (groundup.bookcache) and tests run on several workers: the
    # first caller of a configuration trains it, the others wait and load its checkpoint.
    with FileLock(str(folder) + ".lock"):
        return _load_or_train(cfg, root, folder, train)


def _load_or_train(cfg: TrainConfig, root: Path, folder: Path, train) -> CachedRun:
    cfg = dataclasses.replace(cfg, out_dir=str(folder), data_dir=str(root / "data"), save_checkpoints=True)
    meta = prepare(cfg.data, cfg.tokenizer, cfg.data_dir, val_fraction=cfg.val_fraction,
                   max_chars=cfg.max_chars, progress=cfg.progress)
    ckpt_path = folder / "ckpt.pt"
    if ckpt_path.exists():
        try:
            ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        except Exception:  # a torn or foreign file: train again rather than fail
            ckpt = None
        if ckpt is not None and ckpt.get("iteration") == cfg.max_iters:
            model = GPT(GPTConfig(**ckpt["model_config"]))
            model.load_state_dict(ckpt["model"])
            return CachedRun(model.eval(), ckpt["history"], meta, folder, trained_now=False)
    result = train(cfg)
    return CachedRun(result.model.cpu().eval(), result.history, meta, folder, trained_now=True)
