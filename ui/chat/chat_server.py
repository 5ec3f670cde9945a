"""The chat's engine server: a QObject on its own thread that makes every blocking engine call.

STYLE.md's server recipe (ui/server_thread.py). Requests arrive as queued signals tagged with a
request id; answers go back as signals with the same id, so the controller drops answers to
requests it has given up on. A turn is a `backend.chat.runner.Turn` made by the controller: the
runner writes the reply to the store and keeps its text; this server only runs it and passes
its events on, one token batch per signal. Cancel is `Turn.cancel()`, called on the GUI thread.

One model, one engine process: loading a model starts a fresh engine (`ModelEngine.load`);
an engine that crashed or hung is replaced by the next turn.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from backend.chat.model_engine import ModelEngine
from backend.chat.runner import Delta, Finished, Started, Turn
from backend.store import Store

log = logging.getLogger("tern.ui.chat")


class ChatServer(QObject):
    loaded = Signal(int, object)  # request id, ModelInfo as a dict
    load_failed = Signal(int, object)  # request id, exception
    calibrating = Signal(int, int, int, str)  # request id, step, steps, what: the first load's thread calibration
    ejected = Signal(int)  # request id
    started = Signal(int, object)  # request id, runner.Started (prompt tokens after the context policy)
    tokens = Signal(int, str, int, object)  # request id, text, offset in the reply, engine times (time_ns)
    turn_done = Signal(int, object)  # request id, runner.TurnResult
    counted = Signal(int, int, int, int)  # request id, conversation id, prompt tokens, context length
    restarted = Signal(object)  # ModelInfo as a dict: the next turn started a fresh engine
    finished = Signal()

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.model: ModelEngine | None = None
        self._loading: tuple[int, ModelEngine] | None = None  # the load under way (its calibration can be cancelled)
        self._skip_rid = 0  # a load whose calibration was cancelled before the load began

    @property
    def pid(self) -> int | None:
        """The engine process (read from the GUI thread: a snapshot)."""
        model = self.model
        return model.pid if model is not None else None

    @property
    def alive(self) -> bool:
        model = self.model
        client = model.client if model is not None else None
        return client is not None and client.alive

    @Slot()
    def run(self) -> None:
        log.debug("chat server ready")

    @Slot(int, str, str, int, int)
    def load(self, rid: int, path: str, label: str, n_ctx: int, n_threads: int) -> None:
        self._close_model()  # the earlier model's process ends before the next one starts
        model = ModelEngine(path, n_ctx=n_ctx, n_threads=n_threads, label=label, name="chat",
                            on_calibration=lambda step, steps, what: self.calibrating.emit(rid, step, steps, what))
        self._loading = (rid, model)
        if self._skip_rid == rid:
            model.cancel_calibration()
        try:
            info = model.load()
        except Exception as e:  # every failure reaches the user through the controller
            log.info("load of %s failed: %s", path, e)
            model.close()
            self.load_failed.emit(rid, e)
            return
        finally:
            self._loading = None
        self.model = model
        self.loaded.emit(rid, info.to_dict())

    def cancel_calibration(self, rid: int) -> None:
        """Thread-safe (called from the GUI thread, also while `load` runs here): load `rid` does not measure
        threads, or stops measuring them; the model keeps the default threads and nothing is kept."""
        self._skip_rid = rid
        loading = self._loading
        if loading is not None and loading[0] == rid:
            loading[1].cancel_calibration()

    @Slot(int)
    def eject(self, rid: int) -> None:
        self._close_model()
        self.ejected.emit(rid)

    @Slot(int, object)
    def run_turn(self, rid: int, turn: Turn) -> None:
        model = self.model
        if model is None:
            from backend.engine import EngineError

            err = EngineError("No model is loaded.", code="not_running", hint="Choose a model first.")
            self.turn_done.emit(rid, turn.fail(err))
            return
        restarted = not model.ready and model.starts > 0 and not turn.cancelled
        try:
            with model.slot() as engine:
                if restarted and model.info is not None:
                    self.restarted.emit(model.info.to_dict())
                for ev in turn.events(engine):
                    if isinstance(ev, Delta):
                        self.tokens.emit(rid, ev.text, ev.offset, [t.t_ns for t in ev.tokens])
                    elif isinstance(ev, Started):
                        self.started.emit(rid, ev)
                    elif isinstance(ev, Finished):
                        self.turn_done.emit(rid, ev.result)
        except Exception as e:  # the engine could not be restarted: the turn fails, recorded
            log.info("turn %s could not start: %s", rid, e)
            self.turn_done.emit(rid, turn.fail(e))

    @Slot(int, int, object, str)
    def count(self, rid: int, cid: int, messages: list[dict[str, Any]], prefix: str) -> None:
        model = self.model
        if model is None or not model.ready:
            return
        try:
            with model.slot() as engine:
                n, n_ctx = engine.count(messages, prefix)
        except Exception as e:  # the meter shows "—" until the next count
            log.info("could not count the conversation's tokens: %s", e)
            return
        self.counted.emit(rid, cid, n, n_ctx)

    @Slot()
    def shutdown(self) -> None:
        """Close the engine process and this thread's database connection."""
        try:
            self._close_model()
        finally:
            self.store.close()
            self.finished.emit()

    def kill_engine(self) -> None:
        """From the GUI thread, when the server is stuck in a long call: end the engine so the call returns."""
        model = self.model
        client = model.client if model is not None else None
        if client is not None and client.proc is not None:
            client.proc.kill()

    def _close_model(self) -> None:
        model, self.model = self.model, None
        if model is not None:
            model.close()
