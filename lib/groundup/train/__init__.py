"""Training a GPT (Chapter 6): config, data, optimizer, loop, checkpoints, DDP.

Modules, bottom-up: ``config`` (TrainConfig + presets), ``corpora`` (which text: built-in,
a file, or a verified download such as TinyStories), ``data`` (token files and random
windows), ``optim`` (AdamW groups, LR schedule), ``monitor`` (MFU, NaN guard, plot),
``checkpoint`` (exact resume), ``dist`` (DDP), ``loop`` (train_step, evaluate, train),
``cached`` (train once, reuse: the models later chapters stand on),
``cli`` (``python -m groundup.train`` / ``groundup-train``).
"""
from groundup.train.cached import CachedRun, cached_train
from groundup.train.cli import main
from groundup.train.config import PRESETS, TrainConfig
from groundup.train.data import CharVocab, DataMeta, RandomWindows, load_tokens, prepare
from groundup.train.loop import TrainResult, evaluate, train, train_step
from groundup.train.monitor import PEAK_TFLOPS, NonFiniteLossError, device_peak_flops, mfu, plot_history
from groundup.train.optim import get_lr, make_optimizer, param_groups

__all__ = [
    "CachedRun", "cached_train", "main", "PRESETS", "TrainConfig", "CharVocab", "DataMeta", "RandomWindows", "load_tokens", "prepare",
    "TrainResult", "evaluate", "train", "train_step", "PEAK_TFLOPS", "NonFiniteLossError",
    "device_peak_flops", "mfu", "plot_history", "get_lr", "make_optimizer", "param_groups",
]
