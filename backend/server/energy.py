"""A served turn's energy, with the same power label the app's metrics and Compare show.

One metrics sampler (`backend.metrics.Sampler`) runs for the server and follows the engine that
is generating. A turn's energy is integrated over the engine's own timestamps (`TurnStats`) and
turned into the comparison's `EnergyFigure` (`backend.bench.meter.figure`): J per decode token,
joules, the label of the power source ("Measured · CPU package (RAPL)", "Estimated · … — not a
measurement"). When two models generate at once, a whole-package or whole-laptop reading cannot
be split between them, so neither turn gets a figure, and the reason says so. Nothing is ever a
guess presented as a reading: with no power source every figure is None, with the reason.
"""

from __future__ import annotations

import itertools
import logging
import threading
from typing import Any

from backend.bench.energy import EnergyFigure, PowerLabel
from backend.bench.meter import figure, follow, power_label

log = logging.getLogger("tern.server")
OVERLAP_REASON = "another model was generating at the same time, and the power reading cannot be split between them"


class ServerEnergy:
    def __init__(self, sampler: Any = None, off_reason: str = "power figures are turned off") -> None:
        self.sampler = sampler  # a started backend.metrics.Sampler, or None
        self.off_reason = off_reason
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._active: dict[int, int] = {}  # window → engine pid, for the turns generating now
        self._overlapped: dict[int, None] = {}  # windows that shared their time with another turn (recent ones)

    @classmethod
    def start(cls, hz: float = 10.0, watts_per_core: float = 0.0) -> ServerEnergy:
        from backend.metrics import Sampler

        return cls(Sampler(hz=hz, watts_per_core=watts_per_core).start())

    def label(self) -> PowerLabel:
        if self.sampler is None:
            return PowerLabel("none", "", "unavailable", self.off_reason)
        return power_label(self.sampler)

    def begin(self, pid: int | None) -> int:
        """A turn starts on engine `pid` (called on its lane's thread, just before it is sent)."""
        with self._lock:
            window = next(self._ids)
            alone = not self._active
            if not alone:
                self._overlapped.update(dict.fromkeys([window, *self._active]))
                while len(self._overlapped) > 256:
                    del self._overlapped[next(iter(self._overlapped))]
            self._active[window] = pid or 0
        if alone and self.sampler is not None:
            follow(self.sampler, pid, timeout=1.0)  # the estimate follows one process: the one generating now
        return window

    def end(self, window: int) -> None:
        with self._lock:
            self._active.pop(window, None)

    def figure(self, window: int | None, stats: Any) -> EnergyFigure:
        """The turn's energy (blocks ≤ about one sampling interval for the sample after its end)."""
        label = self.label()
        if not label.available or self.sampler is None:
            return EnergyFigure(label=label.to_dict(), reason=label.reason or self.off_reason)
        with self._lock:
            overlapped = window in self._overlapped
        if overlapped:
            return EnergyFigure(status="unavailable", label=label.to_dict(), reason=OVERLAP_REASON)
        try:
            return figure(self.sampler.turn_energy(stats), label)
        except Exception as e:  # noqa: BLE001 - a figure we cannot compute is "—" with the reason, never a crash
            log.warning("energy of a served turn failed: %s", e)
            return EnergyFigure(label=label.to_dict(), reason=f"the energy could not be computed ({e})")

    def close(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()
