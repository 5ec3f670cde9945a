"""Load the library's backend (the Hub client, gguf, numpy: about a second of imports) on a job.

`load_then(window, install)` imports those modules and reads the catalog off the GUI thread, then
calls `install(catalog)` on the GUI thread; the window stays responsive and the simple
local-models page serves meanwhile. The job is waited for when the window closes or the app
quits, so its thread never outlives them.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

from ui.jobs import Job, start_job

HEAVY = ("backend.hub", "backend.models.derive", "backend.models.importer")


class _StopOnClose(QObject):
    def __init__(self, job: Job, window: QObject) -> None:
        super().__init__(window)
        self.job = job
        window.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Close:
            self.job.shutdown()
        return False


def load_then(window: Any, install: Callable[[Any], Any]) -> Job:
    def work(_report: Callable[[str, float], None], _cancel: threading.Event) -> Any:
        for name in HEAVY:
            importlib.import_module(name)
        from backend.hub import load_catalog

        return load_catalog()

    def loaded(catalog: Any) -> None:
        if not getattr(window, "_closing", False):
            install(catalog)

    job = start_job(work, "library-load", window)
    job.succeeded.connect(loaded)
    job.failed.connect(lambda e: window.bridge.exception(e, "loading the Library page"))
    window._library_loader = job
    window._library_loader_stop = _StopOnClose(job, window)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(job.shutdown)
    return job
