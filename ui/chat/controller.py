"""The chat controller: the one object that drives the engine for the window.

Signals for other parts of the window (the metrics readouts connect to these):

- ``engine_started(int pid, dict model_info)`` — a model finished loading in engine process
  `pid`; `model_info` is `ModelInfo.to_dict()` (path, encoding, n_params, file_bytes, n_ctx,
  n_threads, load_ms, rss, synthetic, …). Emitted again after every (re)load, and when a turn
  had to start a fresh engine because the last one crashed or hung.
- ``engine_stopped()`` — the engine process is gone or has no model (unload, eject, crash, shutdown).
- ``turn_started()`` — a reply began generating (the request left for the engine).
- ``turn_finished(dict stats)`` — a reply ended. `stats` is `TurnStats.to_dict()` (prompt_tokens,
  output_tokens, ttft_ms, prefill_tps, decode_tps, total_ms, peak_rss, rss, cpu_s, stop_reason,
  t_start_ns/t_first_ns/t_end_ns wall clock, `context`) plus `status` (complete / cancelled /
  interrupted / error), `conversation_id`, `message_id` and `model`. A reply that failed or was
  interrupted has an `error` text (and no figures when it failed before the engine answered).

Signals for the chat page: `model_loading(ModelChoice)`, `model_load_failed(object)`,
`reply_started(ChatTurn)`, `reply_tokens(str text, int offset, int tokens)` (one per token batch;
`offset` is where the text starts in the reply), `reply_token_times(list)` (the engine's timestamp of each
token of the batch), `reply_finished(int message_id, str status, dict stats)`, `busy_changed(bool)`,
`context_changed(int conversation_id, int tokens, int n_ctx)` (for the context meter).

All engine calls run on the `ChatServer` thread; this object lives on the GUI thread, never
blocks, and drops answers to requests it has given up on (request ids). The reply being written
lives in its `Turn` (backend.chat.runner); `reply_text()` reads it from there.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal

from backend.chat.choices import ModelChoice
from backend.chat.runner import Started, Turn, TurnResult
from backend.chat.session import ChatSession, ChatTurn
from backend.store import Store
from ui.chat.chat_server import ChatServer
from ui.messages import MessageBridge
from ui.server_thread import serve

log = logging.getLogger("tern.ui.chat")


class ChatController(QObject):
    engine_started = Signal(int, object)
    engine_stopped = Signal()
    turn_started = Signal()
    turn_finished = Signal(object)

    model_loading = Signal(object)  # ModelChoice
    model_calibrating = Signal(str)  # what the first load's thread calibration measures now ("" when it ends)
    model_load_failed = Signal(object)  # exception
    reply_started = Signal(object)  # ChatTurn
    reply_tokens = Signal(str, int, int)  # text of one token batch, its offset in the reply, its tokens
    reply_token_times = Signal(object)  # list of the engine's own clock (time_ns) for each token of the batch
    reply_finished = Signal(int, str, object)
    busy_changed = Signal(bool)
    context_changed = Signal(int, int, int)  # conversation id, tokens in use, context length

    _request_load = Signal(int, str, str, int, int)
    _request_turn = Signal(int, object)
    _request_count = Signal(int, int, object, str)
    _request_eject = Signal(int)
    _request_shutdown = Signal()

    def __init__(self, store: Store, bridge: MessageBridge, n_ctx: int = 2048, n_threads: int = 0,
                 parent: QObject | None = None, save_interval_s: float = 1.0) -> None:
        super().__init__(parent)
        self.store = store
        self.session = ChatSession(store)
        self.bridge = bridge
        self.n_ctx = n_ctx  # from Settings: what a load uses unless the picker's load options say otherwise
        self.n_threads = n_threads
        self.save_interval_s = save_interval_s
        self.choice: ModelChoice | None = None  # the model loaded or being loaded
        self.load_options: tuple[int, int] | None = None  # (n_ctx, n_threads) of the last load, if chosen
        self.info: dict[str, Any] | None = None  # set while a model is loaded
        self.loading = False
        self.turn: ChatTurn | None = None
        self.running: Turn | None = None  # the runner's turn: the reply's text lives there
        self._ids = itertools.count(1)
        self._load_rid = self._turn_rid = self._count_rid = 0
        self._live: tuple[int, int, int] | None = None  # (conversation, tokens in use, context) while streaming
        self._closed = False
        self._calibration_rid = 0  # the load whose thread calibration was announced

        self.server = ChatServer(store)
        self._request_load.connect(self.server.load)
        self._request_turn.connect(self.server.run_turn)
        self._request_count.connect(self.server.count)
        self._request_eject.connect(self.server.eject)
        self._request_shutdown.connect(self.server.shutdown)
        self.server.loaded.connect(self._loaded)
        self.server.load_failed.connect(self._load_failed)
        self.server.calibrating.connect(self._calibrating)
        self.server.started.connect(self._started)
        self.server.tokens.connect(self._tokens)
        self.server.turn_done.connect(self._turn_done)
        self.server.counted.connect(self._counted)
        self.server.restarted.connect(self._restarted)
        self.thread: QThread = serve(self.server, "chat-server")

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
    def engine_gone(self) -> bool:
        """A model is chosen but its engine crashed or hung: the next message starts a fresh one."""
        return self.info is None and not self.loading and self.choice is not None and self._load_rid > 0 \
            and not self._failed_load

    _failed_load = False

    @property
    def engine_pid(self) -> int | None:
        return self.server.pid if self.info is not None else None

    def reply_text(self, mid: int) -> str | None:
        """The text so far of reply `mid` if it is being written now (from the runner, the one copy)."""
        if self.turn is not None and self.running is not None and self.turn.reply.id == mid:
            return self.running.text
        return None

    # -- model ------------------------------------------------------------------------------
    def load_model(self, choice: ModelChoice, n_ctx: int | None = None, n_threads: int | None = None) -> int:
        """Load `choice` in a fresh engine (ending the loaded model's); answers arrive as signals.

        A reply being written is stopped first; it ends (and is recorded) as stopped by you.
        """
        if self.busy:
            self.stop()
        if self.loading:
            self.server.cancel_calibration(self._load_rid)  # a model still being measured gives way at once
        self.choice = choice
        self.load_options = (n_ctx, n_threads) if n_ctx or n_threads else None
        self.loading = True
        self._failed_load = False
        if self.info is not None:
            self.info = None
            self.engine_stopped.emit()
        self._load_rid = next(self._ids)
        self.model_loading.emit(choice)
        self._request_load.emit(self._load_rid, choice.path, choice.label, int(n_ctx or self.n_ctx),
                                int(n_threads if n_threads is not None else self.n_threads))
        return self._load_rid

    def reload_model(self) -> None:
        if self.choice is not None:
            ctx, threads = self.load_options or (None, None)
            self.load_model(self.choice, ctx, threads)

    def eject(self) -> None:
        """Unload the model and end its engine process (its memory goes back to the system)."""
        if self.busy:
            self.stop()
        if self.loading:
            self.server.cancel_calibration(self._load_rid)
            self.bridge.dismiss("calibration")
        self.choice, self.load_options, self.loading = None, None, False
        self._load_rid = next(self._ids)
        if self.info is not None:
            self.info = None
            self.engine_stopped.emit()
        self._request_eject.emit(self._load_rid)

    def cancel_calibration(self) -> None:
        """Stop measuring threads for the model being loaded: it loads with the default threads now."""
        if self.loading:
            self.server.cancel_calibration(self._load_rid)

    def _calibrating(self, rid: int, step: int, steps: int, what: str) -> None:
        if rid != self._load_rid or not self.loading:
            return
        if self._calibration_rid != rid:  # the first step: say what is happening, once, with a way out
            self._calibration_rid = rid
            label = self.choice.label if self.choice else "this model"
            self.bridge.info(f"Measuring the best thread count for {label} on this computer.",
                             "Once per model, a few seconds; it is kept, and Settings can set threads instead.",
                             actions=[("Skip", self.cancel_calibration)], key="calibration")
        self.model_calibrating.emit(f"{what} ({step} of {steps})" if steps else what)

    def _loaded(self, rid: int, info: dict[str, Any]) -> None:
        if rid != self._load_rid:
            return
        self.loading = False
        self.info = info
        self.bridge.dismiss("engine")
        self.bridge.dismiss("calibration")
        self.engine_started.emit(int(info.get("pid") or 0), info)

    def _restarted(self, info: dict[str, Any]) -> None:
        if self.choice is None or info.get("path") != self.choice.path:
            return
        self.info = info
        self.bridge.dismiss("engine")
        self.engine_started.emit(int(info.get("pid") or 0), info)

    def _load_failed(self, rid: int, exc: BaseException) -> None:
        if rid != self._load_rid:
            return
        self.loading = False
        self._failed_load = True
        self.info = None
        self.bridge.dismiss("calibration")
        label = self.choice.label if self.choice else "the model"
        self.bridge.exception(exc, f"loading {label}", actions=[("Try again", self.reload_model)],
                              key="engine")
        self.model_load_failed.emit(exc)

    # -- turns ------------------------------------------------------------------------------
    def send(self, cid: int, text: str, extra: dict[str, Any] | None = None) -> ChatTurn | None:
        """Send `text` in conversation `cid`; the reply streams in through the signals."""
        if not self.can_start():
            return None
        return self._start(self.session.begin_turn(cid, text, self._model_name(), extra))

    def regenerate(self, cid: int, extra: dict[str, Any] | None = None) -> ChatTurn | None:
        if not self.can_start():
            return None
        return self._start(self.session.begin_regenerate(cid, self._model_name(), extra))

    def edit_and_resend(self, cid: int, mid: int, text: str,
                        extra: dict[str, Any] | None = None) -> ChatTurn | None:
        if not self.can_start():
            return None
        return self._start(self.session.begin_edit(cid, mid, text, self._model_name(), extra))

    def continue_reply(self, cid: int, mid: int, extra: dict[str, Any] | None = None) -> ChatTurn | None:
        if not self.can_start():
            return None
        return self._start(self.session.begin_continue(cid, mid, self._model_name(), extra))

    def stop(self) -> None:
        """Stop the reply being generated (Esc, the Stop button). Returns at once; works before it starts."""
        if self.running is not None:
            self.running.cancel()

    def can_start(self) -> bool:
        """Whether a reply can start now; if not, the bridge tells the user why."""
        if self.busy:
            return False
        if self.info is None and not self.engine_gone:
            if self.loading:
                self.bridge.info("The model is still loading; your message can be sent in a moment.",
                                 key="not-ready", timeout_ms=4000)
            else:
                self.bridge.warning("No model is loaded.", "Choose a model at the top of the chat, or open "
                                    "the Library to get one.", key="not-ready")
            return False
        return True

    def count_context(self, cid: int) -> None:
        """Ask how many tokens conversation `cid` takes (answered by `context_changed`)."""
        if not cid or self.info is None:
            return
        self._count_rid = next(self._ids)
        self._request_count.emit(self._count_rid, cid, self.session.engine_messages(cid), "")

    def _model_name(self) -> str | None:
        return self.choice.label if self.choice else None

    def _start(self, turn: ChatTurn) -> ChatTurn:
        self._turn_rid = next(self._ids)
        self._count_rid = 0  # a count asked before this turn is out of date
        self.turn = turn
        self.running = Turn(turn.spec, self.store, save_interval_s=self.save_interval_s)
        self._live = None
        self.reply_started.emit(turn)
        self.busy_changed.emit(True)
        self._request_turn.emit(self._turn_rid, self.running)
        self.turn_started.emit()
        return turn

    def _started(self, rid: int, ev: Started) -> None:
        if rid != self._turn_rid or self.turn is None or ev.prompt_tokens is None or not ev.n_ctx:
            return
        self._live = (self.turn.conversation_id, ev.prompt_tokens, ev.n_ctx)
        self.context_changed.emit(*self._live)

    def _tokens(self, rid: int, text: str, offset: int, times: list[int]) -> None:
        if rid != self._turn_rid or self.turn is None:
            return
        self.reply_tokens.emit(text, offset, len(times))
        if times:
            self.reply_token_times.emit(times)
            if self._live is not None:
                cid, used, n_ctx = self._live
                self._live = (cid, used + len(times), n_ctx)
                self.context_changed.emit(*self._live)

    def _turn_done(self, rid: int, result: TurnResult) -> None:
        if rid != self._turn_rid or self.turn is None:
            return
        turn, self.turn, self.running = self.turn, None, None
        stats = dict(result.stats)
        self.reply_finished.emit(turn.reply.id, result.status, stats)
        self.busy_changed.emit(False)
        self.turn_finished.emit({**stats, "status": result.status, "conversation_id": turn.conversation_id,
                                 "message_id": turn.reply.id, "model": self._model_name()})
        if result.error is not None:
            self._turn_failed(result.error)
        self.count_context(turn.conversation_id)

    def _turn_failed(self, exc: BaseException) -> None:
        from backend.chat.context import ContextFull
        from backend.engine import EngineCrashed, EngineError, EngineHung

        if isinstance(exc, EngineHung):
            self._engine_gone(exc, "generating a reply", "Restart now")
        elif isinstance(exc, EngineCrashed):
            self._engine_gone(exc, "generating a reply", "Reload model")
        elif isinstance(exc, ContextFull):
            self.bridge.error(f"No reply: {exc.message[0].lower()}{exc.message[1:]}", exc.hint, key="engine")
        elif isinstance(exc, EngineError):
            reason = exc.message.rstrip(".")
            self.bridge.error(f"The model could not write a reply: {reason}.",
                              exc.hint or "Try again; if it keeps failing, reload the model.",
                              actions=[("Reload model", self.reload_model)], key="engine")
        else:
            self.bridge.exception(exc, "generating a reply", key="engine")

    def _engine_gone(self, exc: BaseException, doing: str, action: str = "Reload model") -> None:
        self.info = None
        self.engine_stopped.emit()
        self.bridge.exception(exc, doing, actions=[(action, self.reload_model)], key="engine")

    def _counted(self, rid: int, cid: int, n: int, n_ctx: int) -> None:
        if rid == self._count_rid and not self.busy:
            self.context_changed.emit(cid, n, n_ctx)

    def _check_alive(self) -> None:
        if self.info is None or self.busy or self.loading:
            return
        if not self.server.alive:
            from backend.engine import EngineCrashed

            self._engine_gone(EngineCrashed(None, [], "waiting for your next message"), "waiting for a message")

    # -- shutdown ---------------------------------------------------------------------------
    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel, close the engine, stop the thread (waiting at most `timeout_ms`). True if clean."""
        if self._closed:
            return True
        self._closed = True
        self._watchdog.stop()
        self._turn_rid = self._load_rid = self._count_rid = -1  # nothing that arrives from now on is for us
        self.stop()
        self._request_shutdown.emit()
        clean = self.thread.wait(timeout_ms)
        if not clean:  # stuck in a long call: end the engine process so the call returns
            log.warning("chat server thread did not stop within %d ms; killing the engine", timeout_ms)
            self.server.kill_engine()
            clean = self.thread.wait(3000)
        if self.info is not None:
            self.info = None
            self.engine_stopped.emit()
        self.turn = self.running = None
        return clean

    @property
    def stopped(self) -> bool:
        """Whether the server thread has ended (after `shutdown`)."""
        try:
            return self.thread.isFinished()
        except RuntimeError:  # ended and already deleted
            return True
