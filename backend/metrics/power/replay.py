"""A power source that replays a recorded trace, on a clock the caller controls.

Traces are JSON: {"kind": "counter"|"instant", "covers": …, "method": …, "resolution_s": …,
"points": [[t_seconds, value], …]} with values in joules (counter) or watts (instant). Reading
at time t returns the last recorded value at or before t — what a real reader would have seen.
Used by tests to put recordings through the sampler and energy code, and to show a power
figure on a machine without a power meter when someone wants to see the readouts move.
"""

from __future__ import annotations

import bisect
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from backend.metrics.power.base import PowerSource, SourceInfo, SourceUnavailable


@dataclass(frozen=True)
class Trace:
    kind: str
    points: tuple[tuple[float, float | None], ...]
    covers: str = "recorded trace"
    method: str = "replay"
    resolution_s: float = 0.01

    @classmethod
    def load(cls, path: Path) -> Trace:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(
            d["kind"],
            tuple((float(t), None if v is None else float(v)) for t, v in d["points"]),
            d.get("covers", "recorded trace"),
            d.get("method", "replay"),
            float(d.get("resolution_s", 0.01)),
        )


class ReplaySource(PowerSource):
    def __init__(
        self, trace: Trace, clock: Callable[[], int] = time.time_ns, t0_ns: int | None = None
    ) -> None:
        if trace.kind not in ("counter", "instant"):
            raise ValueError(f"trace kind must be counter or instant, not {trace.kind!r}")
        self.trace = trace
        self.clock = clock
        self.t0_ns = clock() if t0_ns is None else t0_ns  # trace time 0 is this wall-clock instant
        self._times = [t for t, _ in trace.points]
        self.info = SourceInfo(
            key="replay",
            kind=trace.kind,
            measured=True,
            covers=trace.covers,
            method=trace.method,  # type: ignore[arg-type]
            resolution_s=trace.resolution_s,
            badge_text=f"Replayed · {trace.covers} ({trace.method}) — a recording, not this machine",
            explanation="A recorded power trace played back for testing and demonstration; it does not "
            "measure this computer.",
        )

    def read(self) -> float:
        t = (self.clock() - self.t0_ns) / 1e9
        i = bisect.bisect_right(self._times, t) - 1
        if i < 0:
            raise SourceUnavailable("the recording has not started yet")
        value = self.trace.points[i][1]
        if value is None:
            raise SourceUnavailable("the recording has no reading here")
        return value
