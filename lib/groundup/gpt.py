"""GPT-2, from the paper: Radford et al. 2019, "Language Models are Unsupervised
Multitask Learners" (sec. 2.3), on top of the Transformer decoder of Vaswani et
al. 2017 and the GPT-1 paper (Radford et al. 2018).

Read top to bottom: config, then the layers (LayerNorm, MLP, Block), then the
model, then loading OpenAI's weights from a Hugging Face checkpoint.

Dimension letters used in shape comments:
    B batch, T time (tokens), C channels (n_embd), V vocabulary,
    nh heads, hs head size (C // nh)

Parameter names match the GPT-2 checkpoint (``transformer.wte``,
``transformer.h.0.attn.c_attn`` ...) so that real weights load by name.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from groundup.attention import KVCache, LayerKVCache, MultiHeadAttention
from groundup.positions import POSITION_KINDS, PositionScheme, build_positions


# ----------------------------------------------------------------------------- config
@dataclass(frozen=True)
class GPTConfig:
    """Every size that defines a GPT. ``GPTConfig.preset("gpt2")`` is GPT-2 small.

    >>> GPTConfig.preset("course-tiny").n_embd
    128
    """

    block_size: int = 1024  # context length T: the most tokens the model sees at once
    vocab_size: int = 50257  # V: 50,000 BPE merges + 256 byte tokens + <|endoftext|>
    n_layer: int = 12  # number of Transformer blocks
    n_head: int = 12  # attention heads nh per block; hs = n_embd // n_head
    n_embd: int = 768  # width C of the residual stream (the paper's d_model)
    # dropout probability (GPT-2 used 0.1 in pretraining; 0 to fine-tune)
    dropout: float = 0.0
    bias: bool = True  # biases in Linear and LayerNorm layers (GPT-2: True)
    # position scheme: learned | sinusoidal | rope | alibi | none
    position: str = "learned"
    layer_norm_eps: float = 1e-5  # epsilon inside LayerNorm's square root (GPT-2: 1e-5)
    # fused kernels (SDPA, F.layer_norm, F.gelu); False = written-out math
    fast: bool = True

    def __post_init__(self) -> None:
        for name in ("block_size", "vocab_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(
                    f"GPTConfig.{name} must be a positive integer, got {value!r}."
                )
        if self.n_embd % self.n_head != 0:
            raise ValueError(
                f"GPTConfig.n_embd ({self.n_embd}) must be divisible by n_head "
                f"({self.n_head}): each head gets n_embd // n_head channels. Try "
                f"n_embd={self.n_head * max(1, self.n_embd // self.n_head)}."
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(
                f"GPTConfig.dropout must be in [0, 1), got {self.dropout!r}."
            )
        if self.position not in POSITION_KINDS:
            raise ValueError(
                f"GPTConfig.position must be one of {POSITION_KINDS}, got "
                f"{self.position!r}."
            )
        if not self.layer_norm_eps > 0:
            raise ValueError(
                f"GPTConfig.layer_norm_eps must be > 0, got {self.layer_norm_eps!r}."
            )

    @classmethod
    def preset(cls, name: str, **overrides) -> "GPTConfig":
        """The four OpenAI GPT-2 sizes and two course sizes, e.g.
        ``preset("gpt2", dropout=0.1)``."""
        presets = {
            "gpt2": dict(n_layer=12, n_head=12, n_embd=768),  # 124M
            "gpt2-medium": dict(n_layer=24, n_head=16, n_embd=1024),  # 350M
            "gpt2-large": dict(n_layer=36, n_head=20, n_embd=1280),  # 774M
            "gpt2-xl": dict(n_layer=48, n_head=25, n_embd=1600),  # 1558M
            # nanoGPT's CPU recipe (character level): trains in minutes on 2 cores
            "course-tiny": dict(
                n_layer=4, n_head=4, n_embd=128, block_size=64, vocab_size=256
            ),
            # nanoGPT's shakespeare-char GPU recipe (10.7M parameters at V=65)
            "course-small": dict(
                n_layer=6, n_head=6, n_embd=384, block_size=256, vocab_size=256
            ),
        }
        if name not in presets:
            raise ValueError(
                f"unknown GPT preset {name!r}; choose one of {sorted(presets)}."
            )
        return cls(**{**presets[name], **overrides})


# ----------------------------------------------------------------------------- layers
def layer_norm_naive(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, eps: float
) -> torch.Tensor:
    """Ba et al. 2016, eq. 3-4, over the last dimension:

        y = (x - mean) / sqrt(var + eps) * weight + bias,  var =
        mean((x - mean)^2) (biased)

    >>> layer_norm_naive(torch.tensor([[1., 3.]]), torch.ones(2), None, 0.0)
    tensor([[-1.,  1.]])
    """
    mean = x.mean(dim=-1, keepdim=True)  # (..., 1)
    # (..., 1) biased: divide by C, not C-1
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    y = (x - mean) / torch.sqrt(var + eps) * weight
    return y + bias if bias is not None else y


class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (PyTorch's had none to switch off before 2.1)."""

    def __init__(
        self, n_embd: int, *, bias: bool = True, eps: float = 1e-5, fast: bool = True
    ):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n_embd))
        self.bias = nn.Parameter(torch.zeros(n_embd)) if bias else None
        self.eps, self.fast = eps, fast

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fast:
            return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)
        return layer_norm_naive(x, self.weight, self.bias, self.eps)


