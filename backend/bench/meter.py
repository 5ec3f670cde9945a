"""The energy meter a comparison uses: the metrics sampler (`backend.metrics`) behind `energy.EnergyMeter`.

The sampler watches the engine that is generating, measures idle power before each measured
reply (blocking a few seconds) and integrates its power source over the reply's own engine
timestamps. Where no power source can be read, the label says why and every J/token is "—".
"""

from __future__ import annotations

import time

from backend.bench.energy import EnergyFigure, PowerLabel
from backend.engine.protocol import TurnStats
from backend.metrics import Baseline, Sampler, TurnEnergy


class MetricsMeter:
    def __init__(self, sampler: Sampler, own: bool = False) -> None:
        self.sampler = sampler
        self.own = own  # stop the sampler on close()
        self._base: Baseline | None = None

    @classmethod
    def start(cls, hz: float = 10.0, watts_per_core: float = 0.0) -> MetricsMeter:
        sampler = Sampler(hz=hz, watts_per_core=watts_per_core).start()
        sampler.wait_probed()
        return cls(sampler, own=True)

    def label(self) -> PowerLabel:
        return power_label(self.sampler)

    def _watch(self, pid: int) -> None:
        follow(self.sampler, pid)

    def idle_baseline(self, pid: int) -> None:
        self._watch(pid)
        self._base = self.sampler.measure_idle() if self.label().available else None

    def begin(self, pid: int) -> None:
        self._watch(pid)

    def end(self, stats: TurnStats) -> EnergyFigure:
        te = self.sampler.turn_energy(stats, self._base)
        self._base = None
        return figure(te, self.label())

    def live_watts(self) -> float | None:
        return self.sampler.snapshot(2.0).watts

    def close(self) -> None:
        if self.own:
            self.sampler.stop()


def figure(te: TurnEnergy, label: PowerLabel) -> EnergyFigure:
    """The comparison's view of a reply's energy: decode J per token, with the reason when it is missing."""
    decode = te.decode
    if te.status != "ok":
        reason = te.reason
    elif decode.status != "ok":
        reason = f"decode: {decode.reason}"
    else:
        reason = ""
    return EnergyFigure(
        j_per_token=decode.per_token if decode.status == "ok" else None,
        joules=te.joules, prefill_j=te.prefill.joules, decode_j=decode.joules, avg_watts=te.avg_watts,
        baseline_watts=te.baseline_watts, status=decode.status if te.status == "ok" else te.status,
        baseline_note=te.baseline_note, label=label.to_dict(), reason=reason,
    )


def default_meter(hz: float = 10.0, watts_per_core: float = 0.0) -> MetricsMeter:
    """A meter on a new sampler (its own thread); close() it when the comparison is over."""
    return MetricsMeter.start(hz, watts_per_core)


def power_label(sampler: Sampler) -> PowerLabel:
    """What the sampler's power figures are (measured, estimated or unavailable, and why)."""
    sampler.wait_probed()  # at most a few seconds, once: the source is chosen at start
    st = sampler.power_state()
    if not st.available:
        return PowerLabel("none", "", "unavailable", st.reason or "no power source can be read here", st.badge)
    return PowerLabel(st.key, st.covers, "measured" if st.measured else "estimated", "", st.badge)


def follow(sampler: Sampler, pid: int | None, timeout: float = 2.0) -> None:
    """Make the sampler watch engine `pid`, and wait for its first reading of it (an estimate needs one)."""
    if pid and sampler.pid != pid:
        sampler.watch(pid)
        sampler.wait_for(time.time_ns() + int(1.5e9 / sampler.hz), timeout=timeout)
