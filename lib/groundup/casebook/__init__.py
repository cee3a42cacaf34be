"""The failure casebook (Chapter 14): production failures reproduced on the course's own components.

Each case is a function ``case_<name>(size)`` returning a ``CaseResult``: the same metric
measured with the fault in place and with the fix. One module per family:

* :mod:`~groundup.casebook.outputs` — the outputs degrade: temperature, context past the
  training window, numbers cut by the tokenizer;
* :mod:`~groundup.casebook.latency` — latency spikes: no KV cache, written-out attention at
  long context, padding in batches;
* :mod:`~groundup.casebook.costs` — costs beyond projections: languages, formats, KV memory;
* :mod:`~groundup.casebook.retrieval` — retrieval at volume: un-normalised vectors,
  truncated long documents (chunking), distractors, vocabulary mismatch, anisotropy;
* :mod:`~groundup.casebook.finetune` — a fine-tune that hurt the inputs it was not about;
* :mod:`~groundup.casebook.rag` — a hallucination traced to a retrieval miss.

``python -m groundup.casebook CASE [--full]`` runs one case (``all`` runs every case).
"""

from __future__ import annotations

from typing import Callable

from groundup.casebook.base import SIZES, CaseResult, check_size

__all__ = ["CaseResult", "SIZES", "check_size", "CASE_NAMES", "run_case"]


def _cases() -> dict[str, Callable[..., CaseResult]]:
    from groundup.casebook import costs, finetune, latency, outputs, rag, retrieval

    return {
        "temperature": outputs.case_temperature,
        "context-window": outputs.case_context_window,
        "numbers": outputs.case_numbers,
        "kv-cache": latency.case_kv_cache,
        "long-context": latency.case_long_context,
        "padding": latency.case_padding,
        "languages": costs.case_languages,
        "formats": costs.case_formats,
        "kv-memory": costs.case_kv_memory,
        "norms": retrieval.case_norms,
        "chunking": retrieval.case_chunking,
        "distractors": retrieval.case_distractors,
        "vocabulary": retrieval.case_vocabulary,
        "anisotropy": retrieval.case_anisotropy,
        "finetune": finetune.case_finetune,
        "rag-miss": rag.case_rag_miss,
    }


CASE_NAMES = ("temperature", "context-window", "numbers", "kv-cache", "long-context", "padding", "languages",
              "formats", "kv-memory", "norms", "chunking", "distractors", "vocabulary", "anisotropy", "finetune", "rag-miss")



def run_case(name: str, size: str = "small") -> CaseResult:
    """Run one case by name at ``size`` ('tiny', 'small' or 'full')."""
    cases = _cases()
    if name not in cases:
        raise ValueError(f"unknown case {name!r}; the cases are: {', '.join(CASE_NAMES)}.")
    return cases[name](check_size(size))
