"""Energy over windows: counters and trapezoids, too-short runs, gaps, idle baseline, sampling rate."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.metrics.energy import TOO_SHORT, Baseline, Point, integrate, turn_energy

S = 1_000_000_000


def counter_points(watts: float, seconds: float, hz: float, e0: float = 0.0) -> list[Point]:
    n = int(seconds * hz) + 1
    return [Point(int(k / hz * S), e0 + watts * k / hz) for k in range(n)]


def test_counter_difference_interpolates_the_window_ends() -> None:
    pts = counter_points(10.0, 10, 10)
    e = integrate(pts, "counter", int(2.05 * S), int(7.05 * S))
    assert e.status == "ok" and e.joules == pytest.approx(50.0) and e.watts == pytest.approx(10.0)


def test_instantaneous_watts_integrate_with_trapezoids() -> None:
    # a ramp 0 → 20 W over 10 s: trapezoids on the samples are exact for a linear curve
    pts = [Point(k * S // 2, 2.0 * k / 2) for k in range(21)]
    e = integrate(pts, "instant", 1 * S, 9 * S)
    assert e.joules == pytest.approx((2 + 18) / 2 * 8)


def test_too_short_is_said_not_guessed() -> None:
    pts = counter_points(10.0, 10, 10)
    e = integrate(pts, "counter", 1 * S, int(1.1 * S), min_seconds=0.2)
    assert e.status == "too_short" and e.joules is None
    assert e.reason.startswith(TOO_SHORT)


@pytest.mark.parametrize(
    ("pts", "reason"),
    [
        ([Point(5 * S, 0.0), Point(20 * S, 1.0)], "started after"),
        ([Point(0, 0.0), Point(S, 1.0)], "after the window ended"),
        ([Point(0, 0.0), Point(3 * S, None, note="battery BAT0: charging"), Point(12 * S, 5.0)], "charging"),
        ([Point(0, 0.0), Point(3 * S, 1.0, epoch=1), Point(12 * S, 5.0, epoch=1)], "source changed"),
        ([Point(0, 0.0), Point(S, 1.0), Point(11 * S, 5.0)], "stopped for 10.0 s"),
        ([Point(0, 5.0), Point(S, 6.0), Point(11 * S, 2.0)], "stopped for"),
    ],
)
def test_unavailable_windows_say_why(pts: list[Point], reason: str) -> None:
    e = integrate(pts, "counter", 2 * S, 10 * S)
    assert e.status == "unavailable" and e.joules is None and reason in e.reason


def test_counter_going_backwards_is_unavailable() -> None:
    pts = [Point(k * S, 10.0 - k) for k in range(5)]
    assert integrate(pts, "counter", S, 3 * S).status == "unavailable"


def turn(pts: list[Point], base: Baseline, *, t0=10.0, t1=11.0, t2=20.0, out=91, kind="counter", min_s=0.2):
    return turn_energy(
        pts,
        kind,
        t_start_ns=int(t0 * S),
        t_first_ns=int(t1 * S),
        t_end_ns=int(t2 * S),
        output_tokens=out,
        prefill_tokens=50,
        base=base,
        min_seconds=min_s,
        source="Measured · CPU package (RAPL)",
        covers="CPU package",
        measured=True,
    )


def profile_points(hz: float = 10.0) -> list[Point]:
    """Idle 5 W, then 25 W over 10–11 s (prefill) and 15 W over 11–20 s (decode), idle again."""

    def energy(t: float) -> float:
        return (
            5 * min(t, 10) + 25 * max(0, min(t, 11) - 10) + 15 * max(0, min(t, 20) - 11) + 5 * max(0, t - 20)
        )

    return [Point(int(k / hz * S), energy(k / hz)) for k in range(int(30 * hz) + 1)]


def test_turn_energy_subtracts_the_idle_baseline_and_splits_prefill_and_decode() -> None:
    e = turn(profile_points(), Baseline("ok", watts=5.0, seconds=3.0))
    assert e.status == "ok" and e.baseline_subtracted
    assert e.gross_joules == pytest.approx(25 + 135)
    assert e.joules == pytest.approx(160 - 50)
    assert e.j_per_token == pytest.approx(110 / 91)
    assert e.prefill.joules == pytest.approx(20) and e.prefill.per_token == pytest.approx(20 / 50)
    assert e.decode.joules == pytest.approx(90) and e.decode.per_token == pytest.approx(1.0)
    assert e.avg_watts == pytest.approx(16.0)
    assert "5.00 W" in e.baseline_note


def test_without_a_baseline_the_figure_says_idle_is_included() -> None:
    e = turn(profile_points(), Baseline.unavailable("the engine was busy"))
    assert e.joules == pytest.approx(160) and not e.baseline_subtracted
    assert "idle power included" in e.baseline_note and "busy" in e.baseline_note


def test_a_reply_indistinguishable_from_idle_is_not_given_a_figure() -> None:
    e = turn(profile_points(), Baseline("ok", watts=30.0, seconds=3.0))
    assert e.status == "unavailable" and e.j_per_token is None and "indistinguishable from idle" in e.reason


def test_short_prefill_on_a_coarse_source_is_too_short_while_decode_is_measured() -> None:
    e = turn(profile_points(), Baseline("ok", watts=5.0, seconds=3.0), min_s=2.0)
    assert e.prefill.status == "too_short" and e.prefill.joules is None
    assert e.decode.status == "ok" and e.status == "ok"


def test_no_token_means_no_split() -> None:
    e = turn(profile_points(), Baseline("ok", watts=5.0, seconds=3.0), t1=0, out=0)
    assert e.prefill.status == "unavailable" and e.decode.status == "unavailable"
    assert e.j_per_token is None and e.status == "unavailable"


# --- sampling rate does not change J/token from a counter -----------------------------------
@st.composite
def runs(draw):
    """A power profile flat around both window ends (within 1.2 s), arbitrary in between."""
    idle = draw(st.floats(1.0, 30.0))
    middle = draw(st.lists(st.tuples(st.floats(0.05, 4.0), st.floats(0.0, 60.0)), min_size=1, max_size=12))
    tail = draw(st.floats(1.0, 30.0))
    segments = [(3.0, idle)] + middle + [(3.0, tail)]
    t_mid_end = 3.0 + sum(d for d, _ in middle)
    t0 = 1.6 + draw(st.floats(0.0, 0.2))
    t1 = t_mid_end + 1.2 + draw(st.floats(0.0, 0.6))
    rates = draw(st.tuples(st.floats(1.0, 50.0), st.floats(1.0, 50.0)))
    phases = draw(st.tuples(st.floats(0.0, 0.999), st.floats(0.0, 0.999)))
    tokens = draw(st.integers(1, 2000))
    return segments, t0, t1, rates, phases, tokens


def true_energy(segments: list[tuple[float, float]], t: float) -> float:
    e, start = 0.0, 0.0
    for dur, watts in segments:
        e += watts * max(0.0, min(t, start + dur) - start)
        start += dur
    return e


@settings(max_examples=150, deadline=None)
@given(runs())
def test_j_per_token_from_a_counter_does_not_depend_on_the_sampling_rate(run) -> None:
    segments, t0, t1, rates, phases, tokens = run
    total = sum(d for d, _ in segments)
    results = []
    for hz, phase in zip(rates, phases, strict=True):
        # a RAPL-like counter: whole microjoules, read at `hz` starting at a random phase
        pts = [
            Point(int(t * S), math.floor(true_energy(segments, t) * 1e6) / 1e6)
            for t in (phase / hz + k / hz for k in range(int(total * hz) + 1))
        ]
        e = integrate(pts, "counter", int(t0 * S), int(t1 * S), min_seconds=2 / hz)
        assert e.status == "ok", e.reason
        results.append(e.joules / tokens)
    expected = (true_energy(segments, t1) - true_energy(segments, t0)) / tokens
    assert results[0] == pytest.approx(results[1], abs=5e-6 / tokens + 1e-12)
    assert results[0] == pytest.approx(expected, abs=5e-6 / tokens + 1e-9)