def gelu_tanh_naive(x: torch.Tensor) -> torch.Tensor:
    """GELU (Hendrycks & Gimpel 2016) in the tanh approximation GPT-2 uses:

        GELU(x) ~= 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))

    >>> gelu_tanh_naive(torch.tensor([0.0, 100.0]))
    tensor([  0., 100.])
    """
    return (
        0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    )


class MLP(nn.Module):
    """Position-wise feed-forward network (Vaswani et al. eq. 2)
    with GELU: C -> 4C -> C."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)
        self.fast = config.fast

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.c_fc(x)  # (B, T, 4C)
        h = F.gelu(h, approximate="tanh") if self.fast else gelu_tanh_naive(h)
        return self.dropout(self.c_proj(h))  # (B, T, C)


class Block(nn.Module):
    """One GPT-2 block. GPT-2 moved LayerNorm to the input of each sub-block
    (sec. 2.3, "pre-norm"), so the residual stream itself is never normalised:

        x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
    """

    def __init__(self, config: GPTConfig, attn: nn.Module):
        super().__init__()
        self.ln_1 = LayerNorm(
            config.n_embd, bias=config.bias, eps=config.layer_norm_eps, fast=config.fast
        )
        self.attn = attn
        self.ln_2 = LayerNorm(
            config.n_embd, bias=config.bias, eps=config.layer_norm_eps, fast=config.fast
        )
        self.mlp = MLP(config)

    def forward(
        self, x: torch.Tensor, cache: LayerKVCache | None = None
    ) -> torch.Tensor:
        h = self.ln_1(x)
        # Only pass the cache when there is one, so attention modules without a cache
        # argument (your own, from Chapter 3) still plug in.
        # (B, T, C)
        x = x + (self.attn(h) if cache is None else self.attn(h, cache=cache))
        return x + self.mlp(self.ln_2(x))  # (B, T, C)


def _acts_inside_attention(scheme: PositionScheme) -> bool:
    """True for schemes (RoPE, ALiBi) that change q, k or the scores rather than the input."""
    cls = type(scheme)
    return cls.rotate_qk is not PositionScheme.rotate_qk or cls.attn_bias is not PositionScheme.attn_bias


def default_attention(config: GPTConfig, positions: PositionScheme | None = None) -> nn.Module:
    """The library's causal multi-head attention (Chapter 3), sized by ``config``."""
    return MultiHeadAttention(
        config.n_embd, config.n_head, dropout=config.dropout, bias=config.bias,
        causal=True, positions=positions, fast=config.fast,
    )


