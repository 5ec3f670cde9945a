"""Threads per model: calibrated the first time a model runs here, kept, cancellable, and Settings win.

The real engine on the tiny synthetic models. A calibration of the tiny model takes well under a
second on an idle machine (more on a busy one: every step is bounded in time, not in tokens).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from backend.chat.model_engine import ModelEngine
from backend.engine import threads
from backend.engine.calibrate import candidates, pick
from backend.engine.client import EngineClient
from backend.engine.hardware import logical_cpus, physical_cores


def test_the_first_automatic_load_calibrates_and_the_second_uses_what_was_kept(tiny: Path) -> None:
    steps: list[tuple[int, int, str]] = []
    first = ModelEngine(tiny, n_ctx=256, n_threads=0, on_calibration=lambda *a: steps.append(a))
    try:
        info = first.load()
        choice = first.threads
    finally:
        first.close()
    assert choice is not None and choice.source == threads.CALIBRATED and steps and steps[-1][2] == "done"
    cal = threads.cached(tiny)
    assert cal is not None and cal.n_threads == choice.n_threads and cal.n_threads_batch == choice.n_threads_batch
    tried = [str(t) for t in candidates()]
    assert sorted(cal.decode) == sorted(tried) and sorted(cal.prompt) == sorted(tried)
    assert all(r > 0 for r in [*cal.decode.values(), *cal.prompt.values()]) and cal.prompt_tokens >= 16
    assert (info.n_threads, info.n_threads_batch) == (cal.n_threads, cal.n_threads_batch)  # the engine runs them

    again: list[tuple[int, int, str]] = []
    second = ModelEngine(tiny, n_ctx=256, n_threads=0, on_calibration=lambda *a: again.append(a))
    try:
        second.load()
        assert not again, "a kept calibration was measured again"
        assert second.threads is not None and second.threads.source == threads.CALIBRATED
        assert second.threads.calibration is not None and second.threads.calibration.measured_at == cal.measured_at
    finally:
        second.close()


def test_the_engine_runs_the_kept_counts_and_settings_win(tiny: Path) -> None:
    """A kept calibration choosing 1 decode / 2 prompt threads is what the engine gets; a count in
    Settings replaces both."""
    if logical_cpus() < 2:
        return
    threads.CACHE.put(threads.file_key(tiny), threads.Calibration(1, 2, physical_cores(), {"1": 9.0},
                                                                  {"2": 9.0}).to_dict())
    auto = ModelEngine(tiny, n_ctx=256, n_threads=0)
    try:
        info = auto.load()
        assert (info.n_threads, info.n_threads_batch) == (1, 2)
        assert auto.threads is not None and auto.threads.source == threads.CALIBRATED
    finally:
        auto.close()
    pinned = ModelEngine(tiny, n_ctx=256, n_threads=2)
    try:
        info = pinned.load()
        assert (info.n_threads, info.n_threads_batch) == (2, 2)
        assert pinned.threads is not None and pinned.threads.source == threads.SETTINGS
    finally:
        pinned.close()


def test_a_cancelled_calibration_keeps_nothing_and_the_model_still_answers(tiny: Path) -> None:
    holder: dict[str, ModelEngine] = {}

    def on_step(done: int, total: int, what: str) -> None:
        if done >= 2:  # a few measurements in: stop it
            holder["m"].cancel_calibration()

    model = holder["m"] = ModelEngine(tiny, n_ctx=256, n_threads=0, on_calibration=on_step)
    try:
        info = model.load()
        assert threads.cached(tiny) is None, "a cancelled calibration left a result"
        assert model.threads is not None and model.threads.source == threads.DEFAULT
        assert info.n_threads == info.n_threads_batch == physical_cores() or info.n_threads == logical_cpus()
        with model.slot() as engine:
            done = [ev for ev in engine.generate(prompt="Hello", params={"max_tokens": 4, "temperature": 0})][-1]
        assert done.stats.output_tokens >= 1
    finally:
        model.close()


def test_calibrate_file_cancelled_from_another_thread(tiny: Path) -> None:
    cancel = threading.Event()

    def progress(done: int, total: int, what: str) -> None:
        if done >= 1:
            cancel.set()

    try:
        threads.calibrate_file(tiny, cancel, progress)
    except threads.CalibrationCancelled:
        pass
    else:
        raise AssertionError("the calibration ran to the end although it was cancelled")
    assert threads.cached(tiny) is None


def test_a_changed_file_or_a_damaged_cache_means_measuring_again(tiny: Path, tmp_path: Path) -> None:
    copy = tmp_path / "tiny-copy.gguf"
    copy.write_bytes(tiny.read_bytes())
    threads.CACHE.put(threads.file_key(copy), threads.Calibration(1, 1, 1).to_dict())
    assert threads.cached(copy) is not None
    os.utime(copy, ns=(0, 10**9))  # the same name and size, another modification time: another file
    assert threads.cached(copy) is None
    threads.CACHE.path.write_text("{ not json", encoding="utf-8")
    assert threads.choose(copy, 0).source == threads.DEFAULT
    threads.CACHE.put(threads.file_key(copy), threads.Calibration(1, 1, 1).to_dict())  # replaced, readable again
    assert json.loads(threads.CACHE.path.read_text())["version"] == 1 and threads.cached(copy) is not None


def test_pick_keeps_the_default_unless_another_count_is_clearly_faster() -> None:
    assert pick({1: 100.0, 2: 103.0}, default=1) == 1  # 3 % is noise
    assert pick({1: 100.0, 2: 120.0}, default=1) == 2
    assert pick({1: 130.0, 2: 100.0, 3: 101.0}, default=2) == 1
    assert pick({4: 50.0, 8: 50.0}, default=16) == 4  # default not measured: the fastest, fewer threads on a tie


def test_set_threads_changes_the_running_engine(tiny: Path) -> None:
    with EngineClient("t") as client:
        client.load(tiny, n_ctx=256, n_threads=1)
        client.set_threads(1, logical_cpus())
        assert client.info is not None and (client.info.n_threads, client.info.n_threads_batch) == (1, logical_cpus())
