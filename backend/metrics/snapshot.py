"""The immutable figures the sampler publishes: one `Sample` per tick, a `Snapshot` for readers.

The GUI (or a benchmark) asks the sampler for a snapshot and reads it at leisure: nothing in
here changes after it is made, so no locking is needed by readers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    t_ns: int  # time.time_ns() — the same clock as TurnStats.t_*_ns
    pid: int | None  # the engine process read, None when none is watched or it is gone
    rss: int | None  # bytes
    peak_rss: int | None  # the OS's high-water mark for the process, bytes (None where the OS has none)
    cpu_s: float | None  # the process's user+system CPU seconds since it started
    power: float | None  # cumulative J (counter source) or W (instant source); None: see note
    epoch: int  # power source generation: values of different epochs are not comparable
    note: str = ""  # why power is None


@dataclass(frozen=True)
class PowerState:
    """What the power figure is right now, for the badge and its explanation."""

    available: bool
    badge: str  # "Measured · CPU package (RAPL)", "Estimated · CPU time × 15 W TDP — not a measurement", …
    key: str = ""  # source key, "" when there is none
    kind: str = ""  # "counter" | "instant"
    measured: bool = False
    covers: str = ""
    method: str = ""
    reason: str = ""  # why no figure (when not available)
    explanation: str = ""  # the full one-click explanation, with passed-over sources and their fixes
    notices: tuple[str, ...] = ()  # e.g. a source demoted because it froze while the CPU was busy
    hints: tuple[str, ...] = ()  # what an admin/user could do to get a better source


@dataclass(frozen=True)
class Snapshot:
    t_ns: int
    hz: float
    pid: int | None
    rss: int | None
    peak_rss: int | None
    peak_kind: str  # "os" (the OS's own high-water mark) or "sampled" (highest sample seen) or ""
    cpu_cores: float | None  # cores the engine kept busy over the last second
    n_cpus: int
    watts: float | None  # power over about the last second (gross)
    power_note: str  # why watts is None
    power: PowerState
    samples: tuple[Sample, ...]  # the last `window_s` seconds, oldest first
    sampler_cpu_s: float = 0.0  # CPU time the sampler thread itself has used

    def rss_series(self) -> list[tuple[int, float]]:
        return [(s.t_ns, float(s.rss)) for s in self.samples if s.rss is not None]

    def cpu_series(self, span_s: float = 0.5) -> list[tuple[int, float]]:
        """Cores busy per sample, each over the previous ~span_s (same process)."""
        return _rate_series(self.samples, lambda s: s.cpu_s, lambda s: s.pid, span_s)

    def watts_series(self, span_s: float = 0.5) -> list[tuple[int, float]]:
        if self.power.kind == "instant":
            return [(s.t_ns, s.power) for s in self.samples if s.power is not None]
        return _rate_series(self.samples, lambda s: s.power, lambda s: s.epoch, span_s)


def _rate_series(samples, value, group, span_s: float) -> list[tuple[int, float]]:  # type: ignore[no-untyped-def]
    out: list[tuple[int, float]] = []
    j = 0
    span = int(span_s * 1e9)
    for i, s in enumerate(samples):
        v = value(s)
        if v is None:
            continue
        while j < i and samples[j].t_ns < s.t_ns - span:
            j += 1
        k = j if j < i else i - 1
        if k < 0:
            continue
        a = samples[k]
        av = value(a)
        if av is None or group(a) != group(s) or s.t_ns <= a.t_ns:
            continue
        out.append((s.t_ns, (v - av) / ((s.t_ns - a.t_ns) / 1e9)))
    return out
