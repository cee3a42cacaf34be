"""The generator behind the pipeline, pluggable (Chapter 13).

A generator turns a prompt into text and says how many tokens a text costs and how many
fit in its window; the pipeline needs nothing else:

* ``CourseGenerator``: the course's trained reader (``groundup.rag.reader``), offline,
  decoding greedily with Chapter 7's ``generate`` and its KV cache;
* ``HFGenerator``: any causal LM that ``transformers`` loads (a small instruction-tuned
  model where the reader has one; the tests use a tiny randomly initialised one saved in a
  temporary folder). A chat template, when the tokenizer has one, wraps the prompt as the
  user's turn.
"""
from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

import torch

from groundup.generate import generate
from groundup.rag.reader import Reader

__all__ = ["Generator", "CourseGenerator", "HFGenerator", "RAG_INSTRUCTION"]

RAG_INSTRUCTION = ("Answer the question using only the numbered passages below. After the answer, "
                   "cite the passages you used by number, like [1].")


@runtime_checkable
class Generator(Protocol):
    window: int  # the most tokens (prompt + answer) the model reads
    instruction: str  # put above the passages in the prompt ("" for the course reader)

    def count_tokens(self, text: str) -> int: ...

    def generate(self, prompt: str, max_new_tokens: int = 16) -> str: ...


class CourseGenerator:
    """The course reader as a ``Generator``: greedy, KV-cached, stops at ``<eos>``."""

    instruction = ""  # the reader was trained on the bare format

    def __init__(self, reader: Reader):
        self.reader = reader
        self.window = reader.model.config.block_size

    def count_tokens(self, text: str) -> int:
        return len(self.reader.encode(text))

    def generate(self, prompt: str, max_new_tokens: int = 5) -> str:
        tok = self.reader.tokenizer
        ids = tok.encode(prompt)
        if len(ids) + max_new_tokens > self.window:
            raise ValueError(f"the prompt is {len(ids)} tokens and the answer may take {max_new_tokens}: past "
                             f"the reader's window of {self.window}. Pack fewer passages (pack_passages).")
        out = generate(self.reader.model, torch.tensor([ids]), max_new_tokens, temperature=0.0,
                       stop=tok.eos_id)[0, len(ids):]
        return tok.decode([t for t in out.tolist() if t != tok.eos_id])


class HFGenerator:
    """A ``transformers`` causal LM as a ``Generator`` (greedy decoding).

    ``HFGenerator("Qwen/Qwen2.5-0.5B-Instruct")`` where the weights are in the local
    Hugging Face cache; ``local_files_only=True`` (the default) never downloads."""

    def __init__(self, name_or_path: str | os.PathLike, *, local_files_only: bool = True,
                 instruction: str = RAG_INSTRUCTION, dtype: torch.dtype = torch.float32):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(name_or_path, local_files_only=local_files_only)
        self.model = AutoModelForCausalLM.from_pretrained(name_or_path, local_files_only=local_files_only,
                                                          torch_dtype=dtype).eval()
        cfg = self.model.config
        self.window = int(getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", 1024))
        self.instruction = instruction

    def _ids(self, prompt: str) -> list[int]:
        if getattr(self.tokenizer, "chat_template", None):
            ids = self.tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                                     add_generation_prompt=True, tokenize=True)
            return list(ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids)
        return self.tokenizer(prompt)["input_ids"]

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text)["input_ids"])

    @torch.no_grad()
    def generate(self, prompt: str, max_new_tokens: int = 32) -> str:
        ids = self._ids(prompt)
        if len(ids) + max_new_tokens > self.window:
            raise ValueError(f"the prompt is {len(ids)} tokens and the answer may take {max_new_tokens}: past "
                             f"the model's window of {self.window}. Pack fewer passages (pack_passages).")
        x = torch.tensor([ids])
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        out = self.model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=max_new_tokens,
                                  do_sample=False, pad_token_id=pad)
        return self.tokenizer.decode(out[0, len(ids):], skip_special_tokens=True).strip()
