"""Command line: ``python -m groundup.finetune --preset finetune-cpu`` runs Chapter 8's experiment.

    python -m groundup.finetune --preset finetune-cpu            # on a laptop CPU
    python -m groundup.finetune --preset finetune-gpt2           # GPT-2 small on one GPU (downloads it once)
    python -m groundup.finetune --preset finetune-cpu finetune.max_iters=300 noise_rate=0.8

Overrides are ``key=value`` for ``ForgettingExperiment`` fields, ``finetune.key=value`` for its
``FinetuneConfig``, ``pretrain.key=value`` for the ``groundup.train`` run that pretrains on A. Results go to ``out_dir``: results.json (every curve and the summary) and curves.png.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from groundup.finetune.experiment import EXPERIMENT_PRESETS, ForgettingExperiment
from groundup.finetune.loop import FinetuneConfig
from groundup.train.config import _parse


def apply_overrides(exp: ForgettingExperiment, overrides: list[str]) -> ForgettingExperiment:
    """``key=value`` strings to a new experiment; values parsed by the field's type."""
    top = {f.name: f for f in dataclasses.fields(ForgettingExperiment)}
    sub = {f.name: f for f in dataclasses.fields(FinetuneConfig)}
    changes, ft_changes, pre = {}, {}, list(exp.pretrain_overrides)
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise ValueError(f"override {item!r} is not of the form key=value (e.g. noise_rate=0.8).")
        if key.startswith("pretrain."):
            pre.append(f"{key[len('pretrain.'):]}={raw}")  # checked by TrainConfig.with_overrides
        elif key.startswith("finetune."):
            name = key[len("finetune."):]
            if name not in sub or name == "lora_targets":
                raise ValueError(f"FinetuneConfig has no settable field {name!r}; fields: {sorted(sub)}.")
            ft_changes[name] = _parse(raw, sub[name], FinetuneConfig)
        elif key in top and key not in ("finetune", "pretrain_overrides"):
            changes[key] = _parse(raw, top[key], ForgettingExperiment)
        else:
            raise ValueError(f"ForgettingExperiment has no field {key!r}; fields: {sorted(top)} "
                             "(fine-tuning fields: finetune.<name>; pretraining: pretrain.<TrainConfig field>).")
    if ft_changes:
        changes["finetune"] = exp.finetune.replace(**ft_changes)
    if pre != list(exp.pretrain_overrides):
        from groundup.finetune.experiment import pretrain_config

        changes["pretrain_overrides"] = tuple(pre)
        pretrain_config(exp.replace(pretrain_overrides=tuple(pre)))  # a bad key fails here, not after minutes
    return exp.replace(**changes)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m groundup.finetune",
                                description="Fine-tune a pretrained GPT and measure what it forgets (Ground Up, Chapter 8).")
    p.add_argument("--preset", default="finetune-cpu", choices=sorted(EXPERIMENT_PRESETS))
    p.add_argument("overrides", nargs="*", metavar="key=value")
    p.add_argument("--print-config", action="store_true", help="print the final configuration as JSON and exit")
    args = p.parse_args(argv)
    try:
        exp = apply_overrides(ForgettingExperiment.preset(args.preset), args.overrides)
    except ValueError as e:
        print(f"groundup.finetune: {e}", file=sys.stderr)
        return 2
    if args.print_config:
        print(json.dumps(dataclasses.asdict(exp), indent=1))
        return 0
    from groundup.finetune.experiment import run

    out = run(exp)
    print(f"\n{'run':28} {'A before':>8} {'A after':>8} {'forgetting':>10} {'B after':>8} {'weights moved':>13}")
    for row in out["summary"]:
        print(f"{row['run']:28} {row['A before']:8.3f} {row['A after']:8.3f} {row['forgetting']:+10.3f} "
              f"{row['B after']:8.3f} {row['weight change']:13.3f}")
    print(f"results and curves in {exp.out_dir}")
    return 0
