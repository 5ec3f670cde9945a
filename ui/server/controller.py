"""Starts and stops the local server off the GUI thread, and brings its news back as signals.

The server runs in this process, on a thread of its own (uvicorn's event loop): its engines are
child processes anyway, so the thread only parses HTTP and JSON, and the request log reaches the
page as plain objects with no second protocol to keep in step. Starting binds the port and
waits until it listens; stopping cancels the turns in progress and closes every engine — both
block, so both run on a job (ui.jobs), never on the GUI thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from backend.server.config import ServerConfig
from ui.jobs import Job, start_job

log = logging.getLogger("tern.ui.server")


class ServerController(QObject):
    state_changed = Signal(str, str)  # stopped | starting | running | stopping | failed; URL or error
    request_logged = Signal(object)  # backend.server.RequestRecord
    energy_label = Signal(str)  # the power source behind J/token, or why there is none

    def __init__(self, make_server: Callable[[ServerConfig], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.make_server = make_server
        self.server: Any = None
        self._starting: Any = None  # the server a start job made, set on its thread: shutdown stops it even mid-start
        self.state = "stopped"
        self.url = ""
        self.job: Job | None = None
        self._stop_after_job = False  # stop was asked for while the start job was still finishing
        self._start_after_job: ServerConfig | None = None  # start was asked for while a job was finishing
        self.state_changed.connect(self._remember)

    @property
    def busy(self) -> bool:
        return self.job is not None

    def start(self, config: ServerConfig) -> None:
        self._stop_after_job = False
        if self.busy:
            self._start_after_job = config
            return
        if self.state == "running":
            return
        self.state_changed.emit("starting", "")

        def work(_report: Callable[[str, float], None], _cancel: Any) -> tuple[Any, str]:
            server = self._starting = self.make_server(config)  # checks the configuration (ServerConfigError)
            server.on_state(self.state_changed.emit)  # from the server's threads: queued to the GUI thread
            server.requests.subscribe(self.request_logged.emit)
            try:
                server.start()
            except BaseException:
                server.stop()
                raise
            return server, server.energy_label().describe()

        self._run(work, self._started)

    def stop(self) -> None:
        self._start_after_job = None
        if self.busy:
            self._stop_after_job = True
            return
        server = self.server
        if server is None:
            return
        self.state_changed.emit("stopping", "")
        self._run(lambda _r, _c: server.stop(), lambda _ok: None)

    def shutdown(self, ms_left: int = 15_000) -> bool:
        """Stop now, blocking (the window is closing), within `ms_left`: True when the server and its engines
        ended, a server still starting included."""
        deadline = time.monotonic() + ms_left / 1000
        ok = self.job.shutdown(ms_left) if self.job is not None else True
        server, self.server, self._starting = self.server or self._starting, None, None
        if server is not None:
            ok = server.stop(max(0.5, deadline - time.monotonic())) and ok
        return ok

    # -- internals --------------------------------------------------------------------------
    def _run(self, work: Callable[..., Any], done: Callable[[Any], None]) -> None:
        job = start_job(work, "local-server", self)
        job.succeeded.connect(done)
        job.failed.connect(self._failed)
        job.done.connect(self._job_done)
        self.job = job

    @Slot(object)
    def _started(self, result: tuple[Any, str]) -> None:
        self.server, label = result
        self._starting = None
        self.energy_label.emit(label)

    @Slot(object)
    def _failed(self, exc: BaseException) -> None:
        self._starting = None  # it stopped itself (LocalServer.start cleans up after a failed start)
        log.info("local server: %s", exc)
        self.state_changed.emit("failed", str(exc))

    @Slot()
    def _job_done(self) -> None:
        self.job = None
        if self.state in ("stopped", "failed"):
            self.server = None
        if self._stop_after_job:
            self._stop_after_job = False
            self.stop()
        elif self._start_after_job is not None:
            config, self._start_after_job = self._start_after_job, None
            self.start(config)

    @Slot(str, str)
    def _remember(self, state: str, detail: str) -> None:
        self.state = state
        if state == "running":
            self.url = detail
        elif state in ("stopped", "failed"):
            self.url = ""
            if self.job is None:
                self.server = None
