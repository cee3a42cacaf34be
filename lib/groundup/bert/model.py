"""BERT, from the paper: Devlin et al. 2019, "BERT: Pre-training of Deep Bidirectional
Transformers for Language Understanding" (sec. 3), on the Transformer encoder of
Vaswani et al. 2017.

Read top to bottom: config, then the layers (embeddings, MLP, post-norm Block), then
the model with its masked-language-model head. Loading Hugging Face checkpoints lives
in ``groundup.bert.loading`` (``Bert.from_pretrained`` calls it).

Dimension letters used in shape comments:
    B batch, T time (tokens), C channels (n_embd, the paper's H), V vocabulary,
    I intermediate (MLP) width, nh heads, M masked positions in a batch

What differs from GPT-2 (Chapter 5), piece by piece:
    attention   bidirectional: no causal mask, only a padding mask on the keys
    embeddings  token + position + segment (token type), then LayerNorm and dropout
    blocks      post-norm, as in the original Transformer: x = LN(x + sublayer(x))
    GELU        the exact one, 0.5 x (1 + erf(x / sqrt 2)), not the tanh approximation
    LayerNorm   eps 1e-12 (GPT-2: 1e-5)
    objective   predict masked tokens from both sides (MLM), not the next token
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from groundup.attention import MultiHeadAttention, padding_mask
from groundup.gpt import LayerNorm


# ----------------------------------------------------------------------------- config
@dataclass(frozen=True)
class BertConfig:
    """Every size that defines a BERT. ``BertConfig.preset("minilm-l6")`` is all-MiniLM-L6-v2.

    >>> BertConfig.preset("bert-base").n_embd
    768
    """

    vocab_size: int = 30522  # V: WordPiece vocabulary (BERT's uncased English: 30,522)
    max_position_embeddings: int = 512  # rows of the learned position table: the longest input
    type_vocab_size: int = 2  # segments: sentence A (0) and sentence B (1)
    n_layer: int = 12  # Transformer blocks (the paper's L)
    n_head: int = 12  # attention heads nh (the paper's A); hs = n_embd // n_head
    n_embd: int = 768  # hidden width C (the paper's H)
    intermediate_size: int = 3072  # MLP width I (the paper's 4H)
    dropout: float = 0.1  # dropout on embeddings and on each sub-block's output (hidden_dropout_prob)
    attn_dropout: float = 0.1  # dropout on the attention weights (attention_probs_dropout_prob)
    layer_norm_eps: float = 1e-12  # epsilon inside LayerNorm's square root (BERT: 1e-12)
    pad_token_id: int = 0  # id of [PAD]
    pooler: bool = True  # the [CLS] pooler (dense + tanh) used for next-sentence prediction
    fast: bool = True  # fused kernels (SDPA, F.layer_norm, F.gelu); False = written-out math

    def __post_init__(self) -> None:
        for name in ("vocab_size", "max_position_embeddings", "type_vocab_size", "n_layer", "n_head",
                     "n_embd", "intermediate_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"BertConfig.{name} must be a positive integer, got {value!r}.")
        if self.n_embd % self.n_head != 0:
            raise ValueError(f"BertConfig.n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head}).")
        for name in ("dropout", "attn_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"BertConfig.{name} must be in [0, 1), got {getattr(self, name)!r}.")
        if not self.layer_norm_eps > 0:
            raise ValueError(f"BertConfig.layer_norm_eps must be > 0, got {self.layer_norm_eps!r}.")

    @classmethod
    def preset(cls, name: str, **overrides) -> "BertConfig":
        """``bert-base`` (110M), ``bert-large`` (340M), ``minilm-l6`` (all-MiniLM-L6-v2, 22.7M)."""
        presets = {
            "bert-base": dict(n_layer=12, n_head=12, n_embd=768, intermediate_size=3072),
            "bert-large": dict(n_layer=24, n_head=16, n_embd=1024, intermediate_size=4096),
            "minilm-l6": dict(n_layer=6, n_head=12, n_embd=384, intermediate_size=1536),
        }
        if name not in presets:
            raise ValueError(f"unknown BERT preset {name!r}; choose one of {sorted(presets)}.")
        return cls(**{**presets[name], **overrides})


# ----------------------------------------------------------------------------- layers
def gelu_erf_naive(x: torch.Tensor) -> torch.Tensor:
    """GELU (Hendrycks & Gimpel 2016), exact: x Phi(x) = 0.5 x (1 + erf(x / sqrt(2))).

    >>> gelu_erf_naive(torch.tensor([0.0, 100.0]))
    tensor([  0., 100.])
    """
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


class BertEmbeddings(nn.Module):
    """BERT sec. 3, Figure 2: the input representation of token t at
    position p in segment s is

        E = LayerNorm(E_token[t] + E_position[p] + E_segment[s]),  then dropout.

    (B, T) ids -> (B, T, C). ``token_type_ids`` default to all zeros (one segment)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(
            config.vocab_size, config.n_embd, padding_idx=config.pad_token_id
        )
        self.position_embeddings = nn.Embedding(
            config.max_position_embeddings, config.n_embd
        )
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.n_embd)
        self.LayerNorm = LayerNorm(
            config.n_embd, eps=config.layer_norm_eps, fast=config.fast
        )
        self.dropout = nn.Dropout(config.dropout)
        self.max_positions = config.max_position_embeddings

    def forward(
        self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        T = input_ids.size(1)
        if T > self.max_positions:
            raise ValueError(
                f"input of {T} tokens is longer than the {self.max_positions} learned "
                "positions. Truncate it: tokenizer(texts, truncation=True, "
                f"max_length={self.max_positions})."
            )
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)  # (B, T) all sentence A
        pos = torch.arange(T, device=input_ids.device)  # (T,)
        x = (
            self.word_embeddings(input_ids)
            + self.position_embeddings(pos)
            + self.token_type_embeddings(token_type_ids)
        )
        return self.dropout(self.LayerNorm(x))  # (B, T, C)


