"""One model in one engine process, with its requests served in the order they came.

Loading a model always starts a fresh engine process, so the process's RAM (current and peak)
is that model's alone, never what an earlier model left behind. An engine that crashed or hung
is replaced by the next request (`ensure`). Requests from several threads (the local API's
clients) take turns in arrival order (`slot`): a request may take its place in line when it
arrives (`reserve`) and give it up if it is cancelled before its turn (`leave`). Only `cancel`,
`leave` and `cancel_calibration` may be called at any time.

Threads (backend/engine/threads.py): a count from Settings runs decode steps and prompt batches; with
"automatic" (0) the model's calibration on this machine picks the two separately, and a model never
calibrated here is calibrated right after its first load (a few seconds; `calibrating` is True and
`on_calibration` hears each step; `cancel_calibration` stops it, keeps nothing, and leaves the default).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from backend.engine import threads
from backend.engine.client import EngineClient
from backend.engine.protocol import ModelInfo
from backend.engine.threads import ThreadChoice

log = logging.getLogger("tern.chat")


class QueueLeft(Exception):
    """The request gave up its place in line before its turn came (it was cancelled while it waited)."""


class FifoLock:
    """A lock granted in the order places in line were taken (threading.Lock promises no order).

    A place is taken by `hold()` itself, or beforehand with `take()` so that the order is the order
    requests arrived in, not the order their threads happened to run in. A place may be given up
    while it waits (`leave`): the line moves on without it, and its `hold()` raises QueueLeft.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = 0  # the next place to hand out
        self._serving = 0  # the place whose holder may run (or runs, while `_held`)
        self._held = False
        self._left: set[int] = set()  # places given up that the line has not passed yet
        self.waiting = 0  # places taken, neither granted nor given up

    def take(self) -> int:
        with self._cond:
            place = self._next
            self._next += 1
            self.waiting += 1
            return place

    def leave(self, place: int) -> bool:
        """Give up a place that has not had its turn; False when it has (or was given up already)."""
        with self._cond:
            if place < self._serving or place in self._left or (place == self._serving and self._held):
                return False
            self._left.add(place)
            self.waiting -= 1
            self._pass_left()
            self._cond.notify_all()
            return True

    @contextmanager
    def hold(self, place: int | None = None) -> Iterator[None]:
        if place is None:
            place = self.take()
        with self._cond:
            self._cond.wait_for(lambda: self._serving >= place or place in self._left)
            if self._serving != place or place in self._left:
                raise QueueLeft
            self._held = True
            self.waiting -= 1
        try:
            yield
        finally:
            with self._cond:
                self._held = False
                self._serving += 1
                self._pass_left()
                self._cond.notify_all()

    def _pass_left(self) -> None:
        """Move the line past places given up (the caller holds the condition)."""
        if not self._held:
            while self._serving in self._left:
                self._left.discard(self._serving)
                self._serving += 1


class ModelEngine:
    def __init__(self, path: str | Path, n_ctx: int = 2048, n_threads: int = 0, label: str = "",
                 name: str = "chat", client_factory: Callable[[str], EngineClient] = EngineClient,
                 calibrate: bool = True, on_calibration: Callable[[int, int, str], None] | None = None) -> None:
        self.path = Path(path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.calibrate = calibrate  # calibrate threads after the first automatic load on this machine
        self.on_calibration = on_calibration
        self.threads: ThreadChoice | None = None  # what the loaded engine runs with, and why
        self.calibrating = False
        self._calibration: tuple[EngineClient, int, threading.Event] | None = None
        self._skip_calibration = threading.Event()  # cancelled before it started: it does not start
        self.label = label or self.path.name
        self.name = name
        self._factory = client_factory
        self.client: EngineClient | None = None
        self.info: ModelInfo | None = None
        self.starts = 0  # engine processes started for this model (1 + restarts after a crash or hang)
        self.loading = False  # an engine process is being started and the model loaded into it
        self._lock = FifoLock()

    @property
    def pid(self) -> int | None:
        c = self.client
        return c.pid if c is not None and c.alive else None

    @property
    def ready(self) -> bool:
        c = self.client
        return c is not None and c.alive and c.info is not None

    def load(self) -> ModelInfo:
        """Start a fresh engine process and load the model in it (closing any earlier process)."""
        self.close()
        client = self._factory(self.name)
        self.loading = True
        choice = threads.choose(self.path, self.n_threads)
        try:
            client.start()
            self.info = client.load(self.path, n_ctx=self.n_ctx, n_threads=choice.n_threads,
                                    n_threads_batch=choice.n_threads_batch)
            if choice.source == threads.DEFAULT and self.calibrate and not self._skip_calibration.is_set():
                choice = self._calibrate(client, choice)
        except BaseException:
            client.close()
            raise
        finally:
            self.loading = False
        self.client = client
        self.threads = choice
        self.starts += 1
        return self.info

    def _calibrate(self, client: EngineClient, choice: ThreadChoice) -> ThreadChoice:
        """The first automatic load on this machine: measure, keep, and switch to the chosen counts."""
        rid = client.reserve_id()
        stop = threading.Event()
        self._calibration = (client, rid, stop)
        self.calibrating = True
        if self._skip_calibration.is_set():  # cancelled between the check in `load` and here
            stop.set()
            client.cancel(rid)
        try:
            cal = threads.calibrate(client, self.path, rid, self.on_calibration, cancel=stop)
        except threads.CalibrationCancelled:
            log.info("thread calibration of %s cancelled; it runs with %s", self.label, choice.text)
            return choice
        finally:
            self.calibrating = False
            self._calibration = None
        client.set_threads(cal.n_threads, cal.n_threads_batch)
        self.info = client.info
        log.info("threads for %s: decode %d, prompts %d (%s)", self.label, cal.n_threads, cal.n_threads_batch,
                 cal.figures())
        return ThreadChoice(cal.n_threads, cal.n_threads_batch, threads.CALIBRATED, cal)

    def cancel_calibration(self) -> None:
        """Thread-safe: stop a calibration in progress, or keep one from starting in this engine's loads (the
        model keeps the default threads)."""
        self._skip_calibration.set()
        running = self._calibration
        if running is not None:
            client, rid, stop = running
            stop.set()
            client.cancel(rid)

    def ensure(self) -> EngineClient:
        """The loaded engine; a fresh one if the last one crashed, hung or was never started."""
        if not self.ready:
            if self.starts:
                log.info("the engine of %s is gone; starting a fresh one", self.label)
            self.load()
        assert self.client is not None
        return self.client

    def reserve(self) -> int:
        """A place in line for the engine, taken now; `slot(place)` waits for exactly that turn."""
        return self._lock.take()

    def leave(self, place: int) -> bool:
        """Thread-safe: give up a place that has not had its turn (its `slot` raises QueueLeft)."""
        return self._lock.leave(place)

    @contextmanager
    def slot(self, place: int | None = None) -> Iterator[EngineClient]:
        """Exclusive use of the engine, granted in arrival order; the engine is (re)started if needed.

        Raises QueueLeft, without starting anything, when `place` was given up before its turn."""
        with self._lock.hold(place):
            yield self.ensure()

    @property
    def queued(self) -> int:
        """Requests waiting for the engine."""
        return self._lock.waiting

    def cancel(self, rid: int | None) -> None:
        """Thread-safe: cancel request `rid` (running, or not started yet)."""
        c = self.client
        if c is not None and rid is not None:
            c.cancel(rid)

    def close(self) -> None:
        client, self.client, self.info = self.client, None, None
        if client is not None:
            client.close()
