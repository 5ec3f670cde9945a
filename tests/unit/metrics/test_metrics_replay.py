"""Recorded traces replayed through the real readers and the sampler give the expected J/token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.metrics import Sampler
from backend.metrics.energy import TOO_SHORT
from backend.metrics.power.rapl import RaplSource
from backend.metrics.power.replay import ReplaySource, Trace

FIX = Path(__file__).parent / "fixtures"
T0 = 1_700_000_000 * 10**9  # wall-clock origin of the replay (time_ns)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def stats(reply: dict) -> dict:
    return {
        "t_start_ns": T0 + int(reply["t_start"] * 1e9),
        "t_first_ns": T0 + int(reply["t_first"] * 1e9),
        "t_end_ns": T0 + int(reply["t_end"] * 1e9),
        "output_tokens": reply["output_tokens"],
        "prompt_tokens": reply["prompt_tokens"],
        "prompt_cached": reply["prompt_cached"],
    }


def test_rapl_recording_with_a_wrap_gives_the_expected_j_per_token(fakesys) -> None:
    rec = json.loads((FIX / "rapl_package_trace.json").read_text())
    fakesys.rapl_zone("intel-rapl:0", "package-0", rec["points"][0][1], max_uj=rec["max_energy_range_uj"])
    clock = Clock()
    sampler = Sampler(hz=10, power=RaplSource(fakesys.root / "powercap"), clock=clock, cpu_name="test")
    for t, uj in rec["points"]:
        fakesys.energy("intel-rapl:0", uj)
        clock.now = T0 + int(t * 1e9)
        sampler.sample_once()
    e = sampler.turn_energy(stats(rec["reply"]))
    want = rec["expected"]
    assert e.status == "ok", e.reason
    assert e.source == "Measured · CPU package (RAPL)"
    assert e.baseline_subtracted and e.baseline_watts == pytest.approx(want["baseline_watts"], rel=0.01)
    assert e.gross_joules == pytest.approx(want["gross_joules"], rel=0.01)
    assert e.joules == pytest.approx(want["joules"], rel=0.01)
    assert e.j_per_token == pytest.approx(want["j_per_token"], rel=0.01)
    assert e.prefill.joules == pytest.approx(want["prefill_joules"], rel=0.02)
    assert e.decode.joules == pytest.approx(want["decode_joules"], rel=0.02)
    assert e.decode.per_token == pytest.approx(want["decode_j_per_token"], rel=0.02)


def test_battery_recording_integrates_trapezoids_and_knows_what_is_too_short() -> None:
    rec = json.loads((FIX / "battery_trace.json").read_text())
    trace = Trace(
        rec["kind"],
        tuple((t, w) for t, w in rec["points"]),
        rec["covers"],
        rec["method"],
        rec["resolution_s"],
    )
    clock = Clock()
    sampler = Sampler(hz=10, power=ReplaySource(trace, clock=clock, t0_ns=T0), clock=clock, cpu_name="test")
    for t, _ in rec["points"]:
        clock.now = T0 + int(t * 1e9)
        sampler.sample_once()
    e = sampler.turn_energy(stats(rec["reply"]))
    want = rec["expected"]
    assert e.status == "ok", e.reason
    assert e.baseline_watts == pytest.approx(want["baseline_watts"])
    assert e.gross_joules == pytest.approx(want["gross_joules"], rel=1e-3)
    assert e.j_per_token == pytest.approx(want["j_per_token"], rel=1e-3)
    # a battery refreshes every 5 s: a 1 s prompt and a 9.5 s decode are too short for it
    assert e.prefill.status == "too_short" and e.prefill.reason.startswith(TOO_SHORT)
    assert e.decode.status == "too_short"
    short = dict(stats(rec["reply"]), t_end_ns=T0 + int(18.0 * 1e9))
    assert sampler.turn_energy(short).reason.startswith(TOO_SHORT)


def test_a_battery_that_starts_charging_mid_reply_makes_the_reply_unavailable(fakesys) -> None:
    from backend.metrics.power.battery_linux import LinuxBatterySource

    fakesys.battery(power_now=10_000_000)
    clock = Clock()
    sampler = Sampler(
        hz=10, power=LinuxBatterySource(fakesys.root / "power_supply"), clock=clock, cpu_name="t"
    )
    for k in range(400):
        if k == 250:
            fakesys.battery(status="Charging", power_now=25_000_000)
        clock.now = T0 + k * 100_000_000
        sampler.sample_once()
    e = sampler.turn_energy(
        {
            "t_start_ns": T0 + 15 * 10**9,
            "t_first_ns": T0 + 16 * 10**9,
            "t_end_ns": T0 + 35 * 10**9,
            "output_tokens": 100,
            "prompt_tokens": 10,
        }
    )
    assert e.status == "unavailable" and "unplug to measure" in e.reason
    assert sampler.snapshot().watts is None and "unplug" in sampler.snapshot().power_note
