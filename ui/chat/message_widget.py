"""One message in the chat: a user bubble or a reply with its figures, status and actions."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from backend.store import CANCELLED, FAILED, INTERRUPTED, STREAMING, Message
from ui import theme
from ui.chat.message_body import MessageBody

STOP_WORDS = {"eos": "finished", "length": "token limit reached", "cancelled": "stopped by you",
              "error": "failed"}


def _ms(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:,.0f} ms" if v < 1000 else f"{v / 1000:,.2f} s"


def figures_text(stats: dict[str, Any] | None) -> tuple[str, str]:
    """(footer line, tooltip) for a reply's TurnStats, with "—" for what was not measured."""
    if not stats or "output_tokens" not in stats or stats.get("stop_reason") == "error":
        return "", ""
    tps = stats.get("decode_tps")
    parts = [
        f"TTFT {_ms(stats.get('ttft_ms'))}",
        f"{tps:,.1f} tok/s" if tps else "— tok/s",
        f"{stats.get('output_tokens', 0):,} tokens",
        STOP_WORDS.get(str(stats.get("stop_reason")), str(stats.get("stop_reason", ""))),
    ]
    tip = ["Measured by the engine for this reply:",
           f"• time to first token: {_ms(stats.get('ttft_ms'))} (request received → first token, "
           f"including the prompt: {stats.get('prompt_tokens', '—')} tokens, "
           f"{stats.get('prompt_cached', 0)} reused from the cache)"]
    if tps:
        tip.append(f"• decode: {tps:,.1f} tokens/s (tokens after the first ÷ time from first to last token)")
    else:
        tip.append("• decode: — (needs at least two tokens)")
    if stats.get("prefill_tps"):
        tip.append(f"• prompt evaluation: {stats['prefill_tps']:,.0f} tokens/s")
    if stats.get("total_ms") is not None:
        tip.append(f"• total: {_ms(stats.get('total_ms'))}")
    return "  ·  ".join(parts), "\n".join(tip)


