"""History in the store, CSV/JSON export round trips, and the fingerprint stored with every run."""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path

import psutil
import pytest

from app.context import AppContext
from backend.bench.energy import EnergyFigure, PowerLabel
from backend.bench.export import (
    ExportError,
    read_json,
    samples_from_csv,
    to_csv,
    to_json_dict,
    write_csv,
    write_json,
)
from backend.bench.fingerprint import fingerprint, model_hashes
from backend.bench.history import BenchHistory
from backend.bench.pairing import F16, TERNARY, resolve_pair
from backend.bench.results import BENCH, COMPLETE, FAILED, INCOMPLETE, OK, RUNNING, BenchConfig, RunResult, Sample
from backend.bench.summary import summarize_run
from backend.engine import EngineClient
from backend.engine.protocol import TurnStats

LABEL = PowerLabel("estimate", "engine CPU time", "estimated", "", "Estimated · CPU time × 5 W/core")


def stats(decode: float, rss: int, ttft: float | None = 12.5) -> TurnStats:
    return TurnStats(prompt_tokens=20, prompt_cached=0, output_tokens=64, ttft_ms=ttft, prefill_ms=10.0,
                     prefill_tps=2000.0, decode_tps=decode, total_ms=900.25, peak_rss=rss, rss=rss - 4096,
                     cpu_s=1.75, stop_reason="length", t_start_ns=1_700_000_000_000_000_000,
                     t_first_ns=1_700_000_000_012_500_000, t_end_ns=1_700_000_000_900_250_000)


def a_run() -> RunResult:
    run = RunResult(BENCH, BenchConfig(runs=2, tokens=64, prompts=["one", "two, with \"quotes\"\nand a line"]),
                    status=COMPLETE, id=None, created_at=1_700_000_123.5, label="tiny: TQ2_0 vs F16")
    run.fingerprint = {"models": {TERNARY: {"encoding": "TQ2_0", "model": "tiny", "file_bytes": 700_000},
                                  F16: {"encoding": "F16", "model": "tiny", "file_bytes": 3_000_000}},
                       "same_weights": True}
    run.samples = [
        Sample(TERNARY, 0, 0, OK, stats(50.0, 300 << 20),
               EnergyFigure(0.031, 2.5, 0.4, 2.1, 4.5, 1.25, "ok", "idle baseline 1.25 W", LABEL.to_dict())),
        Sample(F16, 0, 0, OK, stats(12.5, 1300 << 20, ttft=None),
               EnergyFigure(status="too_short", label=LABEL.to_dict(), reason="run too short to measure")),
        Sample(F16, 1, 0, FAILED, None, EnergyFigure(reason="the engine crashed during this reply"),
               error="The engine stopped unexpectedly, \"quoted\", with a comma"),
    ]
    run.summary = summarize_run(run)
    return run


def test_json_round_trip_keeps_everything(tmp_path: Path) -> None:
    run = a_run()
    write_json(run, tmp_path / "run.json")
    back = read_json(tmp_path / "run.json")
    assert to_json_dict(back) == to_json_dict(run)
    assert back.samples[0].energy.label == LABEL.to_dict() and back.samples[2].error == run.samples[2].error


def test_csv_round_trip_keeps_every_sample(tmp_path: Path) -> None:
    run = a_run()
    write_csv(run, tmp_path / "run.csv")
    text = (tmp_path / "run.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("run_id,run_kind,run_status")
    back = samples_from_csv(text)
    expected = [Sample(s.side, s.iteration, s.prompt_index, s.status, s.stats, s.energy, s.error) for s in run.samples]
    assert back == expected
    assert back[1].stats.ttft_ms is None  # unmeasured stays unmeasured, not 0


def test_csv_and_json_from_something_else_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportError):
        samples_from_csv("a,b\n1,2\n")
    (tmp_path / "x.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ExportError):
        read_json(tmp_path / "x.json")


def test_history_stores_samples_as_they_come_and_lists_runs() -> None:
    history = BenchHistory(AppContext().store)
    run = a_run()
    run.status = RUNNING
    run_id = history.start(run)
    history.add_sample(run_id, run.samples[0])
    assert history.load(run_id).status == RUNNING and len(history.load(run_id).samples) == 1
    for s in run.samples[1:]:
        history.add_sample(run_id, s)
    run.status = COMPLETE
    history.finish(run)
    loaded = history.load(run_id)
    assert loaded.status == COMPLETE and loaded.label == run.label and loaded.config == run.config
    assert [(s.side, s.status, s.error) for s in loaded.samples] == [(s.side, s.status, s.error) for s in run.samples]
    assert loaded.samples[0].stats == run.samples[0].stats and loaded.samples[0].energy == run.samples[0].energy
    assert loaded.summary == json.loads(json.dumps(run.summary))
    assert [r.id for r in history.runs()] == [run_id]
    assert to_csv(loaded).count("\n") == 4


def test_runs_cut_off_are_marked_incomplete_at_start() -> None:
    history = BenchHistory(AppContext().store)
    run = a_run()
    run.status = RUNNING
    history.start(run)
    assert history.mark_abandoned() == 1
    assert history.load(run.id).status == INCOMPLETE
    history.delete(run.id)
    assert history.runs() == []


def test_fingerprint_names_machine_build_power_and_files(tiny_models: dict[str, Path], engine: EngineClient) -> None:
    pair = resolve_pair(None, tiny_models["tq2_0"])
    info = engine.load(pair.ternary.path, n_ctx=512, n_threads=1)
    hashes = model_hashes(pair)
    fp = fingerprint(pair, 1, LABEL, "9.9.9", {TERNARY: info}, hashes)
    m = fp["machine"]
    assert m["threads_used"] == 1 and m["cores_logical"] == psutil.cpu_count() and m["cpu"]
    assert m["ram_total_bytes"] == psutil.virtual_memory().total and platform.system() in m["os"]
    build = fp["llama_cpp"]
    assert build["system_info"] == info.system_info and ("AVX2" in build["simd"] or "NEON" in build["simd"])
    assert build["llama_cpp_python"].count(".") >= 2
    assert fp["power"]["badge"] == LABEL.badge and fp["power"]["method"] == "estimated"
    assert fp["tern_version"] == "9.9.9"
    for role, path in ((TERNARY, tiny_models["tq2_0"]), (F16, tiny_models["f16"])):
        entry = fp["models"][role]
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert entry["path"] == str(path.resolve()) and entry["file_bytes"] == path.stat().st_size
    assert fp["models"][TERNARY]["kv_bytes"] == info.kv_bytes and fp["models"][F16]["kv_bytes"] is None
    assert fp["same_weights"] is True


def test_computed_hashes_are_recorded_in_the_registry(tiny_models: dict[str, Path]) -> None:
    reg = AppContext().registry
    for enc in ("tq2_0", "f16"):
        reg.add_variant("tiny", tiny_models[enc], enc, "synthetic")
    pair = resolve_pair(reg, "tiny")
    hashes = model_hashes(pair)
    again = resolve_pair(reg, "tiny")
    assert again.f16.variant.sha256 == hashes[F16] == hashlib.sha256(tiny_models["f16"].read_bytes()).hexdigest()
    assert again.ternary.variant.sha256 == hashes[TERNARY]
