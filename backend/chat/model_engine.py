"""One model in one engine process, with its requests served in the order they came.

Loading a model always starts a fresh engine process, so the process's RAM (current and peak)
is that model's alone, never what an earlier model left behind. An engine that crashed or hung
is replaced by the next request (`ensure`). Requests from several threads (the local API's
clients) take turns in arrival order (`slot`); only `cancel` may be called at any time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from backend.engine.client import EngineClient
from backend.engine.protocol import ModelInfo

log = logging.getLogger("tern.chat")


class FifoLock:
    """A lock granted in the order it was asked for (threading.Lock promises no order)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = 0  # the next ticket to hand out
        self._serving = 0  # the ticket whose holder may run
        self.waiting = 0

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._cond:
            ticket = self._next
            self._next += 1
            self.waiting += 1
            self._cond.wait_for(lambda: self._serving == ticket)
            self.waiting -= 1
        try:
            yield
        finally:
            with self._cond:
                self._serving += 1
                self._cond.notify_all()


class ModelEngine:
    def __init__(self, path: str | Path, n_ctx: int = 2048, n_threads: int = 0, label: str = "",
                 name: str = "chat", client_factory: Callable[[str], EngineClient] = EngineClient) -> None:
        self.path = Path(path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.label = label or self.path.name
        self.name = name
        self._factory = client_factory
        self.client: EngineClient | None = None
        self.info: ModelInfo | None = None
        self.starts = 0  # engine processes started for this model (1 + restarts after a crash or hang)
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
        try:
            client.start()
            self.info = client.load(self.path, n_ctx=self.n_ctx, n_threads=self.n_threads or None)
        except BaseException:
            client.close()
            raise
        self.client = client
        self.starts += 1
        return self.info

    def ensure(self) -> EngineClient:
        """The loaded engine; a fresh one if the last one crashed, hung or was never started."""
        if not self.ready:
            if self.starts:
                log.info("the engine of %s is gone; starting a fresh one", self.label)
            self.load()
        assert self.client is not None
        return self.client

    @contextmanager
    def slot(self) -> Iterator[EngineClient]:
        """Exclusive use of the engine, granted in arrival order; the engine is (re)started if needed."""
        with self._lock.hold():
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