# ----------------------------------------------------------------------------- model
class GPT(nn.Module):
    """GPT-2: token embedding (+ positions) -> n_layer blocks -> LayerNorm -> logits.

    Bring your own pieces (Chapter 5 exercises)::

        GPT(cfg, attention_factory=lambda cfg: MyAttention(cfg.n_embd, cfg.n_head))
        GPT(cfg, block_factory=lambda cfg, attn: MyBlock(cfg, attn))
        GPT(cfg, positions=MyPositions(...))  # a groundup.positions.PositionScheme

    ``attention_factory(config)`` must return a module mapping (B, T, C) -> (B, T, C)
    that is causal; for RoPE/ALiBi it is called as ``attention_factory(config, positions)``
    because those schemes act inside attention. ``block_factory(config, attn)`` must
    return a module mapping (B, T, C) -> (B, T, C).
    """

    def __init__(
        self,
        config: GPTConfig,
        *,
        attention_factory: Callable[..., nn.Module] | None = None,
        block_factory: Callable[[GPTConfig, nn.Module], nn.Module] | None = None,
        positions: PositionScheme | None = None,
    ):
        super().__init__()
        self.config = config
        pos = (
            positions
            if positions is not None
            else build_positions(
                config.position,
                block_size=config.block_size,
                n_embd=config.n_embd,
                n_head=config.n_head,
            )
        )
        inside = _acts_inside_attention(pos)
        make_attn = attention_factory or default_attention
        make_block = block_factory or Block
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList(
                    make_block(
                        config, make_attn(config, pos) if inside else make_attn(config)
                    )
                    for _ in range(config.n_layer)
                ),
                ln_f=LayerNorm(
                    config.n_embd,
                    bias=config.bias,
                    eps=config.layer_norm_eps,
                    fast=config.fast,
                ),
            )
        )
        if isinstance(getattr(pos, "wpe", None), nn.Embedding):
            # GPT-2's checkpoint calls the learned table transformer.wpe. Register the
            # scheme's own nn.Embedding under that name and keep the scheme itself out
            # of the module tree, so state_dict() has exactly one key for it and
            # OpenAI's weights load by name.
            self.transformer.wpe = pos.wpe
            object.__setattr__(self, "positions", pos)
        else:
            # sinusoidal/rope/alibi/none: registered (buffers move with .to())
            self.positions = pos
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # Weight tying (Press & Wolf 2017), as GPT-2 does: the output projection is the
        # token embedding, so a token's input and output vectors are one and the same.
        self.lm_head.weight = self.transformer.wte.weight
        self.apply(self._init_weights)
        # GPT-2 sec. 2.3: scale the weights of residual layers at init by 1/sqrt(N), N =
        # number of residual layers = 2 per block (attention and MLP
        # each add to the stream).
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self, non_embedding: bool = True) -> int:
        """Parameters, the tied wte/lm_head matrix counted once. ``non_embedding``
        leaves out the position table (a lookup, not a matmul) but keeps wte, which is
        also the output layer. GPT-2 small: 124,439,808 in all,
        123,653,376 non-embedding."""
        # parameters() yields a shared tensor once
        n = sum(p.numel() for p in self.parameters())
        if non_embedding and "wpe" in self.transformer:
            n -= self.transformer.wpe.weight.numel()
        return n

    def flops_per_token(self, T: int | None = None) -> int:
        """Training FLOPs per token (Kaplan et al. 2020, sec. 2.1; PaLM appendix B):

        - every weight does one multiply-add (2 FLOPs) per token in the forward pass,
          and the backward pass costs twice the forward (gradients for inputs and
          weights): 2N + 4N = 6N, with N = num_params(non_embedding=True);
        - attention scores QK^T and the weighted sum AV are matmuls with no weights: per
          layer and token, 2*T*C FLOPs each forward, so 4*T*C forward and 12*T*C for
          forward + backward, over n_layer layers: 12 * n_layer * C * T.

        >>> tiny = GPT(GPTConfig.preset("course-tiny"))
        >>> tiny.flops_per_token() == 6 * 826_112 + 12 * 4 * 128 * 64
        True
        """
        T = T or self.config.block_size
        return (
            6 * self.num_params(non_embedding=True)
            + 12 * self.config.n_layer * self.config.n_embd * T
        )

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        *,
        cache: KVCache | None = None,
        last_only: bool = False,
    ):
        """idx (B, T) int64 token ids -> (logits (B, T, V), loss or None).

        ``targets`` (B, T) are the next tokens; -1 marks positions to ignore.
        ``cache`` (Chapter 7): a ``KVCache`` holding earlier tokens of these sequences;
        idx then holds only the new tokens, at positions cache.length onwards, and their
        keys and values are added to the cache.
        ``last_only``: compute logits for the last position only, (B, 1, V): all that
        decoding needs, and it skips most of the lm_head's T x C x V multiply-adds."""
        if idx.dim() != 2 or idx.dtype not in (torch.int64, torch.int32):
            raise ValueError(
                "GPT expects idx of shape (B, T) with integer token ids, got shape "
                f"{tuple(idx.shape)} dtype {idx.dtype}. A single sequence needs a "
                "batch dimension: idx[None]."
            )
        T = idx.size(1)
        past = 0 if cache is None else cache.length  # position of idx's first token
        if past + T > self.config.block_size and self.config.position == "learned":
            raise ValueError(
                f"sequence length {past + T} is longer than "
                f"block_size={self.config.block_size}: the learned position table has "
                f"only {self.config.block_size} rows. Crop the input to the last "
                f"{self.config.block_size} tokens (generate() does this for you)."
            )
        if cache is not None and len(cache.layers) != len(self.transformer.h):
            raise ValueError(
                f"the KVCache has {len(cache.layers)} layers, the model "
                f"{len(self.transformer.h)}: make it with "
                "KVCache(model.config.n_layer)."
            )
        x = self.transformer.wte(idx)  # (B, T, C)
        # Absolute schemes add the encoding of positions past..past+T-1.
        x = (
            self.positions.add_to_input(x, offset=past)
            if past
            else self.positions.add_to_input(x)
        )  # (B, T, C)
        x = self.transformer.drop(x)
        for i, block in enumerate(self.transformer.h):
            # (B, T, C)
            x = block(x) if cache is None else block(x, cache=cache.layers[i])
        if last_only:
            if targets is not None:
                raise ValueError(
                    "last_only=True computes one position's logits; the loss needs all "
                    "of them."
                )
            x = x[:, -1:, :]  # (B, 1, C)
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x)  # (B, T, V), or (B, 1, V) with last_only
        loss = None
        if targets is not None:
            loss = F.cross_entropy(
                logits.view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1
            )
        return logits, loss

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Append ``max_new_tokens`` sampled tokens to idx (B, T); returns (B, T + max_new_tokens).

        temperature 0 picks the most likely token (greedy); top_k keeps the k most likely.
        Call ``model.eval()`` first so dropout is off.

        This is the plain loop of Chapters 5-6: a full forward pass over the whole context
        for every new token. ``groundup.generate.generate`` (Chapter 7) adds the KV cache,
        top-p, stop tokens and argument checks; the two agree token for token."""
        for _ in range(max_new_tokens):
            idx_cond = idx[:, -self.config.block_size:]  # (B, <=block_size)
            logits, _ = self(idx_cond)
            logits = logits[:, -1, :]  # (B, V) the prediction for the next token
            if temperature == 0:
                idx_next = logits.argmax(dim=-1, keepdim=True)  # (B, 1)
            else:
                logits = logits / temperature
                if top_k is not None:
                    kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, [-1]]  # (B, 1)
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                probs = F.softmax(logits, dim=-1)  # (B, V)
                idx_next = torch.multinomial(probs, num_samples=1, generator=generator)  # (B, 1)
            idx = torch.cat((idx, idx_next), dim=1)
        return idx

    # ------------------------------------------------------------------------- loading
    @classmethod
    def from_hf(
        cls,
        path_or_name: str | os.PathLike,
        *,
        dtype: torch.dtype = torch.float32,
        dropout: float = 0.0,
    ) -> "GPT":
        """Load a Hugging Face ``GPT2LMHeadModel`` checkpoint: a directory holding
        config.json and model.safetensors (or pytorch_model.bin), or a hub name such as
        "gpt2" (downloaded by huggingface_hub; needs the network once).

        HF's GPT-2 uses ``Conv1D`` layers that store weights as (in, out), the transpose
        of ``nn.Linear``'s (out, in); those four matrices per block are transposed."""
        path = Path(path_or_name)
        if not path.is_dir():
            path = _download_hf(str(path_or_name))
        hf = json.loads((path / "config.json").read_text())
        config = _config_from_hf(hf, dropout=dropout)
        model = cls(config)
        _load_hf_state(model, _read_hf_weights(path))
        return model.to(dtype).eval()

    from_pretrained = from_hf


