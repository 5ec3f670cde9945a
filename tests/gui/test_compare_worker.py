"""The comparison worker on its own thread, with real engines: cancel by request id, and a frozen engine."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Signal

from app.context import AppContext
from backend.bench.pairing import F16, TERNARY
from backend.bench.results import COMPARE, COMPLETE, FAILED, INCOMPLETE, OK, BenchConfig
from tests.conftest import LONG_CTX
from ui.compare.worker import FAIR, CompareJob, CompareWorker
from ui.server_thread import serve

RUN_MS = 120_000


class Requests(QObject):
    run = Signal(int, object)
    shutdown = Signal()


@pytest.fixture()
def worker(qtbot, long_tiny_models: dict[str, Path]) -> Iterator[tuple[CompareWorker, Requests, dict]]:
    ctx = AppContext()
    for enc, path in long_tiny_models.items():
        ctx.registry.add_variant("tiny-long", path, enc, "synthetic", model_fields={"synthetic": 1})
    w = CompareWorker(ctx.registry, ctx.store, LONG_CTX, 1)
    requests = Requests()
    requests.run.connect(w.run_job)
    requests.shutdown.connect(w.shutdown)
    got: dict[str, dict] = {"done": {}, "failed": {}, "events": {}}
    w.done.connect(lambda rid, result: got["done"].__setitem__(rid, result))
    w.failed.connect(lambda rid, exc: got["failed"].__setitem__(rid, exc))
    w.event.connect(lambda rid, ev: got["events"].setdefault(rid, []).append(ev))
    thread = serve(w, "compare-test")
    yield w, requests, got
    w.cancel_now()
    requests.shutdown.emit()
    assert thread.wait(20_000)


def job(tokens: int) -> CompareJob:
    cfg = BenchConfig(kind=COMPARE, runs=1, tokens=tokens, prompts=["Tell me about herons."], stream=True,
                      n_ctx=LONG_CTX, ignore_eos=True, idle_baseline=False, warmup_tokens=2)
    return CompareJob(FAIR, "tiny-long:TQ2_0", cfg)


def test_a_cancel_reaches_its_own_request_even_before_it_starts(qtbot, worker) -> None:
    w, requests, got = worker
    requests.run.emit(1, job(200))
    requests.run.emit(2, job(100_000))  # queued behind the first
    qtbot.waitUntil(lambda: any(ev.kind == "token" for ev in got["events"].get(1, [])), timeout=RUN_MS)
    w.cancel_now(2)  # Stop for the second, pressed while the first still runs
    qtbot.waitUntil(lambda: 2 in got["done"] or 2 in got["failed"], timeout=RUN_MS)
    first, second = got["done"][1], got["done"][2]
    # before: the cancel stopped the first comparison, and the second cleared it at its start and ran on
    assert first.status == COMPLETE and all(s.status == OK for s in first.samples)
    assert second.status == INCOMPLETE and second.samples == []
    w.cancel_now(1)  # a late cancel for a finished request …
    requests.run.emit(3, job(50))
    qtbot.waitUntil(lambda: 3 in got["done"], timeout=RUN_MS)
    assert got["done"][3].status == COMPLETE  # … does not stop the next one


@pytest.mark.skipif(sys.platform == "win32", reason="SIGSTOP is POSIX")
def test_a_frozen_engine_fails_its_side_and_the_comparison_ends(qtbot, worker, monkeypatch) -> None:
    monkeypatch.setenv("TERN_ENGINE_HANG_S", "1.5")
    w, requests, got = worker
    requests.run.emit(1, job(2000))
    stopped: list[int] = []

    def freeze() -> bool:
        tokens = [ev for ev in got["events"].get(1, []) if ev.kind == "token" and ev.side == TERNARY]
        engines = w.engines
        if tokens and engines is not None and TERNARY in engines.engines and not stopped:
            pid = engines.engines[TERNARY].pid
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)
        return bool(stopped)

    qtbot.waitUntil(freeze, timeout=RUN_MS)
    qtbot.waitUntil(lambda: 1 in got["done"] or 1 in got["failed"], timeout=RUN_MS)  # before: never
    run = got["done"][1]
    sides = {s.side: s for s in run.samples}
    assert sides[TERNARY].status == FAILED and "stopped responding" in sides[TERNARY].error
    assert sides[F16].status == OK and sides[F16].stats.output_tokens == 2000
    with pytest.raises(ProcessLookupError):
        os.kill(stopped[0], 0)
