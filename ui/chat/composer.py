"""The message box: Enter sends, Shift+Enter starts a new line; Send turns into Stop while a reply streams."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui import theme

MAX_LINES = 8


class ComposerInput(QPlainTextEdit):
    submitted = Signal()

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            mods = e.modifiers()
            if mods & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.AltModifier):
                self.insertPlainText("\n")
                return
            self.submitted.emit()  # Enter and Ctrl+Enter send
            return
        super().keyPressEvent(e)


class Composer(QFrame):
    send_requested = Signal(str)
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ComposerArea")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(28, 6, 28, 10)
        outer.setSpacing(4)
        self.box = QFrame(self)
        self.box.setObjectName("Composer")
        self.box.setMaximumWidth(860 - 56)
        row = QHBoxLayout(self.box)
        row.setContentsMargins(14, 8, 8, 8)
        row.setSpacing(8)
        self.input = ComposerInput(self.box)
        self.input.setObjectName("ComposerInput")
        self.input.setPlaceholderText("Message the model…")
        self.input.setAccessibleName("Message")
        self.input.setToolTip("Type a message. Enter sends, Shift+Enter starts a new line "
                              "(Ctrl+L comes here)")
        self.input.setFrameShape(QFrame.Shape.NoFrame)
        self.input.setTabChangesFocus(True)
        self.input.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.input.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.input.submitted.connect(self._submit)
        self.input.document().contentsChanged.connect(self._fit)
        row.addWidget(self.input, 1)
        self.button = QToolButton(self.box)
        self.button.setObjectName("SendButton")
        self.button.setIconSize(QSize(18, 18))
        self.button.setFixedSize(36, 36)
        self.button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.button.clicked.connect(self._clicked)
        row.addWidget(self.button, 0, Qt.AlignmentFlag.AlignBottom)
        center = QHBoxLayout()
        center.addStretch(1)
        center.addWidget(self.box, 100)
        center.addStretch(1)
        outer.addLayout(center)
        below = QHBoxLayout()
        below.setContentsMargins(0, 0, 0, 0)
        self.hint = QLabel("Enter to send  ·  Shift+Enter for a new line  ·  Esc stops a reply", self)
        self.hint.setObjectName("ComposerHint")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setMinimumWidth(40)
        self.hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        below.addWidget(self.hint, 1)
        self.meter = QLabel(self)
        self.meter.setObjectName("ContextMeter")
        self.meter.setAccessibleName("Context used")
        below.addWidget(self.meter)
        outer.addLayout(below)
        self.set_context(None, None)
        self.busy = False
        self.set_busy(False)
        self._fit()

    def set_busy(self, busy: bool) -> None:
        """While a reply streams the button stops it; the text box stays usable for the next message."""
        self.busy = busy
        self.button.setProperty("stop", busy)
        if busy:
            theme.set_icon(self.button, "stop", "accent_text", 18)
            self.button.setAccessibleName("Stop reply")
            self.button.setToolTip("Stop the reply (Esc)")
        else:
            theme.set_icon(self.button, "send", "accent_text", 18)
            self.button.setAccessibleName("Send message")
            self.button.setToolTip("Send the message (Enter)")
        self.button.style().unpolish(self.button)
        self.button.style().polish(self.button)
        self._update_enabled()

    def resizeEvent(self, e: QResizeEvent) -> None:
        super().resizeEvent(e)
        self._fit_hint()

    def _fit_hint(self) -> None:
        """The key hint goes when the composer is too narrow for it beside the context meter."""
        meter = self.meter.sizeHint().width() if self.meter.text() else 0
        need = self.hint.fontMetrics().horizontalAdvance(self.hint.text()) + 2 * meter + 72
        self.hint.setVisible(self.width() >= need)

    def set_context(self, used: int | None, n_ctx: int | None, policy: str = "truncate_middle") -> None:
        """The context meter: how many tokens the conversation takes of the model's context."""
        from backend.chat.context import STOP

        if used is None or not n_ctx:
            self.meter.setText("")
            self.meter.setToolTip("")
            self.meter.hide()
            self._fit_hint()
            return
        self.meter.show()
        full = used >= n_ctx
        over = ("  ·  context full" if policy == STOP else "  ·  older messages left out") if full else ""
        self.meter.setText(f"{used:,} / {n_ctx:,} tokens{over}")
        kind = "full" if full else "warn" if used >= 0.85 * n_ctx else ""
        restyle = self.meter.property("kind") != kind
        tip = (f"The conversation takes {used:,} of the {n_ctx:,} tokens the model holds at once "
               "(counted with the model's own tokenizer and chat template).")
        if full and policy == STOP:
            tip += "\nContext full: new messages will not be answered. Start a new chat, delete messages, or " \
                   "change “When the context is full” in the conversation settings."
        elif full or kind:
            tip += "\nWhen it is full, older messages are left out of what the model sees " + \
                   ("(the system prompt and the first exchange are kept)." if policy != "rolling" else
                    "(the oldest first).")
        self.meter.setToolTip(tip)
        if restyle:  # the colour changes at 85 % and when full, not with every token batch of a reply
            self.meter.setProperty("kind", kind)
            self.meter.style().unpolish(self.meter)
            self.meter.style().polish(self.meter)
        self._fit_hint()

    def set_ready(self, ready: bool, placeholder: str = "Message the model…") -> None:
        self.input.setPlaceholderText(placeholder)
        self._ready = ready
        self._update_enabled()

    _ready = True

    def _update_enabled(self) -> None:
        self.button.setEnabled(self.busy or self._ready)

    def _clicked(self) -> None:
        if self.busy:
            self.stop_requested.emit()
        else:
            self._submit()

    def _submit(self) -> None:
        text = self.input.toPlainText().strip()
        if not text or self.busy:
            return
        self.send_requested.emit(text)

    def clear(self) -> None:
        self.input.clear()

    def _fit(self) -> None:
        doc = self.input.document()
        lines = max(1, min(MAX_LINES, int(doc.size().height())))
        fm = self.input.fontMetrics()
        h = lines * fm.lineSpacing() + 2 * int(doc.documentMargin()) + 4
        if self.input.height() != h:
            self.input.setFixedHeight(h)
