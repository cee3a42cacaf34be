"""How far did fine-tuning move a layer's representations? Linear CKA (Kornblith et al. 2019).

Show the same n inputs to two networks (here: a model before and after fine-tuning) and
collect one layer's activations from each, X (n, p1) and Y (n, p2). Centered Kernel
Alignment compares the two n x n similarity structures, not the neurons one by one, so it
does not care which neuron holds which feature. With linear kernels K = X X^T and
L = Y Y^T, and the centring matrix H = I - (1/n) 1 1^T (sec. 3, eq. 3):

    HSIC(K, L) = tr(K H L H) / (n - 1)^2
    CKA(K, L)  = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))

For linear kernels this equals, with X and Y column-centred (eq. 5 / sec. 3's "linear CKA"),

    CKA(X, Y) = ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F)

which costs O(n p^2) instead of O(n^2 p) and never forms an n x n matrix. CKA is 1 for
identical representations, and stays 1 under an orthogonal transform or an isotropic scaling
of either side (a rotated copy of a representation is the same representation), but not
under an arbitrary invertible linear map.

Dimension letters: n examples (tokens), p features (C for a GPT's residual stream).
"""
from __future__ import annotations

import torch
import torch.nn as nn


def _check(X: torch.Tensor, Y: torch.Tensor) -> None:
    if X.dim() != 2 or Y.dim() != 2:
        raise ValueError(f"CKA compares two (n, features) matrices, got shapes {tuple(X.shape)} and "
                         f"{tuple(Y.shape)}. Flatten (B, T, C) activations to (B*T, C) first.")
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"X and Y must hold the same n examples in the same order, got {X.shape[0]} and "
                         f"{Y.shape[0]} rows.")
    if X.shape[0] < 2:
        raise ValueError(f"CKA needs at least 2 examples, got {X.shape[0]}.")


def hsic(K: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    """The biased HSIC estimator of two (n, n) kernel matrices: tr(K H L H) / (n - 1)^2."""
    n = K.shape[0]
    H = torch.eye(n, dtype=K.dtype, device=K.device) - 1.0 / n  # (n, n) centring matrix
    return torch.trace(K @ H @ L @ H) / (n - 1) ** 2


def linear_cka_naive(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """CKA through HSIC of the Gram matrices K = X X^T and L = Y Y^T, as in eq. 3 (O(n^2 p))."""
    _check(X, Y)
    X, Y = X.double(), Y.double()
    K, L = X @ X.T, Y @ Y.T  # (n, n) each
    return hsic(K, L) / torch.sqrt(hsic(K, K) * hsic(L, L))


def linear_cka(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """Linear CKA in feature space: ||Y^T X||_F^2 / (||X^T X||_F ||Y^T
    Y||_F), columns centred.

    >>> X = torch.randn(100, 8, dtype=torch.float64)
    >>> Q = torch.linalg.qr(torch.randn(8, 8, dtype=torch.float64))[0]  # a rotation
    >>> round(linear_cka(X, 3 * X).item(), 6), round(linear_cka(X, X @ Q).item(), 6)
    (1.0, 1.0)
    """
    _check(X, Y)
    X = X.double() - X.double().mean(dim=0, keepdim=True)  # (n, p1) centred columns
    Y = Y.double() - Y.double().mean(dim=0, keepdim=True)  # (n, p2)
    cross = torch.linalg.matrix_norm(Y.T @ X) ** 2  # (p2, p1) -> scalar
    return cross / (
        torch.linalg.matrix_norm(X.T @ X) * torch.linalg.matrix_norm(Y.T @ Y)
    )


@torch.no_grad()
def residual_stream(model: nn.Module, idx: torch.Tensor) -> list[torch.Tensor]:
    """The residual stream of a ``groundup.gpt.GPT`` on tokens ``idx`` (B, T), flattened to
    (B*T, C): [after the embeddings, after block 1, ..., after block n_layer]."""
    blocks = model.transformer.h
    acts: list[torch.Tensor] = []
    hooks = [blocks[0].register_forward_pre_hook(lambda m, args: acts.append(args[0].detach()))]
    hooks += [b.register_forward_hook(lambda m, args, out: acts.append(out.detach())) for b in blocks]
    was_training = model.training
    model.eval()
    try:
        model(idx)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return [a.reshape(-1, a.shape[-1]).float() for a in acts]  # each (B*T, C)


def layer_cka(model_a: nn.Module, model_b: nn.Module, idx: torch.Tensor) -> list[float]:
    """Linear CKA between two GPTs' residual streams, layer by layer, on the same tokens."""
    acts_a, acts_b = residual_stream(model_a, idx), residual_stream(model_b, idx)
    if len(acts_a) != len(acts_b):
        raise ValueError(f"the models have {len(acts_a) - 1} and {len(acts_b) - 1} blocks; compare the same architecture.")
    return [linear_cka(x, y).item() for x, y in zip(acts_a, acts_b)]


__all__ = ["hsic", "linear_cka_naive", "linear_cka", "residual_stream", "layer_cka"]
