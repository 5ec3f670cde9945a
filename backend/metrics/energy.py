"""Energy over a window from power samples: counter differences or trapezoids, minus idle.

Pure functions over recorded points, so the same code serves the live sampler, replayed traces
and tests. A counter's energy over [t0, t1] is E(t1) − E(t0), each end interpolated linearly
between the samples around it — it telescopes, so it does not depend on how often we sampled.
An instantaneous source (watts) is integrated with trapezoids over the same interpolation.
A window shorter than twice the source's update interval (or the sampling interval) is "too
short to measure"; a window with a gap, a change of source or a missing reading is
"unavailable" with the reason. Nothing here ever returns 0 for "unknown".
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["ok", "too_short", "unavailable"]
TOO_SHORT = "run too short to measure"


@dataclass(frozen=True)
class Point:
    t_ns: int
    value: float | None  # cumulative J (counter) or W (instant); None: no reading (see note)
    epoch: int = 0  # changes when the power source changes: values of different epochs don't mix
    note: str = ""


@dataclass(frozen=True)
class Energy:
    """Energy of one window, gross (idle included)."""

    status: Status
    reason: str = ""
    joules: float | None = None
    seconds: float = 0.0

    @property
    def watts(self) -> float | None:
        return self.joules / self.seconds if self.joules is not None and self.seconds > 0 else None


@dataclass(frozen=True)
class Baseline:
    """Idle power measured over a window when the engine was not working."""

    status: Status
    reason: str = ""
    watts: float | None = None
    seconds: float = 0.0
    t0_ns: int = 0
    t1_ns: int = 0

    @classmethod
    def unavailable(cls, reason: str) -> Baseline:
        return cls("unavailable", reason)


def _interp(a: Point, b: Point, t: int) -> float:
    assert a.value is not None and b.value is not None
    if b.t_ns == a.t_ns:
        return b.value
    return a.value + (b.value - a.value) * (t - a.t_ns) / (b.t_ns - a.t_ns)


def integrate(
    points: Sequence[Point],
    kind: str,
    t0_ns: int,
    t1_ns: int,
    min_seconds: float = 0.0,
    max_gap_s: float = 2.0,
) -> Energy:
    """Gross energy over [t0, t1] from time-ordered points."""
    seconds = (t1_ns - t0_ns) / 1e9
    if t1_ns <= t0_ns:
        return Energy("unavailable", "the window is empty", seconds=max(seconds, 0.0))
    if seconds < min_seconds:
        return Energy(
            "too_short",
            f"{TOO_SHORT}: {seconds:.2f} s is under the {min_seconds:.1f} s this power source needs",
            seconds=seconds,
        )
    times = [p.t_ns for p in points]
    i0 = bisect.bisect_right(times, t0_ns) - 1
    i1 = bisect.bisect_left(times, t1_ns)
    if i0 < 0:
        return Energy("unavailable", "power sampling started after the window began", seconds=seconds)
    if i1 >= len(points):
        return Energy("unavailable", "no power reading after the window ended yet", seconds=seconds)
    seg = points[i0 : i1 + 1]
    missing = next((p for p in seg if p.value is None), None)
    if missing is not None:
        return Energy(
            "unavailable", missing.note or "a power reading was missing during the window", seconds=seconds
        )
    if len({p.epoch for p in seg}) > 1:
        return Energy("unavailable", "the power source changed during the window", seconds=seconds)
    gap = max((b.t_ns - a.t_ns) / 1e9 for a, b in zip(seg, seg[1:], strict=False)) if len(seg) > 1 else 0.0
    if gap > max_gap_s:
        return Energy(
            "unavailable", f"power readings stopped for {gap:.1f} s during the window", seconds=seconds
        )
    if kind == "counter":
        e0 = _interp(seg[0], seg[1], t0_ns) if len(seg) > 1 else seg[0].value
        e1 = _interp(seg[-2], seg[-1], t1_ns) if len(seg) > 1 else seg[-1].value
        assert e0 is not None and e1 is not None
        joules = e1 - e0
        if joules < 0:
            return Energy(
                "unavailable", "the energy counter went backwards during the window", seconds=seconds
            )
        return Energy("ok", "", joules, seconds)
    # instantaneous watts: trapezoids over the piecewise-linear curve clipped to [t0, t1]
    xs: list[int] = [t0_ns]
    ys: list[float] = [_interp(seg[0], seg[1], t0_ns)]
    for p in seg[1:-1]:
        xs.append(p.t_ns)
        ys.append(p.value)  # type: ignore[arg-type]
    xs.append(t1_ns)
    ys.append(_interp(seg[-2], seg[-1], t1_ns))
    joules = sum((xs[k + 1] - xs[k]) / 1e9 * (ys[k] + ys[k + 1]) / 2 for k in range(len(xs) - 1))
    return Energy("ok", "", joules, seconds)


def baseline(
    points: Sequence[Point], kind: str, t0_ns: int, t1_ns: int, min_seconds: float = 0.0
) -> Baseline:
    e = integrate(points, kind, t0_ns, t1_ns, min_seconds)
    if e.status != "ok":
        return Baseline(e.status, f"idle baseline: {e.reason}", seconds=e.seconds, t0_ns=t0_ns, t1_ns=t1_ns)
    return Baseline("ok", "", e.watts, e.seconds, t0_ns, t1_ns)


@dataclass(frozen=True)
class Part:
    """One part of a reply (prefill or decode), net of the idle baseline when there is one."""

    status: Status
    reason: str = ""
    joules: float | None = None
    gross_joules: float | None = None
    seconds: float = 0.0
    per_token: float | None = None
    tokens: int = 0


@dataclass(frozen=True)
class TurnEnergy:
    """The energy of one reply, as the chat readout and the comparison show it."""

    source: str  # the badge, e.g. "Measured · CPU package (RAPL)"
    covers: str
    measured: bool
    status: Status
    reason: str = ""
    joules: float | None = None  # whole reply, above idle when baseline_subtracted
    gross_joules: float | None = None
    seconds: float = 0.0
    avg_watts: float | None = None  # gross average power during the reply
    j_per_token: float | None = None  # joules / output tokens
    output_tokens: int = 0
    baseline_watts: float | None = None
    baseline_subtracted: bool = False
    baseline_note: str = ""
    prefill: Part = field(default_factory=lambda: Part("unavailable"))
    decode: Part = field(default_factory=lambda: Part("unavailable"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _net(e: Energy, base: Baseline, tokens: int, noun: str) -> Part:
    if e.status != "ok" or e.joules is None:
        return Part(e.status, e.reason, seconds=e.seconds, tokens=tokens)
    net = e.joules
    if base.status == "ok" and base.watts is not None:
        net = e.joules - base.watts * e.seconds
        if net <= 0:
            return Part(
                "unavailable",
                f"the {noun}'s power was indistinguishable from idle "
                f"({e.watts:.2f} W against {base.watts:.2f} W idle)",
                gross_joules=e.joules,
                seconds=e.seconds,
                tokens=tokens,
            )
    return Part("ok", "", net, e.joules, e.seconds, net / tokens if tokens > 0 else None, tokens)


def turn_energy(
    points: Sequence[Point],
    kind: str,
    *,
    t_start_ns: int,
    t_first_ns: int,
    t_end_ns: int,
    output_tokens: int,
    prefill_tokens: int,
    base: Baseline,
    min_seconds: float,
    source: str,
    covers: str,
    measured: bool,
) -> TurnEnergy:
    """J total, J/output-token and the prefill/decode split of one reply (engine timestamps, time_ns)."""
    total = integrate(points, kind, t_start_ns, t_end_ns, min_seconds)
    whole = _net(total, base, output_tokens, "reply")
    has_first = t_first_ns and t_start_ns <= t_first_ns <= t_end_ns
    prefill = (
        _net(integrate(points, kind, t_start_ns, t_first_ns, min_seconds), base, prefill_tokens, "prompt")
        if has_first
        else Part("unavailable", "no token was generated")
    )
    decode = (
        _net(
            integrate(points, kind, t_first_ns, t_end_ns, min_seconds),
            base,
            max(output_tokens - 1, 0),
            "decoding",
        )
        if has_first
        else Part("unavailable", "no token was generated")
    )
    subtracted = base.status == "ok"
    note = (
        f"idle baseline {base.watts:.2f} W over {base.seconds:.1f} s subtracted"
        if subtracted
        else f"idle power included (no idle baseline: {base.reason or 'not measured'})"
    )
    if whole.status == "ok" and output_tokens <= 0:
        whole = Part(
            "unavailable", "the reply has no output tokens", whole.joules, whole.gross_joules, whole.seconds
        )
    return TurnEnergy(
        source=source,
        covers=covers,
        measured=measured,
        status=whole.status,
        reason=whole.reason,
        joules=whole.joules,
        gross_joules=total.joules,
        seconds=total.seconds,
        avg_watts=total.watts,
        j_per_token=whole.per_token if whole.status == "ok" else None,
        output_tokens=output_tokens,
        baseline_watts=base.watts if subtracted else None,
        baseline_subtracted=subtracted,
        baseline_note=note,
        prefill=prefill,
        decode=decode,
    )