class BertMLP(nn.Module):
    """Position-wise feed-forward network (Vaswani et al. eq. 2) with exact GELU: C -> I -> C."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, config.intermediate_size)
        self.c_proj = nn.Linear(config.intermediate_size, config.n_embd)
        self.dropout = nn.Dropout(config.dropout)
        self.fast = config.fast

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.c_fc(x)  # (B, T, I)
        h = F.gelu(h) if self.fast else gelu_erf_naive(h)
        return self.dropout(self.c_proj(h))  # (B, T, C)


class BertBlock(nn.Module):
    """One BERT encoder block. BERT keeps the original Transformer's *post-norm*
    (Vaswani et al. sec. 3.1, "LayerNorm(x + Sublayer(x))"):

        x = ln_1(x + attn(x));  x = ln_2(x + mlp(x))

    GPT-2 moved the LayerNorm to each sub-block's input (pre-norm, Chapter 5), which
    leaves the residual stream unnormalised and trains deep stacks more stably; here
    every block's output is normalised, so the stream's scale is reset at each layer."""

    def __init__(self, config: BertConfig, attn: nn.Module):
        super().__init__()
        self.attn = attn
        self.ln_1 = LayerNorm(
            config.n_embd, eps=config.layer_norm_eps, fast=config.fast
        )
        self.mlp = BertMLP(config)
        self.ln_2 = LayerNorm(
            config.n_embd, eps=config.layer_norm_eps, fast=config.fast
        )

    def forward(
        self, x: torch.Tensor, attn_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        x = self.ln_1(x + self.attn(x, attn_mask=attn_mask))  # (B, T, C)
        return self.ln_2(x + self.mlp(x))  # (B, T, C)


def default_attention(config: BertConfig) -> nn.Module:
    """The library's multi-head attention (Chapter 3), bidirectional: ``causal=False``."""
    return MultiHeadAttention(config.n_embd, config.n_head, dropout=config.attn_dropout, causal=False,
                              fast=config.fast)


class MLMHead(nn.Module):
    """BERT's masked-LM head: dense + GELU + LayerNorm, then logits over the vocabulary
    with the decoder matrix tied to the token embedding (plus a bias of its own)."""

    def __init__(self, config: BertConfig, word_embeddings: nn.Embedding):
        super().__init__()
        self.dense = nn.Linear(config.n_embd, config.n_embd)
        self.LayerNorm = LayerNorm(config.n_embd, eps=config.layer_norm_eps, fast=config.fast)
        self.decoder = nn.Linear(config.n_embd, config.vocab_size)
        self.decoder.weight = word_embeddings.weight  # tied, as in BERT (Press & Wolf 2017)
        self.fast = config.fast

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = self.dense(h)  # (..., C)
        h = F.gelu(h) if self.fast else gelu_erf_naive(h)
        return self.decoder(self.LayerNorm(h))  # (..., V)


