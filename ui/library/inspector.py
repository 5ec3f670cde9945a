"""Header checks of Hub files, lazily, two at a time, off the GUI thread — and remembered for the session.

A row asks for its file's verdict when it comes into view; the inspector queues the request,
runs `backend.hub.inspect_remote` (one or two HTTP range reads of the GGUF header) on a job, and
answers with `checked(key, Inspection)` or `check_failed(key, exception)`. Results are facts
about a file, so they are kept; failures are not (the next request tries again).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from backend.hub import HubOffline, Inspection, RateLimited
from ui.library.tasks import Report, Tasks

Key = tuple[str, str]  # (repo, filename)
MAX_RUNNING = 2


class Inspector(QObject):
    started = Signal(object)  # key
    checked = Signal(object, object)  # key, Inspection
    check_failed = Signal(object, object)  # key, exception
    hub_unreachable = Signal(object)  # the HubOffline / RateLimited that stopped the queue

    def __init__(self, tasks: Tasks, n_ctx: Callable[[], int], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.n_ctx = n_ctx
        self.results: dict[Key, Inspection] = {}
        self.queue: list[Key] = []
        self.running: set[Key] = set()
        self.enabled = True

    def result(self, key: Key) -> Inspection | None:
        return self.results.get(key)

    def pending(self, key: Key) -> bool:
        return key in self.running or key in self.queue

    def request(self, repo: str, filename: str, first: bool = False) -> None:
        """Check `repo`/`filename` soon (at once if `first`); a known result is answered at once."""
        key = (repo, filename)
        if key in self.results:
            self.checked.emit(key, self.results[key])
            return
        if not self.enabled or key in self.running:
            return
        if key in self.queue:
            if not first:
                return
            self.queue.remove(key)
        self.queue.insert(0, key) if first else self.queue.append(key)
        self._pump()

    def clear_queue(self) -> None:
        self.queue.clear()

    def set_enabled(self, on: bool) -> None:
        self.enabled = on
        if not on:
            self.queue.clear()

    def _pump(self) -> None:
        while self.enabled and self.queue and len(self.running) < MAX_RUNNING:
            key = self.queue.pop(0)
            self.running.add(key)
            self.started.emit(key)
            n_ctx = self.n_ctx()

            def work(
                _report: Report, cancel: threading.Event, key: Key = key, n_ctx: int = n_ctx
            ) -> Inspection:
                from backend.hub import inspect_remote

                return inspect_remote(key[0], key[1], self.tasks.hub_token(), n_ctx=n_ctx, cancel=cancel)

            job = self.tasks.start(
                f"inspect-{key[1]}",
                work,
                lambda r, key=key: self._done(key, r),
                lambda e, key=key: self._failed(key, e),
            )
            if job is None:  # shutting down
                self.running.discard(key)
                return

    def _done(self, key: Key, result: Any) -> None:
        self.running.discard(key)
        self.results[key] = result
        self.checked.emit(key, result)
        self._pump()

    def _failed(self, key: Key, exc: BaseException) -> None:
        self.running.discard(key)
        if isinstance(exc, (HubOffline, RateLimited)):
            waiting = [key, *self.queue]
            self.queue.clear()
            for k in waiting:
                self.check_failed.emit(k, exc)
            self.hub_unreachable.emit(exc)
            return
        self.check_failed.emit(key, exc)
        self._pump()
