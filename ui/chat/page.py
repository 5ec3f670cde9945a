"""The chat page: conversation list | conversation | conversation settings, and the wiring between
them, the store and the chat controller."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from backend.chat.choices import ModelChoice, choices, find_choice
from backend.chat.context import DEFAULT_POLICY
from backend.chat.session import default_params
from backend.models.registry import Registry
from backend.store import Store
from ui.chat.chat_view import ChatView
from ui.chat.composer import Composer
from ui.chat.controller import ChatController
from ui.chat.header import ChatHeader
from ui.chat.message_actions import UNDO_MS, MessageActions
from ui.chat.options_panel import OptionsPanel
from ui.chat.store_action import store_action
from ui.conversations import ConversationPanel
from ui.messages import MessageBridge

log = logging.getLogger("tern.ui.chat")


# Below this page width the conversation list, the chat and the open settings panel do not all fit
# (list 200 + chat 440 + settings 260 px): the list steps aside while the settings are open.
CROWDED_BELOW = 900


class ChatPage(QWidget):
    model_changed = Signal(object)  # ModelChoice the user picked (to remember as the last model)
    conversation_changed = Signal(int)

    def __init__(self, store: Store, registry: Registry, bridge: MessageBridge, n_ctx: int = 2048,
                 n_threads: int = 0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatPage")
        self.store, self.registry, self.bridge = store, registry, bridge
        self.controller = ChatController(store, bridge, n_ctx, n_threads, self)
        self.cid = 0
        # engine parameters added to every turn (benchmarks and screenshots ask for long replies)
        self.extra_params: dict[str, Any] = {}

        self.conversations = ConversationPanel(store, self)
        self.header = ChatHeader(self)
        self.header.load_defaults = (n_ctx, n_threads)
        self.view = ChatView(self)
        self.view.live_text = self.controller.reply_text  # a streaming reply's text has one owner: its turn
        self.composer = Composer(self)
        self.options = OptionsPanel(default_params, self)
        self.options.hide()

        center = QWidget(self)
        center.setObjectName("ChatArea")
        col = QVBoxLayout(center)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        col.addWidget(self.header)
        col.addWidget(self.header.load_options)
        col.addWidget(self.header.badge)
        col.addWidget(self.view, 1)
        col.addWidget(self.composer)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("ChatSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(1)
        self.splitter.addWidget(self.conversations)
        self.splitter.addWidget(center)
        self.splitter.addWidget(self.options)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([260, 800, 300])
        self.conversations.setMinimumWidth(200)
        self.options.setMinimumWidth(260)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.splitter)

        # user intentions
        self.conversations.selected.connect(self.open_conversation)
        self.conversations.new_requested.connect(self.new_conversation)
        self.conversations.delete_requested.connect(self.delete_conversation)
        self.conversations.model.failed.connect(
            lambda e: self.bridge.exception(e, "renaming the conversation", key="store"))
        self.header.model_chosen.connect(self.choose_model)
        self.header.load_with.connect(self.load_with)
        self.header.eject_requested.connect(self.eject)
        self.header.options_toggled.connect(self._show_options)
        self.options.close_requested.connect(lambda: self.header.options_button.setChecked(False))
        self.options.changed.connect(self._options_changed)
        self.composer.send_requested.connect(self.send)
        self.composer.stop_requested.connect(self.controller.stop)
        self.view.edit_submitted.connect(self.edit_and_resend)
        self.view.regenerate_requested.connect(lambda _mid: self.regenerate())
        # the engine's answers
        c = self.controller
        c.model_loading.connect(self._model_loading)
        c.model_calibrating.connect(self._model_calibrating)
        c.engine_started.connect(self._engine_started)
        c.engine_stopped.connect(self._engine_stopped)
        c.model_load_failed.connect(self._load_failed)
        c.reply_started.connect(self.view.begin_reply)
        c.reply_tokens.connect(self.view.append_tokens)
        c.reply_finished.connect(self._reply_finished)
        c.busy_changed.connect(self._busy_changed)
        self.actions = MessageActions(self)  # continue, delete, reply versions, and the context meter
        self._update_ready()

    # -- layout -----------------------------------------------------------------------------
    def _show_options(self, on: bool) -> None:
        self.options.setVisible(on)
        self._fit_columns()

    def _fit_columns(self) -> None:
        """A narrow window with the settings open gives the chat the conversation list's room: the list
        comes back when the settings close or the window widens (the chat never gets squeezed to a strip)."""
        crowded = self.options.isVisibleTo(self) and self.width() < CROWDED_BELOW
        self.conversations.setVisible(not crowded)

    def resizeEvent(self, e: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(e)
        self._fit_columns()

    # -- models -----------------------------------------------------------------------------
    def refresh_models(self) -> list[ModelChoice]:
        options = choices(self.registry)
        self.header.set_choices(options, self.controller.choice)
        self._update_ready()
        return options

    def choose_model(self, choice: ModelChoice) -> None:
        self.controller.load_model(choice)
        self.model_changed.emit(choice)

    def load_with(self, choice: ModelChoice, n_ctx: int, n_threads: int) -> None:
        """Load `choice` with this context length and these threads (this load only)."""
        self.controller.load_model(choice, n_ctx, n_threads)
        self.model_changed.emit(choice)

    def eject(self) -> None:
        self.controller.eject()
        self.header.show_current(None)
        self.header.set_state("Ejected", "")
        self._update_ready()

    def set_load_defaults(self, n_ctx: int, n_threads: int) -> None:
        """The Settings values a load starts from (the load options show them)."""
        self.controller.n_ctx, self.controller.n_threads = n_ctx, n_threads
        self.header.load_defaults = (n_ctx, n_threads)

    def load_spec(self, spec: str) -> bool:
        """Load a model by registry spec (the last model at start-up); False if it is gone."""
        choice = find_choice(choices(self.registry), spec) if spec else None
        if choice is None:
            return False
        self.controller.load_model(choice)
        return True

    def _model_loading(self, choice: ModelChoice) -> None:
        self.header.show_current(choice)
        self.header.set_state("Loading…", "busy")
        self._update_ready()

    def _model_calibrating(self, what: str) -> None:
        """The first load of a model on this computer measures its threads: a few seconds, said as such."""
        label = self.controller.choice.label if self.controller.choice else "the model"
        self.header.set_state("Measuring threads…", "busy")
        self.composer.set_ready(False, "Measuring threads…")
        self.view.empty.set_text(f"Measuring threads for {label}",
                                 f"Once per model on this computer, a few seconds (now: {what}). "
                                 "You can start typing; send when it is ready.")

    def _engine_started(self, pid: int, info: dict[str, Any]) -> None:
        self.header.set_state("", "")
        self.header.model_max = int(info.get("n_ctx_train") or 0) or None
        self.header.load_defaults = (int(info.get("n_ctx") or self.controller.n_ctx),
                                     self.controller.load_options[1] if self.controller.load_options else
                                     self.controller.n_threads)
        self._update_ready()
        self.controller.count_context(self.cid)

    def _engine_stopped(self) -> None:
        if not self.controller.loading and self.controller.choice is not None:
            self.header.set_state("Engine stopped", "error")
        self._update_ready()

    def _load_failed(self, exc: BaseException) -> None:
        self.header.set_state("Not loaded", "error")
        self._update_ready()

    def _update_ready(self) -> None:
        """The composer and the empty page say what state the model is in, by its name."""
        c = self.controller
        label = c.choice.label if c.choice else "the model"
        if c.ready:
            self.composer.set_ready(True, f"Message {label}…")
            self.view.empty.set_text("Start a conversation", self._empty_detail())
        elif c.loading:
            self.composer.set_ready(False, f"Loading {label}…")
            self.view.empty.set_text(f"Loading {label}…", "You can start typing; send when it is ready.")
        elif c.engine_gone:
            self.composer.set_ready(True, f"Message {label}… (its engine starts again first)")
            self.view.empty.set_text("Start a conversation", self._empty_detail())
        else:
            self.composer.set_ready(False, "Choose a model to start…")
            self.view.empty.set_text("Choose a model to start",
                                     "Pick one of your models at the top, or find one in the Library.")

    def _empty_detail(self) -> str:
        c = self.controller.choice
        if c is None:
            return ""
        text = f"Replies are written on this computer by {c.label}."
        if c.synthetic:
            text += ("\nThis is a synthetic model with random weights: it is for measuring speed, "
                     "not for conversation, so its replies are random words.")
        return text

    # -- conversations ----------------------------------------------------------------------
    @store_action("opening the conversation")
    def open_conversation(self, cid: int) -> None:
        if cid == self.cid and cid:
            return
        try:
            conv = self.store.conversation(cid) if cid else None
            messages = self.store.messages(cid) if cid else []
        except KeyError:
            conv, messages, cid = None, [], 0
        self.options.flush()
        self.cid = cid
        self.view.show_messages(messages)
        self.view.set_busy(self.controller.busy)
        if conv is not None:
            self.options.bind(lambda: (conv.system_prompt, self.controller.session.params(cid),
                                       self.controller.session.policy(cid)))
        else:
            self.options.bind(lambda: ("", default_params(), DEFAULT_POLICY))
        self.actions.show_context()
        if not self.controller.busy:
            self.controller.count_context(cid)
        if self.conversations.current_id != cid:
            self.conversations.refresh(select=cid)
        self.conversation_changed.emit(cid)

    @store_action("starting a new conversation")
    def new_conversation(self) -> int:
        """Ctrl+N: a fresh conversation (an empty current one is reused rather than piled up)."""
        if self.cid and not self.store.messages(self.cid) and not self.controller.busy:
            self.composer.input.setFocus()
            return self.cid
        cid = self._create_conversation()
        self.composer.input.setFocus()
        return cid

    def _create_conversation(self) -> int:
        model = self.controller.choice.label if self.controller.choice else None
        conv = self.controller.session.new_conversation(model)
        self.conversations.refresh(select=conv.id)
        self.open_conversation(conv.id)
        return conv.id

    @store_action("deleting the conversation")
    def delete_conversation(self, cid: int) -> None:
        try:
            title = self.store.conversation(cid).title
        except KeyError:
            return
        if self.controller.busy and self.controller.turn and self.controller.turn.conversation_id == cid:
            self.controller.stop()
        self.store.delete_conversation(cid)
        ids = self.conversations.ids()
        nxt = 0
        if cid == self.cid and cid in ids:
            i = ids.index(cid)
            rest = ids[:i] + ids[i + 1:]
            nxt = rest[min(i, len(rest) - 1)] if rest else 0
        self.conversations.refresh(select=nxt if cid == self.cid else self.cid)
        if cid == self.cid:
            self.cid = -1
            self.open_conversation(nxt)
        self.bridge.info(f"Deleted “{title}”.", actions=[("Undo", lambda: self.undo_delete(cid))],
                         key=f"deleted-{cid}", timeout_ms=UNDO_MS)

    @store_action("restoring the conversation")
    def undo_delete(self, cid: int) -> None:
        self.store.restore_conversation(cid)
        self.conversations.refresh(select=cid)
        self.open_conversation(cid)

    @store_action("saving the conversation settings")
    def _options_changed(self, system_prompt: str, params: dict[str, Any], policy: str) -> None:
        if self.cid:
            self.controller.session.set_options(self.cid, system_prompt, params, policy)
            self.actions.show_context()
            if not self.controller.busy:
                self.controller.count_context(self.cid)

    # -- turns ------------------------------------------------------------------------------
    @store_action("saving your message")
    def send(self, text: str) -> None:
        if not self.controller.can_start():  # it says why, through the bridge
            return
        if self.actions.context_full():
            self.bridge.warning("This conversation fills the model's context: a new message would not be answered.",
                                "Start a new chat, delete some messages, or choose “Leave out the middle” under "
                                "Conversation settings → When the context is full.", key="context-full")
            return
        self.options.flush()
        if not self.cid:  # the first message: the conversation starts now, with the settings shown
            values = self.options.values()
            self._create_conversation()
            self.options.load(*values)
            self.controller.session.set_options(self.cid, *values)
        if self.controller.send(self.cid, text, self.extra_params) is not None:
            self.composer.clear()
            self.conversations.refresh()

    @store_action("starting a new reply")
    def regenerate(self) -> None:
        if self.cid:
            self.options.flush()
            self.controller.regenerate(self.cid, self.extra_params)

    @store_action("saving your edited message")
    def edit_and_resend(self, mid: int, text: str) -> None:
        if self.cid:
            self.options.flush()
            self.controller.edit_and_resend(self.cid, mid, text, self.extra_params)

    def stop(self) -> None:
        self.controller.stop()

    def _reply_finished(self, mid: int, status: str, stats: dict[str, Any]) -> None:
        try:
            message = self.store.message(mid)
        except KeyError:  # its conversation was deleted meanwhile
            message = None
        if message is not None:
            self.view.end_reply(message)
        else:
            self.view.streaming = None
        self.conversations.refresh()

    def _busy_changed(self, busy: bool) -> None:
        self.composer.set_busy(busy)
        self.view.set_busy(busy)

    # -- state ------------------------------------------------------------------------------
    def save_state(self) -> dict[str, Any]:
        return {"splitter": self.splitter.sizes(), "options_open": self.options.isVisible()}

    def restore_state(self, state: dict[str, Any]) -> None:
        sizes = state.get("splitter")
        if isinstance(sizes, list) and len(sizes) == 3 and all(isinstance(s, int) and s >= 0 for s in sizes):
            self.splitter.setSizes(sizes)
        if state.get("options_open"):
            self.header.options_button.setChecked(True)

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Save the open settings, then stop the chat's engine within `timeout_ms` (the window's budget)."""
        self.options.flush()
        return self.controller.shutdown(timeout_ms)
