"""The chat controller: the one object that drives the engine for the window.

Signals for other parts of the window (the metrics readouts connect to these):

- ``engine_started(int pid, dict model_info)`` — a model finished loading in engine process
  `pid`; `model_info` is `ModelInfo.to_dict()` (path, encoding, n_params, file_bytes, n_ctx,
  n_threads, load_ms, rss, synthetic, …). Emitted again after every (re)load.
- ``engine_stopped()`` — the engine process is gone or has no model (unload, crash, shutdown).
- ``turn_started()`` — a reply began generating (the request left for the engine).
- ``turn_finished(dict stats)`` — a reply ended. `stats` is `TurnStats.to_dict()` (prompt_tokens,
  output_tokens, ttft_ms, prefill_tps, decode_tps, total_ms, peak_rss, rss, cpu_s, stop_reason,
  t_start_ns/t_first_ns/t_end_ns wall clock) plus `status` (complete / cancelled / error),
  `conversation_id`, `message_id` and `model`. A failed reply has `stop_reason` "error" and an
  `error` text instead of figures.

Signals for the chat page: `model_loading(str)`, `model_load_failed(object)`, `reply_started(Turn)`,
`reply_tokens(str)`, `reply_token_at(int t_ns)` (the engine's timestamp of each token),
`reply_finished(int message_id, str status, dict stats)`, `busy_changed(bool)`.

All engine calls run on the `EngineWorker` thread; this object lives on the GUI thread, never
blocks, and drops events of requests it has given up on (request ids).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal

from backend.chat.choices import ModelChoice
from backend.chat.session import ChatSession, Turn
from backend.store import FAILED, Store
from ui.chat.engine_worker import EngineWorker
from ui.messages import MessageBridge

log = logging.getLogger("tern.ui.chat")


class ChatController(QObject):
    engine_started = Signal(int, object)
    engine_stopped = Signal()
    turn_started = Signal()
    turn_finished = Signal(object)

    model_loading = Signal(object)  # ModelChoice
    model_load_failed = Signal(object)  # exception
    reply_started = Signal(object)  # Turn
    reply_tokens = Signal(str)
    reply_token_at = Signal(object)  # the engine's own clock (time_ns) for each sampled token
    reply_finished = Signal(int, str, object)
    busy_changed = Signal(bool)

    _request_load = Signal(int, str, int, int)
    _request_generate = Signal(int, object)
    _request_shutdown = Signal()

    def __init__(self, store: Store, bridge: MessageBridge, n_ctx: int = 2048, n_threads: int = 0,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.session = ChatSession(store)
        self.bridge = bridge
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.choice: ModelChoice | None = None  # the model loaded or being loaded
        self.info: dict[str, Any] | None = None  # set while a model is loaded
        self.loading = False
        self.turn: Turn | None = None
        self._rid = 0
        self._cancel: threading.Event | None = None
        self._closed = False

        self.thread = QThread(self)
        self.thread.setObjectName("engine-worker")
        self.worker = EngineWorker(store)
        self.worker.moveToThread(self.thread)
        self.thread.finished.connect(self.worker.deleteLater)
        # quit from inside the worker thread once the engine is closed, so the shutdown request
        # is never skipped by an event loop that was told to quit first
        self.worker.closed.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
        self._request_load.connect(self.worker.load)
        self._request_generate.connect(self.worker.generate)
        self._request_shutdown.connect(self.worker.shutdown)
        self.worker.loaded.connect(self._loaded)
        self.worker.load_failed.connect(self._load_failed)
        self.worker.token.connect(self._token)
        self.worker.done.connect(self._done)
        self.worker.failed.connect(self._failed)
        self.thread.start()

        self._watchdog = QTimer(self)  # notices an engine that dies while idle
        self._watchdog.setInterval(1000)
        self._watchdog.timeout.connect(self._check_alive)
        self._watchdog.start()

    # -- state ------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.turn is not None

    @property
    def ready(self) -> bool:
        return self.info is not None and not self.loading

    @property
    def engine_pid(self) -> int | None:
        return self.worker.pid

    # -- model ------------------------------------------------------------------------------
    def load_model(self, choice: ModelChoice) -> int:
        """Load `choice` in the engine (replacing the loaded model); answers arrive as signals."""
        if self.busy:
            self.stop()
        self.choice = choice
        self.loading = True
        if self.info is not None:
            self.info = None
            self.engine_stopped.emit()
        self._rid += 1
        self.model_loading.emit(choice)
        self._request_load.emit(self._rid, choice.path, self.n_ctx, self.n_threads)
        return self._rid

    def reload_model(self) -> None:
        if self.choice is not None:
            self.load_model(self.choice)

    def _loaded(self, rid: int, info: dict[str, Any]) -> None:
        if rid != self._rid:
            return
        self.loading = False
        self.info = info
        self.bridge.dismiss("engine")
        self.engine_started.emit(int(info.get("pid") or 0), info)

    def _load_failed(self, rid: int, exc: BaseException) -> None:
        if rid != self._rid:
            return
        self.loading = False
        self.info = None
        label = self.choice.label if self.choice else "the model"
        self.bridge.exception(exc, f"loading {label}", actions=[("Try again", self.reload_model)],
                              key="engine")
        self.model_load_failed.emit(exc)

    # -- turns ------------------------------------------------------------------------------
    def send(self, cid: int, text: str, extra: dict[str, Any] | None = None) -> Turn | None:
        """Send `text` in conversation `cid`; the reply streams in through the signals."""
        if not self.can_start():
            return None
        return self._start(self.session.begin_turn(cid, text, self._model_name(), extra))

    def regenerate(self, cid: int, extra: dict[str, Any] | None = None) -> Turn | None:
        if not self.can_start():
            return None
        return self._start(self.session.begin_regenerate(cid, self._model_name(), extra))

    def edit_and_resend(self, cid: int, mid: int, text: str,
                        extra: dict[str, Any] | None = None) -> Turn | None:
        if not self.can_start():
            return None
        return self._start(self.session.begin_edit(cid, mid, text, self._model_name(), extra))

    def stop(self) -> None:
        """Stop the reply being generated (Esc, the Stop button). Returns at once."""
        if self._cancel is not None:
            self._cancel.set()
        self.worker.cancel_now()

    def can_start(self) -> bool:
        """Whether a reply can start now; if not, the bridge tells the user why."""
        if self.busy:
            return False
        if self.info is None:
            if self.loading:
                self.bridge.info("The model is still loading; your message can be sent in a moment.",
                                 key="not-ready", timeout_ms=4000)
            else:
                self.bridge.warning("No model is loaded.", "Choose a model at the top of the chat, or open "
                                    "the Library to get one.", key="not-ready")
            return False
        return True

    def _model_name(self) -> str | None:
        return self.choice.label if self.choice else None

    def _start(self, turn: Turn) -> Turn:
        self._rid += 1
        self._cancel = threading.Event()
        self.turn = turn
        self.reply_started.emit(turn)
        self.busy_changed.emit(True)
        job = {"messages": turn.messages, "params": turn.params, "reply_id": turn.reply.id,
               "cancel": self._cancel}
        self._request_generate.emit(self._rid, job)
        self.turn_started.emit()
        return turn

    def _token(self, rid: int, text: str, t_ns: int | None) -> None:
        if rid == self._rid and self.turn is not None:
            self.reply_tokens.emit(text)
            if t_ns is not None:
                self.reply_token_at.emit(t_ns)

    def _done(self, rid: int, stats: dict[str, Any], status: str) -> None:
        if rid != self._rid or self.turn is None:
            return
        turn, self.turn, self._cancel = self.turn, None, None
        self.reply_finished.emit(turn.reply.id, status, stats)
        self.busy_changed.emit(False)
        self.turn_finished.emit({**stats, "status": status, "conversation_id": turn.conversation_id,
                                 "message_id": turn.reply.id, "model": self._model_name()})

    def _failed(self, rid: int, exc: BaseException) -> None:
        if rid != self._rid or self.turn is None:
            return
        from backend.engine import EngineCrashed, EngineError

        turn, self.turn, self._cancel = self.turn, None, None
        stats = {"error": str(exc), "stop_reason": "error"}
        self.reply_finished.emit(turn.reply.id, FAILED, stats)
        self.busy_changed.emit(False)
        self.turn_finished.emit({**stats, "status": FAILED, "conversation_id": turn.conversation_id,
                                 "message_id": turn.reply.id, "model": self._model_name()})
        if isinstance(exc, EngineCrashed):
            self._engine_gone(exc)
        elif isinstance(exc, EngineError):
            reason = exc.message.rstrip(".")
            reload = [] if exc.code == "context_full" else [("Reload model", self.reload_model)]
            self.bridge.error(f"The model could not write a reply: {reason}.",
                              exc.hint or "Try again; if it keeps failing, reload the model.",
                              actions=reload, key="engine")
        else:
            self.bridge.exception(exc, "generating a reply", key="engine")

    def _engine_gone(self, exc: BaseException) -> None:
        self.info = None
        self.engine_stopped.emit()
        self.bridge.exception(exc, "generating a reply", actions=[("Reload model", self.reload_model)],
                              key="engine")

    def _check_alive(self) -> None:
        if self.info is None or self.busy or self.loading:
            return
        client = self.worker.client
        if client is not None and not client.alive:
            from backend.engine import EngineCrashed

            status = client.proc.returncode if client.proc is not None else None
            self._engine_gone(EngineCrashed(status, [], "waiting for your next message"))

    # -- shutdown ---------------------------------------------------------------------------
    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel, close the engine, stop the thread (waiting at most `timeout_ms`). True if clean."""
        if self._closed:
            return True
        self._closed = True
        self._watchdog.stop()
        self._rid += 1  # nothing that arrives from now on is for us
        self.stop()
        self._request_shutdown.emit()
        clean = self.thread.wait(timeout_ms)
        if not clean:  # stuck in a long call: end the engine process so the call returns
            log.warning("engine thread did not stop within %d ms; killing the engine", timeout_ms)
            client = self.worker.client
            if client is not None and client.proc is not None:
                client.proc.kill()
            clean = self.thread.wait(3000)
        if self.info is not None:
            self.info = None
            self.engine_stopped.emit()
        self.turn = None
        return clean
