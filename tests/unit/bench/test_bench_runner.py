"""The fair runner on the tiny synthetic pair, with real engine workers."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from app.context import AppContext
from backend.bench.engines import EnginePair, memory_plan
from backend.bench.history import BenchHistory
from backend.bench.pairing import F16, TERNARY, resolve_pair
from backend.bench.race import RaceRunner
from backend.bench.results import (
    CANCELLED,
    COMPARE,
    COMPLETE,
    FAILED,
    INCOMPLETE,
    OK,
    RACE,
    BenchConfig,
)
from backend.bench.runner import RunEvent, Runner
from backend.bench.schedule import MEASURED, WARMUP

FIGURES = ("ttft_ms", "prefill_tps", "decode_tps", "peak_rss")


def test_fair_compare_gives_both_replies_and_every_figure(tiny_models: dict[str, Path]) -> None:
    pair = resolve_pair(None, tiny_models["tq2_0"])
    events: list[RunEvent] = []
    cfg = BenchConfig(kind=COMPARE, runs=1, tokens=16, prompts=["Hello there"], stream=True, ignore_eos=True)
    history = BenchHistory(AppContext().store)
    run = Runner(pair, cfg, history=history, listener=events.append).run()
    assert run.status == COMPLETE and [s.side for s in run.samples] == [TERNARY, F16]
    for s in run.samples:
        assert s.status == OK and s.stats is not None and s.stats.output_tokens == 16
        assert len(s.text) > 0
        assert all(getattr(s.stats, k) > 0 for k in FIGURES)
        assert s.energy.j_per_token is None and s.energy.reason  # no power here: "—" with a reason
    streamed = {side: "".join(e.data for e in events if e.kind == "token" and e.side == side)
                for side in (TERNARY, F16)}
    assert streamed[TERNARY] == run.samples[0].text and streamed[F16] == run.samples[1].text
    assert any(e.kind == "live" and e.data["tokens"] >= 1 for e in events)
    ratios = run.summary["ratios"]
    assert ratios["decode"] > 0 and ratios["ram"] > 0 and ratios["file"] > 3  # TQ2_0 is several times smaller
    assert run.summary["headline"][-1] == "same weights" and "energy per token: —" in run.summary["headline"]
    stored = history.load(run.id)
    assert stored.status == COMPLETE and len(stored.samples) == 2
    assert stored.fingerprint["models"][TERNARY]["encoding"] == "TQ2_0"


def test_benchmark_warms_up_then_interleaves(tiny_models: dict[str, Path]) -> None:
    pair = resolve_pair(None, tiny_models["tq2_0"])
    runner = Runner(pair, BenchConfig(runs=3, tokens=8, prompts=["a", "b"]))
    run = runner.run()
    order = [(s.kind, s.side) for s in runner.executed]
    assert order[:2] == [(WARMUP, TERNARY), (WARMUP, F16)]
    assert order[2:] == [(MEASURED, TERNARY), (MEASURED, F16)] * 6
    assert [(s.iteration, s.prompt_index, s.side) for s in run.samples][:4] == [
        (0, 0, TERNARY), (0, 0, F16), (0, 1, TERNARY), (0, 1, F16)]
    assert all(s.stats.output_tokens == 8 and s.stats.prompt_cached == 0 for s in run.samples)  # fixed length, fresh KV
    sides = run.summary["sides"]
    assert sides[TERNARY]["ok"] == sides[F16]["ok"] == 6
    fig = sides[TERNARY]["figures"]["decode_tps"]
    assert fig["n"] == 6 and fig["q1"] <= fig["median"] <= fig["q3"]


def test_swap_mode_runs_in_blocks_and_says_so(tiny_models: dict[str, Path]) -> None:
    pair = resolve_pair(None, tiny_models["tq2_0"])
    plan = memory_plan(pair, 512, available_ram=8 * 1024**3)
    swapping = plan.__class__(False, plan.need_together, plan.need, plan.available, "one at a time (test)")
    events: list[RunEvent] = []
    engines = EnginePair(pair, 512, 1, swapping, on_swap=lambda t: events.append(RunEvent("swap", None, t)))
    try:
        runner = Runner(pair, BenchConfig(runs=2, tokens=4), engines=engines)
        run = runner.run()
    finally:
        engines.close()
    assert [(s.kind, s.side) for s in runner.executed] == [
        (WARMUP, TERNARY), (MEASURED, TERNARY), (MEASURED, TERNARY), (WARMUP, F16), (MEASURED, F16), (MEASURED, F16)]
    assert engines.swaps == 1 and any("unloading TQ2_0" in e.data for e in events)
    assert any("blocks" in n for n in run.summary["notes"]) and any("swapped 1" in n for n in run.summary["notes"])


def test_cancel_keeps_partial_results_marked_incomplete(tiny_models: dict[str, Path]) -> None:
    pair = resolve_pair(None, tiny_models["tq2_0"])
    history = BenchHistory(AppContext().store)
    holder: dict[str, Runner] = {}

    def on_event(ev: RunEvent) -> None:
        if ev.kind == "sample" and ev.side == F16 and ev.data.iteration == 1:
            holder["r"].cancel()

    runner = holder["r"] = Runner(pair, BenchConfig(runs=10, tokens=8), history=history, listener=on_event)
    run = runner.run()
    assert run.status == INCOMPLETE
    assert [s.status for s in run.samples] == [OK] * 4
    stored = history.load(run.id)
    assert stored.status == INCOMPLETE and len(stored.samples) == 4
    assert stored.summary["sides"][TERNARY]["ok"] == 2


def test_cancel_during_a_reply_marks_that_reply_cancelled(tiny_models: dict[str, Path]) -> None:
    pair = resolve_pair(None, tiny_models["tq2_0"])
    holder: dict[str, Runner] = {}

    def on_event(ev: RunEvent) -> None:
        if ev.kind == "token" and ev.side == F16:
            holder["r"].cancel()

    cfg = BenchConfig(runs=3, tokens=400, stream=True, n_ctx=1024)
    run = (holder.setdefault("r", Runner(pair, cfg, listener=on_event))).run()
    assert run.status == INCOMPLETE
    assert [s.status for s in run.samples] == [OK, CANCELLED]
    assert run.samples[1].stats.output_tokens < 400
    assert run.summary["sides"][F16]["ok"] == 0 and run.summary["sides"][F16]["cancelled"] == 1


def test_engine_crash_fails_that_run_and_keeps_the_others(tiny_models: dict[str, Path]) -> None:
    pair = resolve_pair(None, tiny_models["tq2_0"])
    killed: list[int] = []
    holder: dict[str, Runner] = {}

    def on_event(ev: RunEvent) -> None:
        r = holder["r"]
        if ev.kind == "token" and ev.side == F16 and not killed and len(r.executed) == 4:  # 2 warm-ups, A, B
            pid = r.engines.engines[F16].pid
            killed.append(pid)
            os.kill(pid, signal.SIGKILL)

    cfg = BenchConfig(runs=3, tokens=64, stream=True)
    run = (holder.setdefault("r", Runner(pair, cfg, listener=on_event))).run()
    assert killed, "the test did not get to kill the engine"
    assert run.status == COMPLETE
    statuses = [(s.side, s.status) for s in run.samples]
    assert statuses == [(TERNARY, OK), (F16, FAILED), (TERNARY, OK), (F16, OK), (TERNARY, OK), (F16, OK)]
    failed = run.samples[1]
    assert "stopped unexpectedly" in failed.error and "SIGKILL" in failed.error
    warmups_after = [s for s in holder["r"].executed[4:] if s.kind == WARMUP]
    assert [s.side for s in warmups_after] == [F16]  # the restarted engine was warmed up again
    assert run.summary["sides"][F16]["failed"] == 1 and run.summary["sides"][F16]["ok"] == 2


def test_race_runs_both_at_once_and_says_it_is_not_fair(tiny_models: dict[str, Path]) -> None:
    pair = resolve_pair(None, tiny_models["tq2_0"])
    events: list[RunEvent] = []
    cfg = BenchConfig(kind=COMPARE, runs=1, tokens=24, ignore_eos=True)
    run = RaceRunner(pair, cfg, listener=events.append).run()
    assert run.kind == RACE and run.summary["fair"] is False
    assert run.summary["headline"][0] == "race — not a fair measurement"
    assert "not a fair measurement" in run.summary["notes"][0] or "do not quote" in run.summary["notes"][0]
    assert {s.side for s in run.samples} == {TERNARY, F16} and all(s.status == OK for s in run.samples)
    assert all("race mode" in s.energy.reason for s in run.samples)
    a, b = (s.stats for s in run.samples)
    assert a.t_start_ns < b.t_end_ns and b.t_start_ns < a.t_end_ns  # the two replies overlapped in time
    assert {e.side for e in events if e.kind == "token"} == {TERNARY, F16}


def test_race_refused_when_both_do_not_fit(tiny_models: dict[str, Path]) -> None:
    from backend.bench.pairing import PairError

    pair = resolve_pair(None, tiny_models["tq2_0"])
    plan = memory_plan(pair, 512)
    engines = EnginePair(pair, 512, 1, plan.__class__(False, 0, plan.need, plan.available, "test"))
    with pytest.raises(PairError) as e:
        RaceRunner(pair, BenchConfig(runs=1, tokens=4), engines=engines).run()
    assert e.value.code == "race_ram" and "fair mode" in str(e.value)


def test_energy_per_token_comes_from_the_metrics_sampler_with_its_label(long_tiny_models: dict[str, Path]) -> None:
    """With a power source (here the CPU-time estimate at 5 W per busy core), J/token is filled in,
    labelled "estimated", after an idle baseline; the prefill energy is counted apart."""
    from backend.bench.meter import MetricsMeter
    from backend.metrics import Sampler

    pair = resolve_pair(None, long_tiny_models["tq2_0"])
    meter = MetricsMeter(Sampler(watts_per_core=5.0).start(), own=True)
    try:
        events: list[RunEvent] = []
        # replies of a second or more on any machine: long enough for the estimate to resolve
        cfg = BenchConfig(runs=1, tokens=6000, n_ctx=8192, idle_baseline=True)
        run = Runner(pair, cfg, meter=meter, listener=events.append).run()
    finally:
        meter.close()
    assert sum(e.kind == "phase" and e.data == "measuring idle power" for e in events) == 2
    for s in run.samples:
        e = s.energy
        assert e.label["method"] == "estimated" and "not a measurement" in e.label["badge"]
        assert e.baseline_note.startswith("idle baseline")
        if e.status == "ok":
            assert e.j_per_token > 0 and e.decode_j > 0 and e.avg_watts > 0
        else:  # a reply faster than the sampler can resolve says so instead of guessing
            assert e.j_per_token is None and "too short" in e.reason
    assert any(s.energy.status == "ok" for s in run.samples)
    assert run.fingerprint["power"]["method"] == "estimated"
