"""STYLE.md's worker recipe for long-lived request servers (Chat's engine, Compare's runs).

A server is a QObject with a `run` slot (called when its thread starts), request slots that
callers reach through queued signals, and a `finished` signal it emits after its last request
(its shutdown slot). The thread quits on `finished`; server and thread are deleted later. Cancel
never goes through the queue (a queued slot cannot run while the server is busy): servers offer
a thread-safe method for it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QThread


def serve(server: QObject, name: str) -> QThread:
    """Move `server` to a new thread named `name`, wire the recipe, start it; returns the thread.

    The thread has no parent (it is deleted when it finishes); keep a reference while it runs.
    """
    thread = QThread()
    thread.setObjectName(name)
    server.moveToThread(thread)
    thread.started.connect(server.run)  # type: ignore[attr-defined]
    # quit from the server's own thread once it has shut down, so its last request is never skipped by an
    # event loop that was told to quit first (and the GUI thread may be blocked waiting for it)
    server.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)  # type: ignore[attr-defined]
    thread.finished.connect(server.deleteLater)
    thread.finished.connect(thread.deleteLater)
    thread.start()
    return thread
