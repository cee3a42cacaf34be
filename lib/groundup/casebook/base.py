"""What every case of the casebook returns: a measured before and after.

A case is a failure a user meets in production, reproduced on the course's own
components: the **symptom** (what the user sees), the **measurement** that locates it,
the **root cause** in a component built earlier in the course, the **fix**, and the
**verification**: the same measurement before and after the fix. ``CaseResult`` holds
that measurement; each case family's module returns one per case, and the page, the
tests and the command line (``python -m groundup.casebook CASE``) all print the same one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CaseResult", "SIZES", "check_size"]

SIZES = ("tiny", "small", "full")  # tiny: the unit tests (seconds); small: the page; full: the command line


def check_size(size: str) -> str:
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, got {size!r}: 'tiny' for tests, 'small' for the "
                         "book page, 'full' for the command line.")
    return size


@dataclass
class CaseResult:
    """One case, measured: the metric before the fix and after
    it, on the same inputs."""

    case: str  # the case's name, e.g. "kv-cache"
    metric: str  # what was measured, e.g. "p99 ms per token"
    before: float  # the metric with the fault in place
    after: float  # the metric with the fix
    # direction of the metric (recall: True; latency, cost: False)
    higher_is_better: bool
    cause: str = ""  # the root cause, in one line
    fix: str = ""  # the fix, in one line
    # everything else measured (curves, per-group numbers)
    details: dict = field(default_factory=dict)

    @property
    def improved(self) -> bool:
        """Did the fix move the metric the right way?"""
        return (
            self.after > self.before
            if self.higher_is_better
            else self.after < self.before
        )

    @property
    def factor(self) -> float:
        """after / before for a higher-is-better metric, before / after
        otherwise (> 1: better)."""
        num, den = (
            (self.after, self.before)
            if self.higher_is_better
            else (self.before, self.after)
        )
        return num / den if den else float("inf")

    def summary(self) -> str:
        arrow = "better" if self.improved else "NOT better"
        return (
            f"{self.case}: {self.metric} {self.before:.4g} -> {self.after:.4g} "
            f"({arrow}, x{self.factor:.2f})\n  cause: {self.cause}\n  fix:   {self.fix}"
        )
