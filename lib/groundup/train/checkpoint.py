"""Checkpoints that resume *exactly*: a run of N steps equals N/2 steps + resume + N/2.

That needs more than the weights. Everything that decides what happens next is saved:
the model, AdamW's moment estimates and step counts, the fp16 GradScaler's scale, the
iteration, the random number generators (PyTorch's CPU and CUDA generators drive dropout;
the data generator picks the windows) and the loss history, so plots continue seamlessly.
Each process keeps its own generators, so each writes its own small ``rng_rank<R>.pt``.
"""
from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import torch


def _atomic_save(obj, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)  # a crash mid-write never leaves a half checkpoint behind


def save(out_dir: str | Path, *, model, optimizer, scaler, iteration: int, cfg, model_cfg, history: dict,
         windows, rank: int, is_main: bool) -> None:
    """Write ``ckpt.pt`` (main process) and ``rng_rank<rank>.pt`` (every process)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "data": windows.state_dict(),
        "iteration": iteration,
    }
    _atomic_save(rng, out / f"rng_rank{rank}.pt")
    if is_main:
        _atomic_save({
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict(),
            "iteration": iteration,
            "config": asdict(cfg),
            "model_config": asdict(model_cfg),
            "history": history,
        }, out / "ckpt.pt")


def load(out_dir: str | Path, *, model, optimizer, scaler, windows, rank: int, device: str) -> tuple[int, dict]:
    """Restore everything ``save`` wrote; returns (iteration to continue from, history)."""
    out = Path(out_dir)
    path = out / "ckpt.pt"
    if not path.exists():
        raise FileNotFoundError(f"cannot resume: no checkpoint at {path}. Run without --resume first.")
    ckpt = torch.load(path, map_location=device, weights_only=False)
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scaler.load_state_dict(ckpt["scaler"])
    rng_path = out / f"rng_rank{rank}.pt"
    if not rng_path.exists():
        raise FileNotFoundError(f"cannot resume exactly: {rng_path} is missing (was the run on fewer processes?).")
    rng = torch.load(rng_path, weights_only=False)
    if rng["iteration"] != ckpt["iteration"]:
        raise ValueError(f"{rng_path} is from step {rng['iteration']} but ckpt.pt from step {ckpt['iteration']}.")
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    windows.load_state_dict(rng["data"])
    return ckpt["iteration"], ckpt["history"]
