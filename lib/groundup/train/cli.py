"""Command line: ``python -m groundup.train --preset cpu-tiny max_iters=500 model.n_layer=2``.

Also installed as ``groundup-train``; under ``torchrun --nproc_per_node=N`` it trains with DDP.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from groundup.train.config import PRESETS, TrainConfig


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="groundup-train",
        description="Train a GPT from scratch (Ground Up, Chapter 6).",
        epilog="Overrides are key=value pairs for TrainConfig fields; model.<field>=value reaches the "
               "GPTConfig. Example: groundup-train --preset cpu-tiny max_iters=200 model.n_layer=2",
    )
    p.add_argument("--preset", default="cpu-tiny", choices=sorted(PRESETS), help="starting configuration")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="change a field of the preset")
    p.add_argument("--overrides", "--override", dest="more_overrides", nargs="+", default=[], metavar="key=value",
                   help="the same, as an option")
    p.add_argument("--resume", action="store_true", help="continue from out_dir/ckpt.pt exactly where it stopped")
    p.add_argument("--print-config", action="store_true", help="print the final config as JSON and exit")
    p.add_argument("--sample", type=int, default=0, metavar="N", help="after training, print N sampled tokens")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = TrainConfig.preset(args.preset).with_overrides([*args.overrides, *args.more_overrides])
        if args.print_config:  # show it even when this machine could not run it
            print(json.dumps(dataclasses.asdict(cfg), indent=1))
            return 0
        cfg.validate()
    except ValueError as e:
        print(f"groundup-train: {e}", file=sys.stderr)
        return 2
    from groundup.train.loop import train  # imports torch-heavy modules only when training

    result = train(cfg, resume=args.resume)
    if result.history["eval"]:
        step, tr, va = result.history["eval"][-1]
        print(f"step {step}: train loss {tr:.4f}, val loss {va:.4f}; {result.ms_per_iter:.1f} ms/iter median, "
              f"{result.seconds:.1f} s; outputs in {result.out_dir}")
    if args.sample:
        _print_sample(cfg, result, args.sample)
    return 0


def _print_sample(cfg: TrainConfig, result, n: int) -> None:
    import torch

    from groundup.train.data import load_decoder, prepare

    meta = prepare(cfg.data, cfg.tokenizer, cfg.data_dir, val_fraction=cfg.val_fraction, max_chars=cfg.max_chars)
    model = result.model.eval()
    start = torch.zeros((1, 1), dtype=torch.long, device=next(model.parameters()).device)
    out = model.generate(start, n, temperature=0.8, top_k=50, generator=None)
    print(load_decoder(meta.folder)(out[0].tolist()))
