"""Medians with spread (IQR) for benchmark figures.

Quartiles use linear interpolation between closest ranks (numpy's default, Python's
`statistics.quantiles(method="inclusive")`), so a set of one value has IQR 0 and the figures
never depend on how many values fall on either side of a gap. Missing figures (None: "not
measured") are left out and counted, never treated as zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Summary:
    n: int  # values that were measured
    median: float | None
    q1: float | None
    q3: float | None
    min: float | None
    max: float | None
    missing: int = 0  # samples without this figure (e.g. J/token with no power source)

    @property
    def iqr(self) -> float | None:
        return None if self.q1 is None or self.q3 is None else self.q3 - self.q1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Summary:
        return cls(**{k: d.get(k) for k in ("n", "median", "q1", "q3", "min", "max")}, missing=d.get("missing", 0))


def quantile(sorted_values: list[float], q: float) -> float:
    """The q-quantile (0 ≤ q ≤ 1) of values already sorted, by linear interpolation."""
    if not sorted_values:
        raise ValueError("no values")
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    frac = pos - lo
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac


def summarize(values: Iterable[float | None]) -> Summary:
    present: list[float] = []
    missing = 0
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            missing += 1
        else:
            present.append(float(v))
    if not present:
        return Summary(0, None, None, None, None, None, missing)
    s = sorted(present)
    return Summary(len(s), quantile(s, 0.5), quantile(s, 0.25), quantile(s, 0.75), s[0], s[-1], missing)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is unknown or the denominator is not positive."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator
