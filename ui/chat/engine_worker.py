"""The engine worker: a QObject on its own QThread that makes every blocking EngineClient call.

STYLE.md's worker recipe. Requests arrive as queued signals from the controller, each tagged
with a request id; results go back as signals with the same id, so the controller can drop
answers to requests it has given up on. Cancel is a `threading.Event` per request set from the
GUI thread (which also calls `EngineClient.cancel()` directly — it is thread-safe), because a
queued cancel slot could not run while this thread is busy streaming a reply.

The reply is written to the store from here (`ReplyRecorder`, about once a second and at the
end), so persistence never waits for the GUI and never blocks it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from backend.chat.session import ReplyRecorder
from backend.store import CANCELLED, COMPLETE, FAILED, Store

log = logging.getLogger("tern.ui.engine")


class EngineWorker(QObject):
    loaded = Signal(int, object)  # request id, ModelInfo as a dict
    load_failed = Signal(int, object)  # request id, exception
    token = Signal(int, str, object)  # request id, text piece, engine time of the token (time_ns; None: tail)
    done = Signal(int, object, str)  # request id, TurnStats as a dict, message status
    failed = Signal(int, object)  # request id, exception (the partial reply is stored, status "error")
    closed = Signal()

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.client: Any = None  # EngineClient, created on first load (importing it costs ~0.3 s)

    @property
    def pid(self) -> int | None:
        client = self.client
        return client.pid if client is not None and client.alive else None

    def cancel_now(self) -> None:
        """Called from the GUI thread: stop the reply being generated, whatever this thread is doing."""
        client = self.client
        if client is not None:
            client.cancel()

    @Slot(int, str, int, int)
    def load(self, rid: int, path: str, n_ctx: int, n_threads: int) -> None:
        try:
            from backend.engine import EngineClient

            if self.client is None:
                self.client = EngineClient("chat")
            info = self.client.load(path, n_ctx=n_ctx, n_threads=n_threads or None)
            self.loaded.emit(rid, info.to_dict())
        except Exception as e:  # every failure reaches the user through the controller
            log.info("load of %s failed: %s", path, e)
            self.load_failed.emit(rid, e)

    @Slot(int, object)
    def generate(self, rid: int, job: dict[str, Any]) -> None:
        from backend.engine import Done, EngineError

        cancel: threading.Event = job["cancel"]
        recorder = ReplyRecorder(self.store, job["reply_id"], interval_s=job.get("save_interval_s", 1.0))
        if cancel.is_set():  # stopped before it started
            stats = {"stop_reason": "cancelled", "output_tokens": 0}
            recorder.finish(CANCELLED, stats)
            self.done.emit(rid, stats, CANCELLED)
            return
        try:
            if self.client is None:
                raise EngineError("No model is loaded.", code="not_running", hint="Choose a model first.")
            resent = False
            for ev in self.client.generate(messages=job["messages"], params=job["params"]):
                if isinstance(ev, Done):
                    stats = ev.stats.to_dict()
                    status = CANCELLED if ev.stats.stop_reason == "cancelled" else COMPLETE
                    if ev.tail:
                        self.token.emit(rid, ev.tail, None)
                    recorder.finish(status, stats, ev.tail)
                    self.done.emit(rid, stats, status)
                    return
                recorder.add(ev.text)
                self.token.emit(rid, ev.text, ev.t_ns)
                if cancel.is_set() and not resent:
                    # The cancel may have reached the engine before this request did; say it again.
                    self.client.cancel()
                    resent = True
        except Exception as e:
            log.info("reply %s failed: %s", job["reply_id"], e)
            try:
                recorder.finish(FAILED, {"error": str(e), "stop_reason": "error"})
            except Exception:
                log.exception("could not record the failed reply %s", job["reply_id"])
            self.failed.emit(rid, e)

    @Slot()
    def shutdown(self) -> None:
        """Close the engine process and this thread's database connection."""
        try:
            if self.client is not None:
                self.client.close()
        finally:
            self.store.close()
            self.closed.emit()
