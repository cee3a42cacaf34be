"""Sentence embeddings by mean pooling (Reimers & Gurevych 2019, "Sentence-BERT", sec. 3).

A sentence's vector is the mean of its tokens' last hidden states, padding left out:

    u = sum_t m_t h_t / sum_t m_t,    m_t = 1 on real tokens ([CLS] and [SEP] included), 0 on padding

then, for cosine similarity by dot product, u / ||u||_2. Reimers & Gurevych found the
mean better than the [CLS] vector, and BERT's raw [CLS] or mean embeddings (without
their siamese fine-tuning) worse than averaged GloVe vectors (Table 1).

Dimension letters: B batch, T time (tokens), C channels, N sentences.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["mean_pool", "mean_pool_naive", "embed"]


def mean_pool_naive(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Row by row: average the first (unpadded) tokens of each sequence. (B, T, C) -> (B, C).

    >>> h = torch.tensor([[[1.0], [3.0], [100.0]]])          # (B=1, T=3, C=1), last one padding
    >>> mean_pool_naive(h, torch.tensor([[1, 1, 0]]))
    tensor([[2.]])
    """
    rows = []
    for b in range(hidden.size(0)):
        keep = attention_mask[b].bool()  # (T,)
        rows.append(hidden[b][keep].mean(dim=0))  # (T_b, C) -> (C,)
    return torch.stack(rows)  # (B, C)


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The same as one masked sum: (B, T, C), (B, T) -> (B, C).

    The count is clamped at 1e-9 as in sentence-transformers, so an all-padding row
    gives zeros rather than NaN."""
    if hidden.dim() != 3 or attention_mask.shape != hidden.shape[:2]:
        raise ValueError(
            f"mean_pool expects hidden (B, T, C) and attention_mask (B, T); got "
            f"{tuple(hidden.shape)} and {tuple(attention_mask.shape)}."
        )
    m = attention_mask.to(hidden.dtype).unsqueeze(-1)  # (B, T, 1)
    return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)  # (B, C)


@torch.inference_mode()
def embed(texts: list[str], model=None, tokenizer=None, *, batch_size: int = 64, max_length: int = 256,
          normalize: bool = True, progress: bool = True) -> torch.Tensor:
    """Sentence embeddings (N, C) float32 on the CPU, in the order of ``texts``.

    Texts are sorted by length (longest first) and batched, so each batch pads to a
    similar length and little compute goes to padding; the vectors are put back in input
    order at the end. ``model``/``tokenizer`` default to all-MiniLM-L6-v2 (C = 384),
    loaded once per process; the model runs on whatever device its weights are on.

    >>> v = embed(["A cat sat.", "A dog ran."], progress=False)   # doctest: +SKIP
    >>> v.shape, float(v[0] @ v[1])                               # doctest: +SKIP
    (torch.Size([2, 384]), 0.3...)
    """
    if isinstance(texts, str):
        raise TypeError("embed expects a list of texts; for one text pass [text].")
    texts = list(texts)
    if not all(isinstance(t, str) for t in texts):
        bad = next(type(t).__name__ for t in texts if not isinstance(t, str))
        raise TypeError(f"embed expects a list of str, found a {bad}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    if model is None or tokenizer is None:
        from groundup.bert.loading import load_minilm

        default_model, default_tok = load_minilm()
        model = default_model if model is None else model
        tokenizer = default_tok if tokenizer is None else tokenizer
    device = next(model.parameters()).device
    C = model.config.n_embd
    if not texts:
        return torch.zeros(0, C)
    # Tokenize once, then order by token count (sentence-transformers sorts by characters).
    encoded = [tokenizer.encode(t, truncation=True, max_length=max_length)["input_ids"] for t in texts]
    order = sorted(range(len(texts)), key=lambda i: -len(encoded[i]))
    out = torch.empty(len(texts), C)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(texts), desc="embedding", unit="text")
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        T = len(encoded[idx[0]])  # longest first: the first one sets the batch's length
        ids = torch.full((len(idx), T), tokenizer.pad_id, dtype=torch.long)  # (B, T)
        mask = torch.zeros(len(idx), T, dtype=torch.long)  # (B, T)
        for row, i in enumerate(idx):
            ids[row, :len(encoded[i])] = torch.tensor(encoded[i])
            mask[row, :len(encoded[i])] = 1
        ids, mask = ids.to(device), mask.to(device)
        hidden = model(ids, mask)  # (B, T, C)
        v = mean_pool(hidden, mask)  # (B, C)
        if normalize:
            v = F.normalize(v, p=2, dim=1)  # (B, C), unit length
        out[idx] = v.float().cpu()
        if bar is not None:
            bar.update(len(idx))
    if bar is not None:
        bar.close()
    return out
