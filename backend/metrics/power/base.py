"""The one small interface every power source implements, and what a source says about itself.

A source is either a *counter* (`read()` returns cumulative joules that only go up, like RAPL's
energy counter once unwrapped) or *instantaneous* (`read()` returns watts now, like a battery's
discharge rate). Energy over a window is then a difference of counter values or a trapezoid
integral of watts (`backend.metrics.energy`). A source that cannot give a figure raises
`SourceUnavailable` with a reason a person can read — never returns 0.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["counter", "instant"]


class SourceUnavailable(Exception):
    """This source gives no figure here (or now). `reason` says why; `hint` says what would fix it."""

    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


@dataclass(frozen=True)
class SourceInfo:
    """What a power figure is: shown verbatim on the badge and in its one-click explanation."""

    key: str  # short id: "rapl", "hwmon", "amdgpu", "battery", "ioreport", "smc", "emi", "estimate", …
    kind: Kind
    measured: bool  # False only for the CPU-time estimate
    covers: str  # what the figure covers: "CPU package", "whole laptop", "SoC (CPU+GPU+ANE+DRAM)"
    method: str  # how it is obtained: "RAPL", "battery, ~5 s average", "IOReport"
    resolution_s: float  # how often the underlying figure changes; windows shorter than 2× are too short
    explanation: str  # a paragraph for a skeptic: what is counted, what is not, how to check it
    badge_text: str = ""  # overrides the default badge (the estimate says "not a measurement")
    per_process: bool = False  # the figure follows the watched engine process (the estimate)
    details: tuple[str, ...] = field(default=())  # e.g. the zones or channels summed

    @property
    def badge(self) -> str:
        if self.badge_text:
            return self.badge_text
        return f"{'Measured' if self.measured else 'Estimated'} · {self.covers} ({self.method})"


class PowerSource(ABC):
    """One way of reading power on this machine."""

    info: SourceInfo

    @abstractmethod
    def read(self) -> float:
        """Cumulative joules (counter) or watts now (instant); raises SourceUnavailable."""

    def close(self) -> None:
        """Release OS handles (IOReport subscription, device handle); reading after close is an error."""
        return None
