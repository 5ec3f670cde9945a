"""What the comparison needs from a power source: an idle baseline and the energy of one reply.

The runner measures through an `EnergyMeter`. When no power source can be read, `NoEnergy`
says why, and every J/token figure is None (shown as "—" with that reason), never a guess.
`backend.bench.meter` adapts the metrics sampler (`backend.metrics`) to this interface.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from backend.engine.protocol import TurnStats


@dataclass(frozen=True)
class PowerLabel:
    """Which power source a figure comes from, what it covers and how it is obtained."""

    source: str  # e.g. "RAPL", "battery", "none"
    covers: str  # e.g. "CPU package", "whole laptop"
    method: str  # "measured" | "estimated" | "unavailable"
    reason: str = ""  # why a figure is unavailable
    badge: str = ""  # the metrics badge, e.g. "Measured · CPU package (RAPL)"

    @property
    def available(self) -> bool:
        return self.method in ("measured", "estimated")

    def describe(self) -> str:
        if not self.available:
            return f"no power reading: {self.reason}" if self.reason else "no power reading"
        return self.badge or f"{self.source} ({self.covers}, {self.method})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PowerLabel:
        return cls(str(d.get("source", "none")), str(d.get("covers", "")), str(d.get("method", "unavailable")),
                   str(d.get("reason", "")), str(d.get("badge", "")))


@dataclass
class EnergyFigure:
    """Energy of one reply, above the idle baseline; None fields were not measured (see `reason`).

    J/token is the decode part's joules per output token after the first: prefill is counted
    apart (`prefill_j`), so prompts of different lengths do not blur the per-token figure.
    """

    j_per_token: float | None = None  # decode joules per output token
    joules: float | None = None  # whole reply, above idle
    prefill_j: float | None = None
    decode_j: float | None = None
    avg_watts: float | None = None  # average power during the reply (not above idle)
    baseline_watts: float | None = None
    status: str = "unavailable"  # "ok" | "too_short" | "unavailable"
    baseline_note: str = ""
    label: dict[str, Any] = field(default_factory=dict)  # PowerLabel.to_dict()
    reason: str = ""  # why j_per_token is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EnergyFigure:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})


class EnergyMeter(Protocol):
    def label(self) -> PowerLabel: ...

    def idle_baseline(self, pid: int) -> None:
        """Measure idle power now (engine `pid` loaded, nothing generating), before a measured reply."""

    def begin(self, pid: int) -> None:
        """A measured reply is about to start in engine process `pid`."""

    def end(self, stats: TurnStats) -> EnergyFigure:
        """The reply ended; its energy over the engine's own timestamps."""

    def live_watts(self) -> float | None:
        """Power over about the last second, for the live readout (None: no reading)."""

    def close(self) -> None: ...


class NoEnergy:
    """The meter used when no power source can be read: every figure says why it is missing."""

    def __init__(self, reason: str = "no power source can be read on this machine") -> None:
        self._label = PowerLabel("none", "", "unavailable", reason)

    def label(self) -> PowerLabel:
        return self._label

    def idle_baseline(self, pid: int) -> None:
        pass

    def begin(self, pid: int) -> None:
        pass

    def end(self, stats: TurnStats) -> EnergyFigure:
        return EnergyFigure(label=self._label.to_dict(), reason=self._label.reason)

    def live_watts(self) -> float | None:
        return None

    def close(self) -> None:
        pass