class _ActionButton(QToolButton):
    def __init__(self, icon_name: str, name: str, tip: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("MessageAction")
        theme.set_icon(self, icon_name, "faint", 16)
        self.setAccessibleName(name)
        self.setToolTip(tip)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAutoRaise(True)


class MessageWidget(QFrame):
    """A message from the store. Replies can stream: `start_stream`, `feed`, `finish`."""

    edit_submitted = Signal(int, str)  # message id, new text
    regenerate_requested = Signal(int)  # message id

    def __init__(self, message: Message, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = message
        self.mid = message.id
        self.role = message.role
        self.status = message.status
        self.stats = message.stats
        self.setObjectName("UserMessage" if self.role == "user" else "AssistantMessage")
        self.setAccessibleName("Your message" if self.role == "user" else "Reply")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(4)
        if self.role == "user":
            self._build_user(outer)
        else:
            self._build_reply(outer)
        self._set_content(message.content, streaming=message.status == STREAMING)
        self.set_status(message.status, message.stats)

    # -- layout -----------------------------------------------------------------------------
    def _build_user(self, outer: QVBoxLayout) -> None:
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addStretch(1)
        self.bubble = QFrame(self)
        self.bubble.setObjectName("UserBubble")
        self.bubble.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        b = QVBoxLayout(self.bubble)
        b.setContentsMargins(14, 9, 14, 9)
        self.text_view = QLabel(self.bubble)
        self.text_view.setObjectName("UserText")
        self.text_view.setWordWrap(True)
        self.text_view.setTextFormat(Qt.TextFormat.PlainText)
        self.text_view.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text_view.setAccessibleName("Message text")
        b.addWidget(self.text_view)
        row.addWidget(self.bubble)
        outer.addLayout(row)
        self.editor_box = QFrame(self)
        self.editor_box.setObjectName("EditBox")
        e = QVBoxLayout(self.editor_box)
        e.setContentsMargins(10, 8, 10, 8)
        self.editor = QPlainTextEdit(self.editor_box)
        self.editor.setObjectName("EditField")
        self.editor.setAccessibleName("Edit message")
        self.editor.setToolTip("Edit your message; Ctrl+Enter sends it again, Esc cancels")
        self.editor.setTabChangesFocus(True)
        e.addWidget(self.editor)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        cancel = QPushButton("Cancel", self.editor_box)
        cancel.setAccessibleName("Cancel editing")
        cancel.setToolTip("Keep the message as it was (Esc)")
        cancel.clicked.connect(self.cancel_edit)
        self.resend_button = QPushButton("Send again", self.editor_box)
        self.resend_button.setProperty("variant", "primary")
        self.resend_button.setAccessibleName("Send edited message")
        self.resend_button.setToolTip("Replace this message and everything after it, and get a new reply "
                                      "(Ctrl+Enter)")
        self.resend_button.clicked.connect(self._submit_edit)
        buttons.addWidget(cancel)
        buttons.addWidget(self.resend_button)
        e.addLayout(buttons)
        QShortcut(QKeySequence("Ctrl+Return"), self.editor, self._submit_edit)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self.editor, self.cancel_edit)
        self.editor_box.hide()
        outer.addWidget(self.editor_box)
        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        actions.setSpacing(2)
        actions.addStretch(1)
        self.edit_button = _ActionButton("edit", "Edit message", "Edit this message and send it again", self)
        self.edit_button.clicked.connect(self.begin_edit)
        self.copy_button = _ActionButton("copy", "Copy message", "Copy this message to the clipboard", self)
        self.copy_button.clicked.connect(self.copy)
        actions.addWidget(self.edit_button)
        actions.addWidget(self.copy_button)
        self.actions_row = actions
        outer.addLayout(actions)
        self.footer = None
        self.badge = None

    def _build_reply(self, outer: QVBoxLayout) -> None:
        head = QHBoxLayout()
        head.setSpacing(8)
        avatar = QLabel(self)
        avatar.setObjectName("Avatar")
        avatar.setFixedSize(26, 26)
        avatar.setAlignment(Qt.AlignmentFlag.AlignCenter)
        avatar.setPixmap(theme.icon("bird", theme.current().accent, 16).pixmap(16, 16))
        head.addWidget(avatar)
        when = time.strftime("%H:%M", time.localtime(self.message.created_at))
        self.meta = QLabel(f"{self.message.model or 'Model'}  ·  {when}", self)
        self.meta.setObjectName("MessageMeta")
        head.addWidget(self.meta)
        head.addStretch(1)
        outer.addLayout(head)
        body_row = QHBoxLayout()
        body_row.setContentsMargins(34, 0, 0, 0)
        col = QVBoxLayout()
        col.setSpacing(6)
        self.body = MessageBody(self)
        col.addWidget(self.body)
        self.badge = QLabel(self)
        self.badge.setObjectName("StatusBadge")
        self.badge.setWordWrap(True)
        self.badge.hide()
        col.addWidget(self.badge)
        foot = QHBoxLayout()
        foot.setSpacing(2)
        self.footer = QLabel(self)
        self.footer.setObjectName("MessageFooter")
        self.footer.setAccessibleName("Reply figures")
        foot.addWidget(self.footer)
        foot.addStretch(1)
        self.copy_button = _ActionButton("copy", "Copy reply", "Copy this reply to the clipboard", self)
        self.copy_button.clicked.connect(self.copy)
        self.regenerate_button = _ActionButton("regenerate", "Regenerate reply",
                                               "Replace this reply with a new one", self)
        self.regenerate_button.clicked.connect(lambda: self.regenerate_requested.emit(self.mid))
        foot.addWidget(self.copy_button)
        foot.addWidget(self.regenerate_button)
        col.addLayout(foot)
        body_row.addLayout(col)
        outer.addLayout(body_row)
        self.edit_button = None

    # -- content ----------------------------------------------------------------------------
    def _set_content(self, text: str, streaming: bool = False) -> None:
        self._raw = [text]  # exactly what was written (the view drops control characters)
        if self.role == "user":
            self.text_view.setText(text)
        elif streaming:
            self.body.start_stream(text)
        else:
            self.body.set_text(text)

    @property
    def text(self) -> str:
        """The message as written (and as stored), for Copy and for editing."""
        return "".join(self._raw)

    def start_stream(self) -> None:
        self._raw = []
        self.body.start_stream()
        self.set_status(STREAMING, None)

    def feed(self, text: str) -> None:
        self._raw.append(text)
        self.body.feed(text)

    def finish(self, status: str, stats: dict[str, Any] | None) -> None:
        self.body.finish_stream()
        self.set_status(status, stats)

    def set_status(self, status: str, stats: dict[str, Any] | None) -> None:
        self.status, self.stats = status, stats
        if self.role == "user":
            return
        assert self.badge is not None and self.footer is not None
        badge = {
            STREAMING: ("streaming", "Generating…  (Esc stops)"),
            CANCELLED: ("cancelled", "Stopped — the reply ends where you stopped it."),
            INTERRUPTED: ("interrupted", "Interrupted — Tern closed before this reply finished; "
                                         "the text above is what had been saved."),
            FAILED: ("error", "Not finished — the engine failed while writing this reply; "
                              "the text above is what arrived before it stopped."),
        }.get(status)
        if badge:
            self.badge.setProperty("kind", badge[0])
            self.badge.setText(badge[1])
            self.badge.setToolTip(str((stats or {}).get("error", "")) if status == FAILED else "")
            self.badge.style().unpolish(self.badge)
            self.badge.style().polish(self.badge)
        self.badge.setVisible(bool(badge))
        line, tip = figures_text(stats)
        self.footer.setText(line)
        self.footer.setToolTip(tip)
        self.copy_button.setVisible(status != STREAMING)
        self.regenerate_button.setVisible(status != STREAMING)

    def set_actions_enabled(self, enabled: bool, last_reply: bool = False) -> None:
        if self.role == "user":
            assert self.edit_button is not None
            self.edit_button.setEnabled(enabled)
        else:
            self.regenerate_button.setEnabled(enabled)
            self.regenerate_button.setVisible(last_reply and self.status != STREAMING)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text)
        theme.set_icon(self.copy_button, "check", "ok", 16)
        QTimer.singleShot(1500, self, lambda: theme.set_icon(self.copy_button, "copy", "faint", 16))

    # -- editing ----------------------------------------------------------------------------
    def begin_edit(self) -> None:
        self.editor.setPlainText(self.text)
        self.bubble.hide()
        self.editor_box.show()
        self.edit_button.hide()
        self.copy_button.hide()
        self.editor.setFocus()
        self.editor.selectAll()

    def cancel_edit(self) -> None:
        self.editor_box.hide()
        self.bubble.show()
        self.edit_button.show()
        self.copy_button.show()

    def _submit_edit(self) -> None:
        text = self.editor.toPlainText().strip()
        if not text:
            return
        self.cancel_edit()
        self.edit_submitted.emit(self.mid, text)

    def set_bubble_width(self, width: int) -> None:
        """User bubbles hug short text and wrap long text at `width` (a share of the column)."""
        if self.role != "user":
            return
        self.text_view.ensurePolished()  # the style sheet sets the bubble's font size
        fm = self.text_view.fontMetrics()
        lines = self.text_view.text().splitlines() or [""]
        natural = max(fm.horizontalAdvance(line) for line in lines) + 4
        self.text_view.setFixedWidth(max(24, min(natural, width - 28)))
