"""How busy other programs kept the machine during a measured reply, and how a comparison's source line says so."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from backend.bench.noise import Load, LoadMeter
from backend.bench.results import BENCH, COMPARE, BenchConfig, RunResult
from backend.bench.summary import source_line
from backend.engine.protocol import TurnStats

# Burns a given amount of its own CPU time (not wall time: on a loaded machine a wall-clock burn may get
# only a sliver of a core, which is the very noise this meter exists to report).
BURN = "import time\nwhile time.process_time() < {s}: pass\n"


def stats(cpu_s: float) -> TurnStats:
    return TurnStats(1, 0, 1, 1.0, 1.0, 1.0, 1.0, 1.0, 1, 1, cpu_s, "length")


def test_a_busy_program_shows_up_as_other_load_and_the_engines_own_cpu_does_not() -> None:
    counted, excluded = LoadMeter(), LoadMeter()
    counted.begin()
    excluded.begin()
    child = subprocess.Popen([sys.executable, "-c", BURN.format(s=0.6)])
    proc = psutil.Process(child.pid)
    cpu = 0.0
    while child.poll() is None:  # the child's CPU, read while it still exists
        try:
            t = proc.cpu_times()
            cpu = t.user + t.system
        except psutil.Error:
            break
        time.sleep(0.05)
    counted.end(stats(0.0))  # the busy child as "another program"
    excluded.end(stats(cpu))  # the busy child as the engine: its CPU is not noise
    a, b = counted.load(), excluded.load()
    assert a is not None and b is not None and a.replies == 1
    assert cpu > 0.3 and a.other_cores >= 0.8 * cpu / counted.wall_s  # it burned CPU, counted as other load
    assert a.other_cores - b.other_cores >= 0.8 * cpu / counted.wall_s  # the engine's own CPU is taken out


def test_source_line_names_the_run_its_samples_context_and_noise() -> None:
    one = RunResult(COMPARE, BenchConfig(kind=COMPARE, runs=1, threads=2, n_ctx=2048), id=12, status="complete")
    one.summary = {"sides": {"ternary": {"ok": 1}, "f16": {"ok": 1}},
                   "load": Load(0.8, 0.0, 2, 2).to_dict()}
    text = source_line(one)
    assert text.startswith("Comparison #12 · one sample per side · 2,048-token context · 2 threads — a single sample")
    assert "other programs kept 0.8 of 2 cores busy meanwhile" in text
    many = RunResult(BENCH, BenchConfig(runs=5, threads=1), id=13, status="complete")
    many.fingerprint = {"models": {"ternary": {"n_ctx": 512}}}
    many.summary = {"sides": {"ternary": {"ok": 5}, "f16": {"ok": 4}}, "load": Load(0.1, 0.0, 2, 9).to_dict()}
    assert source_line(many) == "Benchmark #13 · medians of 4 samples per side · 512-token context · 1 thread"
    many.summary["load"] = Load(1.2, 0.3, 2, 9).to_dict()
    assert source_line(many).endswith("— other programs kept 1.2 of 2 cores busy meanwhile (0.3 taken by the "
                                      "hypervisor)")
