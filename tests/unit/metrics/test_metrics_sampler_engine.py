"""The sampler watching a real engine child (llama.cpp on the tiny synthetic model)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from backend.engine import Done, EngineClient
from backend.metrics import Sampler
from backend.metrics.power.estimate import CpuTimeEstimate


def generate(engine: EngineClient, n: int) -> Done:
    done = None
    for ev in engine.generate(
        prompt="Once upon a time", params={"max_tokens": n, "ignore_eos": True, "temperature": 0.0, "seed": 3}
    ):
        if isinstance(ev, Done):
            done = ev
    assert done is not None
    return done


def test_peak_rss_matches_the_engines_own_getrusage_peak(engine: EngineClient, tiny: Path) -> None:
    engine.load(tiny, n_ctx=512, n_threads=1)
    with Sampler(hz=10, power=None, cpu_name="test") as sampler:
        sampler.watch(engine.pid)
        stats = generate(engine, 64).stats
        assert sampler.wait_for(stats.t_end_ns + 100_000_000, timeout=3)
        snap = sampler.snapshot()
    assert snap.pid == engine.pid and snap.peak_kind == "os"
    assert snap.peak_rss == pytest.approx(stats.peak_rss, rel=0.05)
    assert snap.rss == pytest.approx(stats.rss, rel=0.05)
    sampled = max(s.rss for s in snap.samples if s.rss is not None)  # the fallback where the OS keeps no peak
    assert sampled == pytest.approx(stats.peak_rss, rel=0.05)


def test_where_the_os_keeps_no_peak_the_sampled_peak_still_matches(engine: EngineClient, tiny: Path) -> None:
    """As on macOS: no high-water mark another process can read, so the readout keeps the highest sample."""
    engine.load(tiny, n_ctx=512, n_threads=1)
    with Sampler(hz=20, power=None, cpu_name="test") as sampler:
        sampler.watch(engine.pid)
        sampler._reader._status = None  # no VmHWM: the reader reports no OS peak, like macOS
        stats = generate(engine, 64).stats
        assert sampler.wait_for(stats.t_end_ns + 100_000_000, timeout=3)
        snap = sampler.snapshot()
    assert snap.peak_kind == "sampled" and all(s.peak_rss is None for s in snap.samples)
    assert snap.peak_rss == pytest.approx(stats.peak_rss, rel=0.05)


def test_estimate_from_the_engines_cpu_time_matches_its_own_cpu_seconds(
    engine: EngineClient, long_tiny: Path
) -> None:
    from tests.conftest import LONG_CTX

    engine.load(long_tiny, n_ctx=LONG_CTX, n_threads=2)
    watts = 10.0
    sampler = Sampler(
        hz=50, power=[("estimate", lambda c: CpuTimeEstimate(c.engine_cpu, "test", watts))], cpu_name="test"
    )
    with sampler:
        sampler.watch(engine.pid)
        assert sampler.wait_probed()
        assert sampler.wait_for(time.time_ns() + 20_000_000)  # the estimate has a reading before the reply
        # A reply of about 1.5 s whatever the machine's speed: long enough for the estimate to measure.
        threading.Timer(1.5, engine.cancel).start()
        stats = generate(engine, 10_000_000).stats
        energy = sampler.turn_energy(stats)
        snap = sampler.snapshot()
    assert energy.source.startswith("Estimated · CPU time × 10 W/core") and not energy.measured
    assert energy.status in ("ok", "unavailable"), (
        energy.reason
    )  # unavailable only if indistinguishable from idle
    assert energy.gross_joules == pytest.approx(stats.cpu_s * watts, rel=0.1, abs=0.3)
    if energy.status == "ok":
        assert energy.j_per_token == pytest.approx(energy.joules / stats.output_tokens)
    busy = [c for _, c in snap.cpu_series() if c > 0.2]
    assert busy, "the snapshot's CPU series should show the engine working"


def test_a_closed_engine_reads_as_gone_not_zero(tiny: Path) -> None:
    client = EngineClient("gone")
    client.start()
    pid = client.pid
    with Sampler(hz=20, power=None, cpu_name="test") as sampler:
        sampler.watch(pid)
        time.sleep(0.2)
        assert sampler.snapshot().rss
        client.close()
        time.sleep(0.3)
        snap = sampler.snapshot()
    assert snap.rss is None and snap.peak_rss is None and snap.cpu_cores is None
