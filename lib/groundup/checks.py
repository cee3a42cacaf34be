"""Feedback for the exercises' test cells: say what was expected, what was given, and why.

A bare ``AssertionError`` tells a learner nothing. Each check here raises an
``AssertionError`` whose message names the call, the expected and the actual value,
and, when given, the usual cause of that mistake:

>>> expect_equal(sorted([3, 1]), [1, 3], call="sorted([3, 1])")
>>> expect_equal(1 + 1, 3, call="1 + 1", hint="did you add?")
Traceback (most recent call last):
...
AssertionError: 1 + 1 returned 2, expected 3.
  Usual cause: did you add?
"""

from __future__ import annotations

from typing import Any


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + " ...)"


def fail(message: str, hint: str = "") -> None:
    """Raise the AssertionError a test cell shows, with an optional usual cause."""
    raise AssertionError(message + (f"\n  Usual cause: {hint}" if hint else ""))


def expect(condition: bool, message: str, hint: str = "") -> None:
    """Fail with ``message`` (and ``hint``) unless ``condition`` holds."""
    if not condition:
        fail(message, hint)


def expect_equal(got: Any, expected: Any, *, call: str, hint: str = "") -> None:
    """Fail unless ``got == expected``, naming the ``call`` that produced ``got``."""
    if got != expected:
        fail(f"{call} returned {_short(got)}, expected {_short(expected)}.", hint)


def expect_type(got: Any, expected_type: type | tuple[type, ...], *, call: str) -> None:
    """Fail unless ``got`` is an instance of ``expected_type``."""
    if not isinstance(got, expected_type):
        names = (expected_type.__name__ if isinstance(expected_type, type)
                 else " or ".join(t.__name__ for t in expected_type))
        fail(f"{call} returned a {type(got).__name__}, expected a {names}.",
             "a missing `return`, or returning the wrong variable.")


def expect_close(got: Any, expected: Any, *, call: str, atol: float = 1e-5,
                 rtol: float = 1e-5, hint: str = "") -> None:
    """Fail unless two tensors/arrays have the same shape and close values."""
    import torch

    got_t = torch.as_tensor(got)
    exp_t = torch.as_tensor(expected)
    if tuple(got_t.shape) != tuple(exp_t.shape):
        fail(f"{call} returned shape {tuple(got_t.shape)}, expected {tuple(exp_t.shape)}.",
             hint or "a reshape/transpose over the wrong axes, or a reduction over the wrong dim.")
    got_f, exp_f = got_t.double(), exp_t.double()
    bad = ~torch.isfinite(got_f) & torch.isfinite(exp_f)
    if bad.any():
        where = tuple(int(i) for i in torch.nonzero(bad)[0])
        fail(f"{call} returned {got_f[where].item()} at index {where}, where the reference is finite "
             f"({exp_f[where].item():.4g}).",
             hint or "an overflow (exp of a large number?) or a division by zero.")
    if not torch.allclose(got_f, exp_f, atol=atol, rtol=rtol, equal_nan=False):
        diff = (got_f - exp_f).abs()
        where = tuple(int(i) for i in torch.nonzero(diff == diff.max())[0]) if diff.numel() else ()
        fail(f"{call} differs from the reference: max abs difference {diff.max().item():.3g} "
             f"at index {where} (tolerance atol={atol}, rtol={rtol}).", hint)