# ----------------------------------------------------------------------------- HF checkpoints
_TRANSPOSED = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def _download_hf(name: str) -> Path:
    try:
        from huggingface_hub import snapshot_download
    except ImportError as e:
        raise ImportError(f"loading {name!r} from the hub needs huggingface_hub: pip install transformers") from e
    try:
        return Path(snapshot_download(name, allow_patterns=["config.json", "*.safetensors"]))
    except Exception as e:  # offline, unknown repo, ...: say what was tried
        raise OSError(
            f"{name!r} is not a local directory and could not be downloaded from the Hugging Face hub "
            f"({type(e).__name__}: {e}). Pass the path of a folder with config.json and model.safetensors."
        ) from e


def _config_from_hf(hf: dict, dropout: float) -> GPTConfig:
    if hf.get("model_type", "gpt2") != "gpt2":
        raise ValueError(f"expected a GPT-2 checkpoint (model_type 'gpt2'), got model_type {hf.get('model_type')!r}.")
    if hf.get("n_inner") not in (None, 4 * hf["n_embd"]):
        raise ValueError(f"this GPT has an MLP width of 4*n_embd; the checkpoint has n_inner={hf['n_inner']}.")
    if hf.get("activation_function", "gelu_new") not in ("gelu_new", "gelu_pytorch_tanh"):
        raise ValueError(f"GPT-2 uses the tanh GELU ('gelu_new'); the checkpoint uses {hf['activation_function']!r}.")
    if hf.get("scale_attn_by_inverse_layer_idx") or hf.get("scale_attn_weights") is False:
        raise ValueError("this checkpoint scales attention differently from GPT-2 (scale_attn_* options).")
    return GPTConfig(
        block_size=hf["n_positions"], vocab_size=hf["vocab_size"], n_layer=hf["n_layer"],
        n_head=hf["n_head"], n_embd=hf["n_embd"], dropout=dropout, bias=True,
        layer_norm_eps=hf.get("layer_norm_epsilon", 1e-5),
    )


