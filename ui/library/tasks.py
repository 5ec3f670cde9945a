"""The library's background jobs, all on `ui.jobs` (STYLE.md's one worker recipe), kept in one place.

`Tasks.start` runs `fn(report, cancel)` on a `Job` and remembers it until its thread ends, so the
page can cancel and wait for every download, check, derivation and import when the window
closes. `with_registry` gives a job its own Registry on the shared Store and closes that
thread's SQLite connection when the job ends. The Hugging Face token is read inside the job
(`Tasks.hub_token`, with the reader the composition root passes in): the keyring or the token file is
disk work too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject

from backend.models.registry import Registry
from backend.store import Store
from ui.jobs import Job, start_job

log = logging.getLogger("tern.ui.library")
Report = Callable[[str, float], None]
Work = Callable[[Report, threading.Event], Any]


def with_registry(store: Store, fn: Callable[[Registry, Report, threading.Event], Any]) -> Work:
    """A job body that works on the registry from its own thread and closes that thread's connection."""

    def work(report: Report, cancel: threading.Event) -> Any:
        try:
            return fn(Registry(store), report, cancel)
        finally:
            store.close()

    return work


class Tasks(QObject):
    """Every job the library page started and has not seen end."""

    def __init__(self, read_token: Callable[[], str | None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.read_token = read_token
        self.jobs: list[Job] = []
        self.closed = False

    def hub_token(self) -> str | None:
        """The token saved in Settings (keyring or private file); None lets the backend use HF_TOKEN.

        Call it inside a job: reading the keyring or the token file is disk work."""
        try:
            return self.read_token()
        except Exception as e:  # a broken keyring must not stop a public download
            log.warning("could not read the saved Hugging Face token (%s)", type(e).__name__)
            return None

    def start(
        self,
        name: str,
        fn: Work,
        on_ok: Callable[[Any], None] | None = None,
        on_fail: Callable[[BaseException], None] | None = None,
    ) -> Job | None:
        """Start `fn` off the GUI thread; `on_ok(result)` / `on_fail(exception)` run on the GUI thread."""
        if self.closed:
            return None
        job = start_job(fn, name, self)
        if on_ok is not None:
            job.succeeded.connect(on_ok)
        if on_fail is not None:
            job.failed.connect(on_fail)
        job.done.connect(lambda: self._forget(job))
        self.jobs.append(job)
        return job

    def _forget(self, job: Job) -> None:
        if job in self.jobs:
            self.jobs.remove(job)
        job.deleteLater()

    def running(self, name_prefix: str = "") -> list[Job]:
        return [j for j in self.jobs if j.running and j.name.startswith(name_prefix)]

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Cancel every job and wait for each thread (True if all stopped in time). Nothing new starts."""
        self.closed = True
        for job in list(self.jobs):
            job.cancel()
        ok = True
        for job in list(self.jobs):
            ok = job.shutdown(timeout_ms) and ok
        return ok
