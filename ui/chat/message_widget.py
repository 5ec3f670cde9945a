"""One message in the chat: a user bubble or a reply with its figures, status and actions."""

from __future__ import annotations

import dataclasses
import time

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

from backend.chat.session import can_continue
from backend.store import FAILED, INTERRUPTED, STREAMING, Message
from ui import theme
from ui.chat.message_body import MessageBody
from ui.chat.reply_text import badge_for, figures_text


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
    continue_requested = Signal(int)  # message id
    delete_requested = Signal(int)  # message id
    version_requested = Signal(int, int)  # message id, version index (0-based)

    def __init__(self, message: Message, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = message
        self.mid = message.id
        self.role = message.role
        self.setObjectName("UserMessage" if self.role == "user" else "AssistantMessage")
        self.setAccessibleName("Your message" if self.role == "user" else "Reply")
        self._last_reply = False
        self._enabled = True
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(4)
        if self.role == "user":
            self._build_user(outer)
        else:
            self._build_reply(outer)
        self._set_content(message.content, streaming=message.status == STREAMING)
        self._show_status()

    @property
    def status(self) -> str:
        return self.message.status

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
        self.delete_button = _ActionButton("trash", "Delete message", "Delete this message (the reply to it "
                                           "stays); Undo puts it back", self)
        self.delete_button.clicked.connect(lambda: self.delete_requested.emit(self.mid))
        for b_ in (self.edit_button, self.copy_button, self.delete_button):
            actions.addWidget(b_)
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
        self.meta = QLabel(self)
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
        self.footer = QLabel(self)
        self.footer.setObjectName("MessageFooter")
        self.footer.setAccessibleName("Reply figures")
        self.footer.setWordWrap(True)  # narrow windows wrap the figures instead of cutting them
        col.addWidget(self.footer)
        foot = QHBoxLayout()
        foot.setSpacing(2)
        self.prev_button = _ActionButton("chevron-left", "Previous version", "Show the previous version of this "
                                         "reply (regenerated replies are kept)", self)
        self.prev_button.clicked.connect(lambda: self._flip(-1))
        self.version_label = QLabel(self)
        self.version_label.setObjectName("VersionLabel")
        self.version_label.setAccessibleName("Reply version")
        self.next_button = _ActionButton("chevron-right", "Next version", "Show the next version of this reply",
                                         self)
        self.next_button.clicked.connect(lambda: self._flip(1))
        for w in (self.prev_button, self.version_label, self.next_button):
            foot.addWidget(w)
        foot.addStretch(1)
        self.continue_button = _ActionButton("continue", "Continue reply", "Let the model go on writing this "
                                             "reply from where it stopped", self)
        self.continue_button.clicked.connect(lambda: self.continue_requested.emit(self.mid))
        self.copy_button = _ActionButton("copy", "Copy reply", "Copy this reply to the clipboard", self)
        self.copy_button.clicked.connect(self.copy)
        self.regenerate_button = _ActionButton("regenerate", "Regenerate reply",
                                               "Write a new version of this reply (this one is kept: ‹ › flips "
                                               "between them)", self)
        self.regenerate_button.clicked.connect(lambda: self.regenerate_requested.emit(self.mid))
        self.delete_button = _ActionButton("trash", "Delete reply", "Delete this reply; Undo puts it back", self)
        self.delete_button.clicked.connect(lambda: self.delete_requested.emit(self.mid))
        for w in (self.continue_button, self.copy_button, self.regenerate_button, self.delete_button):
            foot.addWidget(w)
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

    def start_stream(self, initial: str = "") -> None:
        """Start showing a reply as it is written (`initial`: the text so far, when continued or re-shown)."""
        self._raw = [initial]
        self.body.start_stream(initial)
        self.message = dataclasses.replace(self.message, status=STREAMING, stats=None)
        self._show_status()

    def feed(self, text: str) -> None:
        self._raw.append(text)
        self.body.feed(text)

    def finish(self, message: Message) -> None:
        """The reply ended: show it as stored (status, figures, versions)."""
        self.body.finish_stream()
        self.message = message
        self._show_status()

    def show_message(self, message: Message) -> None:
        """Show another state of the same message (a different version of a reply)."""
        self.message = message
        self._set_content(message.content, streaming=message.status == STREAMING)
        self._show_status()

    def _show_status(self) -> None:
        status, stats = self.message.status, self.message.stats
        if self.role == "user":
            return
        assert self.badge is not None and self.footer is not None
        when = time.strftime("%H:%M", time.localtime(self.message.created_at))
        self.meta.setText(f"{self.message.model or 'Model'}  ·  {when}")
        badge = badge_for(status, stats)
        if badge:
            self.badge.setProperty("kind", badge[0])
            self.badge.setText(badge[1])
            self.badge.setToolTip(str((stats or {}).get("error", "")) if status in (FAILED, INTERRUPTED) else "")
            self.badge.style().unpolish(self.badge)
            self.badge.style().polish(self.badge)
        self.badge.setVisible(bool(badge))
        line, tip = figures_text(stats)
        self.footer.setText(line)
        self.footer.setToolTip(tip)
        self.footer.setVisible(bool(line))
        self._update_actions()

    def set_actions_enabled(self, enabled: bool, last_reply: bool = False) -> None:
        self._enabled, self._last_reply = enabled, last_reply
        self._update_actions()

    def _update_actions(self) -> None:
        enabled, streaming = self._enabled, self.status == STREAMING
        if self.role == "user":
            assert self.edit_button is not None
            self.edit_button.setEnabled(enabled)
            self.delete_button.setEnabled(enabled)
            return
        n = self.message.version_count
        pos = max(0, min(self.message.version_pos, n - 1))
        for w in (self.prev_button, self.version_label, self.next_button):
            w.setVisible(n > 1 and not streaming)
        self.version_label.setText(f"{pos + 1}/{n}")
        self.version_label.setToolTip(f"Version {pos + 1} of {n} of this reply")
        self.prev_button.setEnabled(enabled and pos > 0)
        self.next_button.setEnabled(enabled and pos < n - 1)
        self.copy_button.setVisible(not streaming)
        self.delete_button.setVisible(not streaming)
        self.delete_button.setEnabled(enabled)
        self.regenerate_button.setVisible(self._last_reply and not streaming)
        self.regenerate_button.setEnabled(enabled)
        self.continue_button.setVisible(self._last_reply and not streaming and can_continue(
            dataclasses.replace(self.message, content=self.text)))
        self.continue_button.setEnabled(enabled)

    def _flip(self, step: int) -> None:
        self.version_requested.emit(self.mid, self.message.version_pos + step)

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
        self.delete_button.hide()
        self.editor.setFocus()
        self.editor.selectAll()

    def cancel_edit(self) -> None:
        self.editor_box.hide()
        self.bubble.show()
        self.edit_button.show()
        self.copy_button.show()
        self.delete_button.show()

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