def _read_hf_weights(path: Path) -> dict[str, torch.Tensor]:
    if (path / "model.safetensors").exists():
        from safetensors.torch import load_file

        return load_file(str(path / "model.safetensors"))
    if (path / "pytorch_model.bin").exists():
        return torch.load(path / "pytorch_model.bin", map_location="cpu", weights_only=True)
    raise FileNotFoundError(f"{path} has neither model.safetensors nor pytorch_model.bin.")


def _load_hf_state(model: GPT, sd_hf: dict[str, torch.Tensor]) -> None:
    """Copy HF tensors into ``model`` by name (OpenAI's files lack the
    'transformer.' prefix)."""
    ours = model.state_dict()
    theirs = {}
    for k, v in sd_hf.items():
        if k.endswith((".attn.bias", ".attn.masked_bias")):
            continue  # old causal-mask buffers, not parameters
        k = k if k.startswith(("transformer.", "lm_head.")) else "transformer." + k
        theirs[k] = v
    # tied: often not saved
    theirs.setdefault("lm_head.weight", theirs.get("transformer.wte.weight"))
    missing = sorted(set(ours) - set(theirs))
    unexpected = sorted(set(theirs) - set(ours))
    if missing or unexpected:
        raise KeyError(
            "checkpoint does not match GPT: missing "
            f"{missing[:8]}{' ...' if len(missing) > 8 else ''}, unexpected "
            f"{unexpected[:8]}{' ...' if len(unexpected) > 8 else ''}. Is it a "
            "GPT2LMHeadModel checkpoint with the same config.json?"
        )
    with torch.no_grad():
        for k, p in ours.items():
            v = theirs[k].t() if k.endswith(_TRANSPOSED) else theirs[k]
            if v.shape != p.shape:
                raise ValueError(
                    f"{k}: checkpoint shape {tuple(v.shape)} does not fit the model's "
                    f"{tuple(p.shape)}."
                )
            p.copy_(v)


__all__ = ["GPTConfig", "LayerNorm", "layer_norm_naive", "gelu_tanh_naive", "MLP", "Block", "GPT",
           "default_attention", "POSITION_KINDS"]