# ----------------------------------------------------------------------------- model
class Bert(nn.Module):
    """BERT: embeddings -> n_layer bidirectional post-norm blocks -> hidden states (B, T, C),
    with a masked-LM head (``mlm_logits``) and the [CLS] pooler (``pool``).

    Bring your own attention (Chapter 3's exercise) as with GPT::

        Bert(cfg, attention_factory=lambda cfg: MyAttention(cfg.n_embd, cfg.n_head, causal=False))

    It must map (B, T, C) -> (B, T, C) and take ``attn_mask=`` of shape (B, 1, 1, T) (True = attend).
    """

    def __init__(self, config: BertConfig, *, attention_factory: Callable[[BertConfig], nn.Module] | None = None):
        super().__init__()
        self.config = config
        make_attn = attention_factory or default_attention
        self.embeddings = BertEmbeddings(config)
        self.h = nn.ModuleList(BertBlock(config, make_attn(config)) for _ in range(config.n_layer))
        self.pooler = nn.Linear(config.n_embd, config.n_embd) if config.pooler else None
        self.mlm = MLMHead(config, self.embeddings.word_embeddings)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        # BERT's initialiser: N(0, 0.02) for weights, zero biases, LayerNorm (1, 0).
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()

    def num_params(self) -> int:
        """Parameters, the tied embedding / MLM decoder counted once."""
        return sum(p.numel() for p in self.parameters())

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """input_ids (B, T) -> last hidden states (B, T, C).

        ``attention_mask`` (B, T): 1 on real tokens, 0 on padding (what the tokenizer returns).
        Every token attends to every real token, before and after it; padding keys are hidden.
        """
        if input_ids.dim() != 2 or input_ids.dtype not in (torch.int64, torch.int32):
            raise ValueError(
                f"Bert expects input_ids of shape (B, T) with integer ids, got shape {tuple(input_ids.shape)} "
                f"dtype {input_ids.dtype}. A single sequence needs a batch dimension: ids[None]."
            )
        if attention_mask is not None and attention_mask.shape != input_ids.shape:
            raise ValueError(f"attention_mask {tuple(attention_mask.shape)} must have the shape of input_ids "
                             f"{tuple(input_ids.shape)}.")
        # (B, 1, 1, T): broadcast over heads and queries, so only padding *keys* are hidden.
        mask = None if attention_mask is None else padding_mask(attention_mask)
        x = self.embeddings(input_ids, token_type_ids)  # (B, T, C)
        for block in self.h:
            x = block(x, attn_mask=mask)  # (B, T, C)
        return x

    def mlm_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Hidden states (..., C) -> vocabulary logits (..., V). Pass only the masked
        positions, ``hidden[labels != -100]`` (M, C), to skip the V-wide matmul elsewhere."""
        return self.mlm(hidden)

    def mlm_loss(self, input_ids: torch.Tensor, labels: torch.Tensor, attention_mask: torch.Tensor | None = None,
                 token_type_ids: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Masked-LM loss (BERT sec. 3.1, Task #1): cross-entropy at the positions where
        ``labels`` (B, T) is not -100. Returns (loss, logits at those positions (M, V))."""
        hidden = self(input_ids, attention_mask, token_type_ids)  # (B, T, C)
        where = labels != -100  # (B, T)
        logits = self.mlm_logits(hidden[where])  # (M, V)
        return F.cross_entropy(logits.float(), labels[where]), logits

    def pool(self, hidden: torch.Tensor) -> torch.Tensor:
        """BERT's pooled output: tanh(W h_[CLS] + b), (B, T, C) -> (B, C), trained for
        next-sentence prediction. Not a good sentence embedding (Reimers & Gurevych 2019)."""
        if self.pooler is None:
            raise ValueError("this Bert was built with pooler=False.")
        return torch.tanh(self.pooler(hidden[:, 0]))  # (B, C)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, *, dtype: torch.dtype = torch.float32) -> "Bert":
        """Load a Hugging Face BERT checkpoint folder (config.json + model.safetensors or
        pytorch_model.bin): ``BertModel`` or ``BertForMaskedLM`` / ``BertForPreTraining``."""
        from groundup.bert.loading import load_hf_bert

        return load_hf_bert(path, dtype=dtype)
