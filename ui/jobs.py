"""Blocking work off the GUI thread: STYLE.md's one worker recipe for one-off jobs.

A `Job` runs `fn(report, cancel)` on its own QThread: `report(stage, fraction)` sends progress,
`cancel` is a threading.Event set from the GUI thread. The result or the exception comes back
as a signal; the thread quits, and worker and thread are deleted later. Keep a reference to the
Job (jobs are parented to a QObject) and call `shutdown()` before exit.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

log = logging.getLogger("tern.ui.jobs")
_ids = itertools.count(1)


class _Worker(QObject):
    progress = Signal(str, float)
    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, fn: Callable[..., Any], cancel: threading.Event) -> None:
        super().__init__()
        self.fn = fn
        self.cancel = cancel

    @Slot()
    def run(self) -> None:
        try:
            result = self.fn(lambda stage, frac: self.progress.emit(stage, float(frac)), self.cancel)
            self.succeeded.emit(result)
        except BaseException as e:  # noqa: BLE001 - handed to the GUI, which tells the user
            self.failed.emit(e)
        finally:
            self.finished.emit()


class Job(QObject):
    progress = Signal(str, float)
    succeeded = Signal(object)
    failed = Signal(object)
    done = Signal()

    def __init__(self, fn: Callable[[Callable[[str, float], None], threading.Event], Any], name: str,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.id = next(_ids)
        self.name = name
        self.cancel_event = threading.Event()
        self.thread = QThread()
        self.thread.setObjectName(f"job-{name}")
        self.worker = _Worker(fn, self.cancel_event)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.finished.connect(self.thread.quit)
        self.thread.finished.connect(self.worker.deleteLater)
        self.thread.finished.connect(self.thread.deleteLater)
        self.thread.finished.connect(self._finished)
        self.worker.progress.connect(self.progress)
        self.worker.succeeded.connect(self.succeeded)
        self.worker.failed.connect(self.failed)
        self.running = False

    def start(self) -> Job:
        self.running = True
        self.thread.start()
        return self

    def cancel(self) -> None:
        self.cancel_event.set()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel and wait for the thread to end (True if it did in time)."""
        if not self.running:
            return True
        self.cancel()
        try:
            self.thread.quit()  # the worker's queued quit needs this (GUI) thread's loop, which wait() blocks
            ok = self.thread.wait(timeout_ms)
        except RuntimeError:  # the thread already ended and was deleted
            return True
        if not ok:
            log.warning("job %s did not stop within %d ms", self.name, timeout_ms)
        return ok

    def _finished(self) -> None:
        self.running = False
        self.done.emit()


def start_job(fn: Callable[[Callable[[str, float], None], threading.Event], Any], name: str,
              parent: QObject) -> Job:
    return Job(fn, name, parent).start()
