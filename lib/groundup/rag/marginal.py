"""RAG's marginal likelihood: the retrieved passage as a latent variable (Lewis et al. 2020, sec. 2.1).

The retriever gives a distribution over the top-K passages z, p_eta(z|x) ∝ exp(score(z, x)),
and the generator a distribution over the answer y given the input and one passage,
p_theta(y | x, z). RAG treats z as latent and marginalises it out, in one of two ways:

RAG-Sequence (one passage for the whole answer)::

    p(y|x) ≈ Σ_{z ∈ top-K} p_eta(z|x) Π_i p_theta(y_i | x, z, y_{1:i-1})

RAG-Token (a passage per token: the mixture is taken again at every position)::

    p(y|x) ≈ Π_i Σ_{z ∈ top-K} p_eta(z|x) p_theta(y_i | x, z, y_{1:i-1})

Both are computed here from the same table of per-token log-probabilities (K, N), in log
space (``logsumexp``), beside a brute-force version that multiplies probabilities in float64;
a test checks that they agree. With one-token answers the two are the same number; they part
when an answer has several tokens, and RAG-Token can then build an answer that no single
passage states (the first word from one passage, the second from another).

Dimension letters: K passages, N answer tokens, V vocabulary.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from groundup.rag.prompt import build_prompt
from groundup.rag.reader import Reader, _pad, greedy_answers, token_logprobs

__all__ = ["passage_log_posterior", "rag_sequence_logprob", "rag_token_logprob",
           "rag_sequence_naive", "rag_token_naive", "passage_token_logprobs",
           "rag_sequence_answer", "rag_token_answer"]


def passage_log_posterior(scores: Tensor, temperature: float = 1.0) -> Tensor:
    """log p_eta(z|x) over the top-K: a softmax of the retriever's scores, (K,) -> (K,).

    Lewis et al. use exp(d(z)^T q(x)) (the dense retriever's inner product); any
    retriever's scores work, ``temperature`` sets how peaked the posterior is."""
    scores = torch.as_tensor(scores, dtype=torch.float64)
    if scores.dim() != 1 or scores.numel() == 0:
        raise ValueError(f"scores must be a non-empty (K,) vector, got shape {tuple(scores.shape)}: "
                         "with no passage retrieved there is nothing to marginalise over.")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}.")
    return F.log_softmax(scores / temperature, dim=0)  # (K,)


def _check(log_pz: Tensor, tok_logp: Tensor) -> None:
    if tok_logp.dim() != 2 or log_pz.dim() != 1 or tok_logp.size(0) != log_pz.size(0):
        raise ValueError(f"need log p(z|x) of shape (K,) and token log-probs of shape (K, N), got "
                         f"{tuple(log_pz.shape)} and {tuple(tok_logp.shape)}.")


def rag_sequence_logprob(log_pz: Tensor, tok_logp: Tensor) -> Tensor:
    """log Σ_z p(z|x) Π_i p(y_i|x,z,y_<i): (K,), (K, N) -> scalar."""
    _check(log_pz, tok_logp)
    return torch.logsumexp(log_pz + tok_logp.sum(dim=1), dim=0)  # (K,) -> ()


def rag_token_logprob(log_pz: Tensor, tok_logp: Tensor) -> Tensor:
    """Σ_i log Σ_z p(z|x) p(y_i|x,z,y_<i): (K,), (K, N) -> scalar."""
    _check(log_pz, tok_logp)
    # (K, N) -> (N,) -> ()
    return torch.logsumexp(log_pz[:, None] + tok_logp, dim=0).sum()


def rag_sequence_naive(pz: Sequence[float], tok_p: Sequence[Sequence[float]]) -> float:
    """The RAG-Sequence sum written out, in probabilities (float64): for checking."""
    total = 0.0
    for z in range(len(pz)):
        p_y = 1.0
        for p in tok_p[z]:
            p_y *= float(p)
        total += float(pz[z]) * p_y
    return total


def rag_token_naive(pz: Sequence[float], tok_p: Sequence[Sequence[float]]) -> float:
    """The RAG-Token product of mixtures written out, in probabilities (float64)."""
    n = len(tok_p[0]) if len(tok_p) else 0
    total = 1.0
    for i in range(n):
        total *= sum(float(pz[z]) * float(tok_p[z][i]) for z in range(len(pz)))
    return total


# ----------------------------------------------------------------------------- with the reader
def passage_token_logprobs(reader: Reader, question: str, passages: Sequence[str], answer: str) -> Tensor:
    """log p_theta(y_i | x, z, y_<i) for each passage z on its own in the prompt: (K, N)."""
    if not passages:
        raise ValueError("no passages: RAG marginalises over retrieved passages, so it needs at least one.")
    prompts = [build_prompt(question, [z]) for z in passages]
    return token_logprobs(reader, prompts, [answer] * len(passages)).double()  # (K, N)


def rag_sequence_answer(reader: Reader, question: str, passages: Sequence[str], scores: Tensor,
                        candidates: Sequence[str] = (), temperature: float = 1.0) -> tuple[str, dict[str, float]]:
    """RAG-Sequence decoding ("thorough decoding", Lewis et al. sec. 2.4): each passage's own
    greedy answer (plus ``candidates``) is a hypothesis; score every hypothesis under every
    passage and keep the one with the highest marginal p(y|x). Returns it and all scores."""
    log_pz = passage_log_posterior(scores, temperature)
    hyps = [h.split(" [")[0] for h in greedy_answers(reader, [build_prompt(question, [z]) for z in passages])]
    hyps = list(dict.fromkeys([h for h in hyps if h] + list(candidates)))
    marg = {h: float(rag_sequence_logprob(log_pz, passage_token_logprobs(reader, question, passages, h)).exp())
            for h in hyps}
    return max(marg, key=marg.get), marg


@torch.no_grad()
def rag_token_answer(reader: Reader, question: str, passages: Sequence[str], scores: Tensor,
                     max_new_tokens: int = 4, temperature: float = 1.0) -> str:
    """RAG-Token greedy decoding: at each step the next-token distribution is the mixture
    Σ_z p(z|x) p(w | x, z, y_<i) over the passages; stop at ``<eos>`` or a citation mark."""
    tok, model = reader.tokenizer, reader.model
    log_pz = passage_log_posterior(scores, temperature).float()  # (K,)
    rows = [tok.encode(build_prompt(question, [z])) for z in passages]
    out: list[int] = []
    for _ in range(max_new_tokens):
        x, lengths = _pad([r + out for r in rows], tok.pad_id)  # (K, T), right-padded
        logits = model(x)[0][torch.arange(len(rows)), lengths - 1]  # (K, V) each row's last position
        logp = F.log_softmax(logits.float(), dim=-1)  # (K, V)
        mix = torch.logsumexp(log_pz[:, None] + logp, dim=0)  # (V,)
        nxt = int(mix.argmax())
        if nxt == tok.eos_id or tok.itos[nxt].startswith("["):
            break
        out.append(nxt)
    return tok.decode(out)
