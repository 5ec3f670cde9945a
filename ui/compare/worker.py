"""The comparison worker: a QObject on its own QThread that runs pairing, engines, benchmarks, derivation.

STYLE.md's server recipe (ui/server_thread.py). Requests arrive as queued signals tagged with a
request id; events and results go back as signals with the same id, so the panel drops answers it
no longer wants. Cancel carries the request id too and is thread-safe and immediate
(`cancel_now(rid)` from the GUI thread: a queued slot could not run while this thread is busy
generating). A cancel that arrives before its request has started is kept and honoured when it
starts; one for a request that has ended is ignored, so it can never stop the next one.

Replies are written by the turn runner (backend.chat.runner, through backend.bench.runner): an
engine that hangs is ended after the hang bound and the next reply starts a fresh one.

The engines of a fair comparison stay loaded between prompts (when RAM allows: see
`backend.bench.engines`); a benchmark closes them first and runs with its own.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from backend.bench import bandwidth
from backend.bench.bandwidth import Bandwidth
from backend.bench.engines import EnginePair, MemoryPlan, memory_plan
from backend.bench.history import BenchHistory
from backend.bench.pairing import Pair, resolve_pair
from backend.bench.results import BenchConfig, RunResult
from backend.bench.runner import RunEvent, Runner
from backend.models.registry import Registry
from backend.store import Store

log = logging.getLogger("tern.ui.compare")
FAIR, RACE, BENCH = "fair", "race", "bench"


@dataclass
class Prepared:
    """A pair checked and ready to compare (or why not)."""

    spec: str
    pair: Pair | None = None
    plan: MemoryPlan | None = None
    error: Exception | None = None  # PairError, MissingVariant (with its derive offer), ModelFileError…


@dataclass
class CompareJob:
    mode: str  # FAIR | RACE | BENCH
    spec: str  # the ternary variant (registry name:encoding or path)
    config: BenchConfig
    f16: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class CompareWorker(QObject):
    prepared = Signal(int, object)  # request id, Prepared
    event = Signal(int, object)  # request id, RunEvent
    done = Signal(int, object)  # request id, RunResult | list[RunResult] | Variant
    failed = Signal(int, object)  # request id, exception
    progress = Signal(int, str, float)  # request id, what, fraction (derivation, paper shapes)
    finished = Signal()  # after shutdown: the thread quits (ui/server_thread.serve)

    def __init__(self, registry: Registry, store: Store, n_ctx: int, threads: int, sampler_hz: float = 10.0,
                 watts_per_core: float = 0.0, tern_version: str | None = None) -> None:
        super().__init__()
        self.registry = registry
        self.store = store
        self.n_ctx = n_ctx
        self.threads = threads
        self.sampler_hz = sampler_hz
        self.watts_per_core = watts_per_core
        self.tern_version = tern_version
        self.meter: Any = None  # MetricsMeter, made on this thread at first use
        self.engines: EnginePair | None = None
        self._runner: Runner | None = None
        self._job: Any = None  # PaperShapes while it runs
        self._cancel = threading.Event()  # the running request's (a fresh one per request)
        self._rid = 0  # the request being served (swap notices belong to it)
        self._lock = threading.Lock()
        self._cancelled: set[int] = set()  # requests cancelled before they started

    # -- called from the GUI thread -------------------------------------------------------------
    def cancel_now(self, rid: int | None = None) -> None:
        """Stop request `rid` (None: whatever runs, at shutdown), now if it runs, else when it starts."""
        with self._lock:
            if rid is not None and rid != self._rid:
                if rid > self._rid:  # not started yet (ids grow, requests are served in order); else a late cancel
                    self._cancelled.add(rid)
                return
            self._cancel.set()  # set before reading the runner: `_run` checks it after publishing its runner
            runner, job = self._runner, self._job
        if runner is not None:
            runner.cancel()
        if job is not None:
            job.cancel()

    def _begin(self, rid: int) -> threading.Event:
        with self._lock:
            self._rid = rid
            self._cancel = threading.Event()
            if rid in self._cancelled:
                self._cancelled.discard(rid)
                self._cancel.set()
            return self._cancel

    # -- slots (this thread) --------------------------------------------------------------------
    @Slot()
    def run(self) -> None:
        log.debug("compare worker ready")

    @Slot(int, str)
    def prepare(self, rid: int, spec: str) -> None:
        p = Prepared(spec)
        try:
            p.pair = resolve_pair(self.registry, spec)
            p.plan = memory_plan(p.pair, self.n_ctx)
        except Exception as e:  # shown in the panel, with the derive offer when there is one
            p.error = e
        self.prepared.emit(rid, p)

    @Slot(int, object)
    def run_job(self, rid: int, job: CompareJob) -> None:
        self._begin(rid)
        try:
            pair = resolve_pair(self.registry, job.spec, job.f16)
            if job.mode == BENCH:
                self._close_engines()
                machine = self._bandwidth(rid)
                result = self._run(rid, Runner(pair, job.config, history=self._history(), meter=self._meter(),
                                               listener=self._listener(rid), tern_version=self.tern_version,
                                               bandwidth=machine))
            else:
                engines = self._engines_for(pair, rid)
                from backend.bench.race import RaceRunner

                cls = RaceRunner if job.mode == RACE else Runner
                result = self._run(rid, cls(pair, job.config, engines=engines, history=self._history(),
                                            meter=self._meter(), listener=self._listener(rid),
                                            tern_version=self.tern_version))
            self.done.emit(rid, result)
        except Exception as e:
            log.info("comparison failed: %s", e)
            self.failed.emit(rid, e)

    @Slot(int, object)
    def paper_shapes(self, rid: int, job: CompareJob) -> None:
        from backend.bench.paper_shapes import PaperShapes, shapes_folder

        self._begin(rid)
        self._close_engines()
        say = lambda text: self.progress.emit(rid, text, -1.0)  # noqa: E731
        shapes = PaperShapes(shapes_folder(), job.config, self._history(), self._meter(), say,
                             listener=lambda name: self._listener(rid), tern_version=self.tern_version)
        with self._lock:
            self._job = shapes
        if self._cancel.is_set():
            shapes.cancel()
        try:
            self.done.emit(rid, shapes.run(job.extra.get("shapes", ["700M"])))
        except Exception as e:
            self.failed.emit(rid, e)
        finally:
            self._job = None

    @Slot(int, str)
    def derive(self, rid: int, spec: str) -> None:
        from backend.models.derive import derive_variant

        self._begin(rid)
        try:
            variant = derive_variant(self.registry, spec, "f16", cancel=self._cancel,
                                     progress=lambda p: self.progress.emit(rid, p.phase, p.fraction))
            self.done.emit(rid, variant)
        except Exception as e:
            self.failed.emit(rid, e)

    @Slot()
    def shutdown(self) -> None:
        self._close_engines()
        if self.meter is not None:
            self.meter.close()
            self.meter = None
        self.store.close()  # this thread's connection
        self.finished.emit()

    # -- helpers --------------------------------------------------------------------------------
    def _run(self, rid: int, runner: Runner) -> RunResult:
        with self._lock:
            self._runner = runner
        if self._cancel.is_set():  # cancelled before it started, or while it was being set up
            runner.cancel()
        try:
            return runner.run()
        finally:
            with self._lock:
                self._runner = None

    def _listener(self, rid: int):  # type: ignore[no-untyped-def]
        def on_event(ev: RunEvent) -> None:
            self.event.emit(rid, ev)

        return on_event

    def _bandwidth(self, rid: int) -> Bandwidth | None:
        """This machine's bandwidth for the roofline, measured once before the first benchmark."""
        if self._cancel.is_set():
            return bandwidth.cached()
        try:
            return bandwidth.machine_bandwidth(lambda: self.event.emit(rid, RunEvent(
                "phase", None, "measuring this computer's memory bandwidth (once, about a second)")))
        except Exception as e:  # the roofline's share then reads "—" with the reason
            log.info("the bandwidth test failed: %s", e)
            return bandwidth.cached()

    def _history(self) -> BenchHistory:
        return BenchHistory(self.store)

    def _meter(self) -> Any:
        if self.meter is None:
            from backend.bench.meter import MetricsMeter

            self.meter = MetricsMeter.start(self.sampler_hz, self.watts_per_core)
        return self.meter

    def _engines_for(self, pair: Pair, rid: int) -> EnginePair:
        """The kept engines if they belong to this pair, else new ones (closing the old)."""
        e = self.engines
        if e is not None and e.pair.ternary.path == pair.ternary.path and e.pair.f16.path == pair.f16.path:
            return e
        self._close_engines()
        plan = memory_plan(pair, self.n_ctx)
        self.engines = EnginePair(pair, self.n_ctx, self.threads or _cores(), plan,
                                  on_swap=lambda text: self.event.emit(self._rid, RunEvent("swap", None, text)))
        return self.engines

    def _close_engines(self) -> None:
        if self.engines is not None:
            self.engines.close()
            self.engines = None


def _cores() -> int:
    from backend.engine.hardware import physical_cores

    return physical_cores()
