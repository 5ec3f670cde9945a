"""Metrics benchmark: what watching the engine costs its decode speed, and the sampler's own CPU."""

from __future__ import annotations

import time

from backend.engine import Done, EngineClient
from backend.engine.hardware import physical_cores
from backend.metrics import Sampler
from tests.bench.conftest import iqr, median, report

PROMPT = [{"role": "user", "content": "Write a long story about a heron that learns to count in threes."}]
TOKENS = 64
PAIRS = 16


def decode(engine: EngineClient) -> float:
    done = None
    for ev in engine.generate(
        PROMPT, {"max_tokens": TOKENS, "temperature": 0, "ignore_eos": True, "reuse_cache": False}
    ):
        if isinstance(ev, Done):
            done = ev
    assert done is not None and done.stats.decode_tps
    return done.stats.decode_tps


def test_sampler_overhead_on_decode_speed(synthetic_models) -> None:
    """Decode tok/s with the sampler at 10 Hz watching the engine vs no sampler, interleaved A B B A."""
    path = synthetic_models("demo", "tq2_0")["tq2_0"]
    threads = physical_cores()
    on: list[float] = []
    off: list[float] = []
    sampler_cpu = sampler_wall = 0.0
    ticks = 0
    power = "—"
    with EngineClient("bench-metrics") as engine:
        engine.load(path, n_ctx=2048, n_threads=threads)
        decode(engine)  # warm-up

        def with_sampler() -> float:
            nonlocal sampler_cpu, sampler_wall, ticks, power
            sampler = Sampler(hz=10.0).start()  # the app's sampler: this OS's power probe included
            sampler.wait_probed()
            sampler.watch(engine.pid)
            t0, c0 = time.monotonic(), sampler.sampler_cpu_s
            try:
                tps = decode(engine)
            finally:
                sampler_wall += time.monotonic() - t0
                sampler_cpu += sampler.sampler_cpu_s - c0
                ticks += len(sampler.snapshot(3600).samples)
                power = sampler.power_state().badge
                sampler.stop()
            return tps

        for i in range(PAIRS):
            order = (with_sampler, None) if i % 2 == 0 else (None, with_sampler)
            for run in order:
                if run is None:
                    off.append(decode(engine))
                else:
                    on.append(run())
    ratios = [a / b for a, b in zip(on, off, strict=True)]
    report(
        f"Sampler overhead — demo shape TQ2_0, {threads} threads, {TOKENS} tokens, {PAIRS} pairs (ABBA)",
        [
            ("", "median tok/s", "IQR"),
            ("sampler at 10 Hz watching the engine", f"{median(on):.2f}", "{:.2f}–{:.2f}".format(*iqr(on))),
            ("no sampler", f"{median(off):.2f}", "{:.2f}–{:.2f}".format(*iqr(off))),
            ("ratio on/off (median of pairs)", f"{median(ratios):.3f}", "target ≥ 0.99"),
            ("ratio range over pairs", f"{min(ratios):.3f}–{max(ratios):.3f}", ""),
            (
                "sampler thread CPU",
                f"{100 * sampler_cpu / sampler_wall:.2f} % of one core",
                f"{1e6 * sampler_cpu / max(ticks, 1):.0f} µs per sample",
            ),
            ("power source while sampling", power, ""),
            (
                "bound from the sampler's CPU alone",
                f"≥ {1 - sampler_cpu / sampler_wall:.4f}",
                "if every sampler cycle stalled all engine threads",
            ),
        ],
    )
    assert all(r > 0 for r in ratios) and ticks > 0
