"""Case family 5: fine-tuning that hurt a class of inputs.

The symptom: after a fine-tune on a customer's text (Chapter 8's corpus B, Shakespeare,
half of its lines damaged as scraped text often is), the model got worse at what it did
before: Python's documentation, corpus A. Nobody measured A, because the fine-tune was
about B. The measurement: loss on held-out A before and after the fine-tune. The root
cause is in Chapter 8's loop: every step's gradient comes from B alone, so the weights
A depended on move freely (catastrophic forgetting). The fix: replay, a quarter of every
batch drawn from A's training text. The verification: A's loss rise, with and without
replay, with B's loss beside it (the fix must not undo the fine-tune).
"""

from __future__ import annotations

from groundup.casebook.base import CaseResult, check_size

__all__ = ["forgetting_experiment", "case_finetune"]


def forgetting_experiment(size: str):
    """Chapter 8's experiment at the casebook's sizes (the page's starts from Chapter 8's
    ``small()``, so the pretrained model comes from the same cache)."""
    from groundup.finetune.experiment import ForgettingExperiment
    from groundup.finetune.loop import FinetuneConfig

    if size == "full":
        return ForgettingExperiment.preset("finetune-cpu")
    exp = ForgettingExperiment.small()
    if size == "small":  # Chapter 8's model and runs, shortened to 40 steps (the page's budget)
        exp = exp.replace(finetune=exp.finetune.replace(max_iters=40, lr_decay_iters=40, warmup_iters=4,
                                                        eval_interval=10))
    if size == "tiny":
        exp = exp.replace(
            pretrain_overrides=("max_iters=30", "lr_decay_iters=30", "warmup_iters=3", "eval_interval=30",
                                "eval_iters=2"),
            finetune=FinetuneConfig(max_iters=12, lr_decay_iters=12, warmup_iters=2, lr=1e-3, min_lr=1e-4,
                                    batch_size=4, block_size=64, eval_interval=6, eval_iters=2),
            b_chars=200_000, small_chars=20_000)
    return exp


def case_finetune(size: str = "small") -> CaseResult:
    """Rise of the loss on A (nats/char) after fine-tuning on noisy B: plain vs with replay."""
    from groundup.finetune.experiment import load_corpora, pretrained_model, run_variant, variants

    check_size(size)
    exp = forgetting_experiment(size)
    model, meta_a = pretrained_model(exp)
    data = load_corpora(exp, meta_a)
    runs = variants(exp)
    out = {}
    for key, name in (("before", "noisy"), ("after", "noisy + replay")):
        h = run_variant(model, data, *runs[name]).history
        out[key] = {"A_start": h["eval"]["A"][0], "A_end": h["eval"]["A"][-1], "B_start": h["eval"]["B"][0],
                    "B_end": h["eval"]["B"][-1], "steps": h["step"], "A": h["eval"]["A"], "B": h["eval"]["B"]}
    rise = lambda r: r["A_end"] - r["A_start"]  # noqa: E731
    return CaseResult(
        "finetune", "rise of the loss on the old inputs (A, nats/char) after the fine-tune",
        rise(out["before"]), rise(out["after"]), False,
        cause="every fine-tuning gradient comes from the new text alone; nothing holds the weights the old "
              "inputs need",
        fix=f"replay: {exp.replay:.0%} of every batch drawn from the old training text",
        details=out)
