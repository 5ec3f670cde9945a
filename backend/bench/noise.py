"""How busy the machine was with other work while a comparison measured: the noise behind its figures.

For each measured reply, the CPU time the whole machine spent (psutil.cpu_times: user, nice, system,
interrupts, and time a hypervisor stole) minus what the engine used for that reply (its own CPU
counter, TurnStats.cpu_s) and what Tern's own process used, over the reply's wall time: the cores
other programs kept busy. Decode on a laptop shares cores and memory bandwidth with them, so a
single sample taken while they ran can be far off — the comparison says so beside its headline.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import psutil

from backend import units
from backend.engine.hardware import cpu_seconds_self
from backend.engine.protocol import TurnStats

BUSY_FIELDS = ("user", "nice", "system", "irq", "softirq", "steal")
QUIET_CORES = 0.25  # less than a quarter of a core of other work: a quiet machine


def busy_and_steal_seconds() -> tuple[float, float]:
    """CPU seconds all cores have spent busy since boot (steal included: the VM wanted them), and of them
    stolen by the hypervisor: one reading of the counters."""
    t = psutil.cpu_times()
    return sum(float(getattr(t, name, 0.0)) for name in BUSY_FIELDS), float(getattr(t, "steal", 0.0))


@dataclass
class Load:
    other_cores: float  # average cores other programs kept busy during the measured replies
    steal_cores: float  # of which a hypervisor took (a VM's noisy neighbours)
    cores: int  # logical cores of the machine
    replies: int  # measured replies it covers

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Load | None:
        if not d:
            return None
        try:
            return cls(float(d["other_cores"]), float(d.get("steal_cores", 0.0)), int(d["cores"]), int(d["replies"]))
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def quiet(self) -> bool:
        return self.other_cores < QUIET_CORES

    def describe(self) -> str:
        """ "other programs kept 0.8 of 2 cores busy meanwhile (0.1 taken by the hypervisor)"."""
        steal = f" ({self.steal_cores:.1f} taken by the hypervisor)" if self.steal_cores >= 0.05 else ""
        return (f"other programs kept {self.other_cores:.1f} of {units.count(self.cores, 'core')} busy "
                f"meanwhile{steal}")


class LoadMeter:
    """Call `begin()` just before a measured reply and `end(stats)` just after it."""

    def __init__(self) -> None:
        self._busy = self._own = self._steal = self._t = 0.0
        self.other_s = 0.0
        self.steal_s = 0.0
        self.wall_s = 0.0
        self.replies = 0

    def begin(self) -> None:
        self._t = time.monotonic()
        self._busy, self._steal = busy_and_steal_seconds()
        self._own = cpu_seconds_self()

    def end(self, stats: TurnStats) -> None:
        wall = time.monotonic() - self._t
        if self._t == 0.0 or wall <= 0:
            return
        busy, steal = busy_and_steal_seconds()
        own = cpu_seconds_self() - self._own
        self.other_s += max(0.0, busy - self._busy - own - max(0.0, stats.cpu_s))
        self.steal_s += max(0.0, steal - self._steal)
        self.wall_s += wall
        self.replies += 1
        self._t = 0.0

    def load(self) -> Load | None:
        if not self.replies or self.wall_s <= 0:
            return None
        return Load(self.other_s / self.wall_s, self.steal_s / self.wall_s, psutil.cpu_count() or 1, self.replies)
