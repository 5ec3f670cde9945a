"""One model's lane: its engine (`backend.chat.model_engine.ModelEngine`) and the requests admitted to it.

Each request runs as a turn of the turn runner (`backend.chat.runner.Turn`) on a thread of its own,
which waits for the engine in the model's line (`ModelEngine.slot`: arrival order, a fresh engine
when the last one crashed or hung) and hands the turn's text to the request's event loop
(`Job.emit`). The lane only admits: at most `max_queue` requests wait beside the one that runs, a
request beyond them is refused with 503 at once rather than left waiting without end. Every job
gets exactly one last event, `Finished` or `Failed`, even one cancelled before its turn came.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from backend.chat.context import ContextFull
from backend.chat.model_engine import ModelEngine, QueueLeft
from backend.chat.runner import Delta, Turn, TurnSpec
from backend.engine import EngineError, TurnStats
from backend.errors import ModelFileError, TernError
from backend.server.errors import ApiError, bad_request, unavailable
from backend.store import CANCELLED

log = logging.getLogger("tern.server")
_ids = itertools.count(1)
STOPPING = "the server is stopping"


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Finished:
    stats: TurnStats | None  # the engine's figures; None: the turn never reached the engine
    finish_reason: str  # "stop" (end of reply or a stop sequence) | "length" | "cancelled"
    completion_tokens: int
    queue_ms: float  # waiting for the engine (and for the load, if this request loaded the model)
    load_ms: float | None  # set when this request loaded the model
    window: int | None = None  # the energy meter's record of the turn
    context: dict[str, Any] | None = None  # what a requested context policy did (backend.chat.context.Fitted)


@dataclass(frozen=True)
class Failed:
    error: ApiError


class Job:
    """One request's turn, handed from the HTTP side to a lane and back as events."""

    def __init__(self, spec: TurnSpec | None, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.id = next(_ids)
        self.turn = Turn(spec) if spec is not None else None  # None: only load the model
        self.loop = loop
        self.events: asyncio.Queue[Any] = asyncio.Queue()
        self.lane: Lane | None = None
        self.place: int | None = None  # its place in the model's line
        self.thread: threading.Thread | None = None
        self.enqueued = time.monotonic()
        self.cancelled = False
        self.cancel_reason = ""
        self.done = False

    def emit(self, ev: Any) -> None:
        if self.loop is None:
            return
        try:
            self.loop.call_soon_threadsafe(self.events.put_nowait, ev)
        except RuntimeError:  # the event loop is closed: the server is gone, nobody is listening
            self.cancelled = True

    def cancel(self, reason: str) -> None:
        if self.lane is not None:
            self.lane.cancel(self, reason)


class Lane:
    def __init__(self, spec: str, model: ModelEngine, max_queue: int, energy: Any = None) -> None:
        self.spec = spec
        self.model = model
        self.max_queue = max_queue
        self.energy = energy
        self.last_used = time.monotonic()
        self._lock = threading.Lock()
        self._jobs: dict[int, Job] = {}  # admitted and not finished: the one running and those in line
        self._running: Job | None = None
        self._closing = False
        self._starts_seen = 0  # engine processes started before the running turn (read while holding the slot)

    # -- state ------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return "loading" if self.model.loading else "ready" if self.model.ready else "not loaded"

    @property
    def running(self) -> int:
        job = self._running
        return 0 if job is None or job.turn is None else 1

    @property
    def queued(self) -> int:
        with self._lock:
            return len(self._jobs) - (self._running is not None)

    @property
    def idle(self) -> bool:
        with self._lock:
            return not self._jobs

    # -- requests ---------------------------------------------------------------------------
    def submit(self, job: Job) -> None:
        """Admit `job` and take its place in the model's line now (503 when the line is full)."""
        with self._lock:
            if self._closing:
                raise unavailable("The server is stopping.", "server_stopping")
            if len(self._jobs) > self.max_queue:  # one runs, max_queue wait
                loading = self.model.loading
                raise unavailable(
                    f"Model {self.spec} {'is loading' if loading else 'is busy'} and {len(self._jobs) - 1} requests "
                    f"are already waiting for it (the limit). Try again in a moment.",
                    "model_loading" if loading else "model_busy", retry_after_s=2)
            job.lane = self
            job.enqueued = time.monotonic()
            job.place = self.model.reserve()  # here, so the line keeps the order requests arrived in
            self._jobs[job.id] = job
            job.thread = threading.Thread(target=self._serve, args=(job,), name=f"{self.spec}-{job.id}", daemon=True)
        job.thread.start()

    def cancel(self, job: Job, reason: str) -> None:
        """Stop `job` from any thread: it leaves the line, or its turn is cancelled in the engine."""
        with self._lock:
            if job.done or job.cancelled:
                return
            job.cancelled, job.cancel_reason = True, reason
        if job.turn is not None:
            job.turn.cancel()  # by its request id in the engine, or before it starts
        if job.place is not None:
            self.model.leave(job.place)  # still in line: its thread ends at once

    def stop(self) -> None:
        """Refuse new requests, end the waiting ones and stop the running turn (without waiting)."""
        with self._lock:
            self._closing = True
            jobs = list(self._jobs.values())
        for job in jobs:
            self.cancel(job, STOPPING)

    def close(self, timeout: float = 10.0) -> None:
        """Stop, wait for the requests' threads, and close the engine process."""
        self.stop()
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = [job.thread for job in self._jobs.values() if job.thread is not None]
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self.model.close()

    # -- a request's thread -----------------------------------------------------------------
    def _serve(self, job: Job) -> None:
        try:
            self._run(job)
        except QueueLeft:  # cancelled while it waited: it never reached the engine
            queue_ms = (time.monotonic() - job.enqueued) * 1000
            job.emit(Failed(unavailable("The server is stopping.", "server_stopping"))
                     if job.cancel_reason == STOPPING else Finished(None, "cancelled", 0, queue_ms, None))
        except ApiError as e:
            job.emit(Failed(e))
        except Exception as e:  # noqa: BLE001 - one request's failure must not stop the lane
            job.emit(Failed(_api_error(e, self.spec)))
            if not isinstance(e, TernError):
                log.exception("request %d on %s failed", job.id, self.spec)
        finally:
            with self._lock:
                self._jobs.pop(job.id, None)
                if self._running is job:
                    self._running = None
                job.done = True
                self.last_used = time.monotonic()

    def _run(self, job: Job) -> None:
        with self.model.slot(job.place) as engine:
            with self._lock:
                self._running = job
            load_ms = None
            started, self._starts_seen = self.model.starts != self._starts_seen, self.model.starts
            if started and engine.info is not None:  # this request (re)started the engine
                load_ms = engine.info.load_ms
                log.info("loaded %s in %.0f ms (engine process %s)", self.spec, load_ms, self.model.pid)
            queue_ms = (time.monotonic() - job.enqueued) * 1000
            turn = job.turn
            if turn is None:
                return
            window = self.energy.begin(self.model.pid) if self.energy is not None else None
            try:
                for ev in turn.events(engine):
                    if isinstance(ev, Delta) and ev.text:
                        job.emit(Text(ev.text))
            finally:
                if window is not None:
                    self.energy.end(window)
        result = turn.result
        assert result is not None
        if result.error is not None and result.status != CANCELLED:
            raise result.error
        stats = TurnStats.from_dict(result.stats) if "t_start_ns" in result.stats else None
        finish = "cancelled" if result.status == CANCELLED else result.finish_reason
        job.emit(Finished(stats, finish, result.usage["completion_tokens"], queue_ms, load_ms, window,
                          result.stats.get("context")))


def _api_error(e: BaseException, spec: str) -> ApiError:
    """An engine or model-file error as the HTTP status a client can act on."""
    if isinstance(e, ContextFull) or (isinstance(e, EngineError) and e.code == "context_full"):
        return bad_request(f"The prompt does not fit in {spec}'s context: {e}", "messages",
                           code="context_length_exceeded")
    if isinstance(e, ModelFileError) and e.code == "too_big":
        return unavailable(f"{spec} cannot be loaded: {e}", "model_too_large")
    if isinstance(e, ModelFileError):
        return ApiError(500, f"{spec} cannot be used: {e}", code="model_unusable")
    if isinstance(e, EngineError):
        return ApiError(500, f"The engine of {spec} failed: {e}", code=e.code)
    return ApiError(500, f"Generating with {spec} failed ({type(e).__name__}: {e}).", code="internal_error")
