"""One model's lane: its engine, and the requests for it served one at a time, in arrival order.

A lane has its own thread, which owns the model's engine (`turns.ModelTurns`): it loads the model
for the first request, runs each turn, cuts the reply at a stop sequence, and hands the events
to the request's event loop (`Job.emit`). The queue is bounded; a request beyond it is refused
with 503 at once rather than left waiting without end. Every job gets exactly one last event,
`Finished` or `Failed`, even one cancelled before it started.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backend.engine import EngineError, TurnStats
from backend.errors import ModelFileError, TernError
from backend.server.errors import ApiError, bad_request, unavailable
from backend.server.stops import StopScanner
from backend.server.turns import ModelTurns, Piece, TurnEnd, TurnInput

log = logging.getLogger("tern.server")
_ids = itertools.count(1)


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Finished:
    stats: TurnStats | None  # None: the turn never started (cancelled while waiting)
    finish_reason: str  # "stop" (end of reply or a stop sequence) | "length" | "cancelled"
    completion_tokens: int
    queue_ms: float  # waiting for the engine (and for the load, if this request loaded the model)
    load_ms: float | None  # set when this request loaded the model
    window: int | None = None  # the energy meter's record of the turn


@dataclass(frozen=True)
class Failed:
    error: ApiError


class Job:
    """One request's turn, handed from the HTTP side to a lane and back as events."""

    def __init__(self, turn: TurnInput | None, stops: tuple[str, ...] = (),
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.id = next(_ids)
        self.turn = turn  # None: only load the model
        self.stops = stops
        self.loop = loop
        self.events: asyncio.Queue[Any] = asyncio.Queue()
        self.lane: Lane | None = None
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
    def __init__(self, spec: str, turns: ModelTurns, max_queue: int, energy: Any = None,
                 on_loaded: Callable[[Lane], None] | None = None) -> None:
        self.spec = spec
        self.turns = turns
        self.max_queue = max_queue
        self.energy = energy
        self.on_loaded = on_loaded
        self.loading = False
        self.last_used = time.monotonic()
        self._cond = threading.Condition()
        self._waiting: collections.deque[Job] = collections.deque()
        self._running: Job | None = None
        self._closing = False
        self._thread = threading.Thread(target=self._serve, name=f"lane-{spec}", daemon=True)
        self._thread.start()

    # -- state ------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return "loading" if self.loading else "ready" if self.turns.ready else "not loaded"

    @property
    def running(self) -> int:
        return 0 if self._running is None or self._running.turn is None else 1

    @property
    def queued(self) -> int:
        return len(self._waiting)

    @property
    def idle(self) -> bool:
        with self._cond:
            return self._running is None and not self._waiting

    # -- requests ---------------------------------------------------------------------------
    def submit(self, job: Job) -> None:
        with self._cond:
            if self._closing:
                raise unavailable("The server is stopping.", "server_stopping")
            if len(self._waiting) + (self._running is not None) > self.max_queue:  # one runs, max_queue wait
                doing = "is loading" if self.loading else "is busy"
                raise unavailable(
                    f"Model {self.spec} {doing} and {len(self._waiting)} requests are already waiting for it "
                    f"(the limit). Try again in a moment.", "model_loading" if self.loading else "model_busy",
                    retry_after_s=2)
            job.lane = self
            job.enqueued = time.monotonic()
            self._waiting.append(job)
            self._cond.notify_all()

    def cancel(self, job: Job, reason: str) -> None:
        """Stop `job`: drop it from the queue, or stop its turn in the engine (from any thread)."""
        with self._cond:
            if job.done or job.cancelled:
                return
            job.cancelled, job.cancel_reason = True, reason
            if job in self._waiting:
                self._waiting.remove(job)
                job.done = True
                job.emit(Finished(None, "cancelled", 0, (time.monotonic() - job.enqueued) * 1000, None))
            elif self._running is job:
                self.turns.cancel()  # the running turn is this job's: the next is sent only after it ends

    def stop(self) -> None:
        """Refuse new requests, end the waiting ones and stop the running turn (without waiting)."""
        with self._cond:
            self._closing = True
            waiting, self._waiting = list(self._waiting), collections.deque()
            running = self._running
            self._cond.notify_all()
        for job in waiting:
            job.done = True
            job.emit(Failed(unavailable("The server is stopping.", "server_stopping")))
        if running is not None:
            self.cancel(running, "the server is stopping")

    def close(self, timeout: float = 10.0) -> None:
        """Stop, wait for the lane's thread, and close the engine process."""
        self.stop()
        self._thread.join(timeout)
        self.turns.close()

    # -- the lane's thread ------------------------------------------------------------------
    def _serve(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._waiting or self._closing)
                if not self._waiting:
                    return
                job = self._running = self._waiting.popleft()
            try:
                self._run(job)
            except ApiError as e:
                job.emit(Failed(e))
            except Exception as e:  # noqa: BLE001 - one request's failure must not stop the lane
                job.emit(Failed(_api_error(e, self.spec)))
                if not isinstance(e, TernError):
                    log.exception("request %d on %s failed", job.id, self.spec)
            finally:
                with self._cond:
                    self._running = None
                    job.done = True
                    self.last_used = time.monotonic()
                    self._cond.notify_all()

    def _run(self, job: Job) -> None:
        load_ms = None
        if not self.turns.ready and not (job.cancelled and job.turn is not None):
            self.loading = True
            try:
                load_ms = self.turns.load().load_ms
            finally:
                self.loading = False
            log.info("loaded %s in %.0f ms (engine process %s)", self.spec, load_ms, self.turns.pid)
            if self.on_loaded is not None:
                self.on_loaded(self)
        queue_ms = (time.monotonic() - job.enqueued) * 1000
        if job.turn is None:
            return
        if job.cancelled:  # the client left while the request waited
            job.emit(Finished(None, "cancelled", 0, queue_ms, load_ms))
            return
        scanner = StopScanner(job.stops)
        tokens, cut_at, end = 0, None, None
        window = self.energy.begin(self.turns.pid) if self.energy is not None else None
        try:
            for ev in self.turns.run(job.turn):
                if isinstance(ev, TurnEnd):
                    end = ev
                    continue
                assert isinstance(ev, Piece)
                tokens += ev.tokens
                if scanner.hit:
                    continue  # the engine is stopping; these tokens are past the stop sequence
                text = scanner.feed(ev.text)
                if scanner.hit:
                    cut_at = tokens
                    self.turns.cancel()  # the reply is complete: stop generating
                if text:
                    job.emit(Text(text))
        finally:
            if window is not None:
                self.energy.end(window)
        assert end is not None
        if not scanner.hit:
            rest = scanner.feed(end.tail) + scanner.flush()
            if rest:
                job.emit(Text(rest))
        reason = end.stats.stop_reason
        finish = "stop" if scanner.hit or reason == "eos" else "length" if reason == "length" else "cancelled"
        count = cut_at if cut_at is not None else end.stats.output_tokens
        job.emit(Finished(end.stats, finish, count, queue_ms, load_ms, window))


def _api_error(e: Exception, spec: str) -> ApiError:
    """An engine or model-file error as the HTTP status a client can act on."""
    if isinstance(e, EngineError) and e.code == "context_full":
        return bad_request(f"The prompt does not fit in {spec}'s context: {e}", "messages",
                           code="context_length_exceeded")
    if isinstance(e, ModelFileError) and e.code == "too_big":
        return unavailable(f"{spec} cannot be loaded: {e}", "model_too_large")
    if isinstance(e, ModelFileError):
        return ApiError(500, f"{spec} cannot be used: {e}", code="model_unusable")
    if isinstance(e, EngineError):
        return ApiError(500, f"The engine of {spec} failed: {e}", code=e.code)
    return ApiError(500, f"Generating with {spec} failed ({type(e).__name__}: {e}).", code="internal_error")
