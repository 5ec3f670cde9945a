"""Probing sources in order (read twice, finite, non-decreasing), the estimate, and demotion of a
frozen source."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from backend.metrics import Sampler
from backend.metrics.power.base import PowerSource, SourceInfo, SourceUnavailable
from backend.metrics.power.estimate import CpuTimeEstimate
from backend.metrics.power.probe import ProbeContext, probe


class Scripted(PowerSource):
    """A source that returns the given values in turn (then repeats the last)."""

    def __init__(self, key: str, values: list[float], kind: str = "counter") -> None:
        self.values = list(values)
        self.closed = False
        self.info = SourceInfo(key, kind, True, "test part", key, 0.01, f"{key} explanation")  # type: ignore[arg-type]

    def read(self) -> float:
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]

    def close(self) -> None:
        self.closed = True


class Counting(PowerSource):
    """A counter that keeps rising with wall time (like a healthy RAPL)."""

    info = SourceInfo("live", "counter", True, "test part", "live", 0.01, "live explanation")

    def read(self) -> float:
        return time.monotonic() * 7.0


def cands(*sources: PowerSource) -> list:
    return [(s.info.key, (lambda c, s=s: s)) for s in sources]


def test_first_source_that_reads_sanely_twice_wins_and_the_rest_stay_as_fallbacks() -> None:
    nan, backwards = Scripted("nan", [1.0, float("nan")]), Scripted("backwards", [5.0, 4.0])
    negative = Scripted("negative", [-3.0], kind="instant")
    good, later = Scripted("good", [1.0, 1.5]), Scripted("later", [0.0, 1.0])
    choice = probe(cands(nan, backwards, negative, good, later), ProbeContext(), pause_s=0)
    assert choice.source is good
    assert [r.name for r in choice.rejected] == ["nan", "backwards", "negative"]
    assert "not a number" in choice.rejected[0].reason
    assert "went backwards" in choice.rejected[1].reason
    assert "negative" in choice.rejected[2].reason
    assert nan.closed and backwards.closed and not good.closed
    assert [name for name, _ in choice.remaining] == ["later"]


def test_a_reader_that_crashes_is_passed_over_with_its_error() -> None:
    def broken(ctx):
        raise KeyError("zone")

    choice = probe([("broken", broken), *cands(Scripted("good", [1.0, 2.0]))], ProbeContext(), pause_s=0)
    assert choice.source.info.key == "good"
    assert "KeyError" in choice.rejected[0].reason


def test_estimate_needs_a_tdp_entry_or_the_users_figure() -> None:
    with pytest.raises(SourceUnavailable) as e:
        CpuTimeEstimate(lambda: (1, 0.0), "AMD EPYC")
    assert "TDP table" in e.value.reason and "watts per core" in e.value.hint
    table = CpuTimeEstimate(lambda: (1, 0.0), "Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz")
    assert table.info.badge == "Estimated · CPU time × 15 W TDP — not a measurement"
    assert not table.info.measured and "3.75 W per core" in table.info.explanation
    mine = CpuTimeEstimate(lambda: (1, 0.0), "AMD EPYC", user_watts_per_core=4.5)
    assert "4.5 W/core (your figure)" in mine.info.badge and "not a measurement" in mine.info.badge


def test_estimate_counts_engine_cpu_seconds_times_watts_per_core() -> None:
    engine = {"pid": 10, "cpu": 100.0}
    est = CpuTimeEstimate(lambda: (engine["pid"], engine["cpu"]), "x", user_watts_per_core=4.0)
    assert est.read() == 0.0
    engine["cpu"] = 102.5
    assert est.read() == pytest.approx(10.0)
    engine.update(pid=11, cpu=0.3)  # a new engine process: its CPU time so far is not this window's
    assert est.read() == pytest.approx(10.0)
    engine["cpu"] = 1.3
    assert est.read() == pytest.approx(14.0)
    engine["pid"] = None
    with pytest.raises(SourceUnavailable, match="no engine is running"):
        est.read()


class Frozen(PowerSource):
    info = SourceInfo("frozen", "counter", True, "CPU package", "RAPL", 0.01, "frozen explanation")

    def read(self) -> float:
        return 123.0  # passes the read-twice probe (not decreasing) but never moves


@pytest.fixture()
def spinner():
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    yield proc
    proc.kill()
    proc.wait()


def test_a_source_that_freezes_while_the_engine_is_busy_is_demoted_with_a_notice(spinner) -> None:
    sampler = Sampler(hz=20, power=cands(Frozen(), Counting()), cpu_name="test", freeze_s=0.6, busy_cores=0.2)
    with sampler:
        assert sampler.wait_probed()
        assert sampler.power_state().key == "frozen"
        sampler.watch(spinner.pid)
        deadline = time.monotonic() + 8
        while sampler.power_state().key != "live" and time.monotonic() < deadline:
            time.sleep(0.05)
        state = sampler.power_state()
    assert state.key == "live"
    assert len(state.notices) == 1
    assert "Measured · CPU package (RAPL) stopped changing" in state.notices[0]
    assert "cores busy" in state.notices[0] and "now uses" in state.notices[0]
    assert state.notices[0] in state.explanation


def test_a_frozen_source_is_not_demoted_while_the_engine_is_idle() -> None:
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        sampler = Sampler(
            hz=20, power=cands(Frozen(), Counting()), cpu_name="test", freeze_s=0.3, busy_cores=0.2
        )
        with sampler:
            sampler.wait_probed()
            sampler.watch(idle.pid)
            time.sleep(1.2)
            assert sampler.power_state().key == "frozen" and not sampler.power_state().notices
    finally:
        idle.kill()
        idle.wait()


def test_a_bad_sampling_rate_setting_is_clamped_not_fatal() -> None:
    assert Sampler(hz=0, power=None, cpu_name="t").hz == 0.5
    assert Sampler(hz=1e6, power=None, cpu_name="t").hz == 100.0
