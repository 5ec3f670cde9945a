"""The model picker's load options: context length and threads for the next load of a model.

A strip under the chat's header, opened by the picker's "Load options" button. The values apply to
this load only (Settings keeps the defaults every load starts from), as LM Studio's per-load
settings do. Threads are bounded to the CPUs the computer has.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSpinBox, QToolButton, QWidget

from backend.chat.context import MAX_CTX, MIN_CTX
from backend.engine.hardware import logical_cpus
from ui import theme


class LoadOptions(QFrame):
    load_requested = Signal(int, int)  # context length, threads (0: automatic)
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LoadOptions")
        self.setAccessibleName("Load options")
        row = QHBoxLayout(self)
        row.setContentsMargins(16, 6, 12, 6)
        row.setSpacing(8)
        cpus = logical_cpus()
        self.ctx = QSpinBox(self)
        self.ctx.setRange(MIN_CTX, MAX_CTX)
        self.ctx.setSingleStep(1024)
        self.ctx.setGroupSeparatorShown(True)
        self.ctx.setAccessibleName("Context length for this load")
        self.ctx.setToolTip("How many tokens of conversation the model holds at once. More needs more RAM "
                            "(the KV cache); the model's own limit caps it.")
        self.threads = QSpinBox(self)
        self.threads.setRange(0, cpus)
        self.threads.setSpecialValueText("auto")
        self.threads.setAccessibleName("Threads for this load")
        self.threads.setToolTip(f"CPU threads for the engine; this computer runs {cpus} at once. "
                                "Auto uses one per physical core.")
        for text, spin in (("Context", self.ctx), ("Threads", self.threads)):
            label = QLabel(text, self)
            label.setObjectName("FieldLabel")
            label.setBuddy(spin)
            row.addWidget(label)
            row.addWidget(spin)
        note = QLabel("this load only", self)
        note.setObjectName("PanelHint")
        row.addWidget(note)
        row.addStretch(1)
        self.load_button = QPushButton("Load", self)
        self.load_button.setProperty("variant", "primary")
        self.load_button.setAccessibleName("Load with these settings")
        self.load_button.setToolTip("Load the chosen model again with this context length and these threads "
                                    "(Settings keep their defaults)")
        self.load_button.clicked.connect(self._load)
        row.addWidget(self.load_button)
        close = QToolButton(self)
        close.setObjectName("PanelClose")
        theme.set_icon(close, "close", size=14)
        close.setAccessibleName("Close load options")
        close.setToolTip("Close load options (Esc)")
        close.clicked.connect(self.close_strip)
        row.addWidget(close)
        self.hide()

    def open_with(self, n_ctx: int, n_threads: int, model_max: int | None = None) -> None:
        self.ctx.setMaximum(min(MAX_CTX, model_max) if model_max else MAX_CTX)
        self.ctx.setValue(n_ctx)
        self.threads.setValue(min(max(0, n_threads), self.threads.maximum()))
        self.show()
        self.ctx.setFocus()

    def close_strip(self) -> None:
        self.hide()
        self.closed.emit()

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if e.key() == Qt.Key.Key_Escape:
            self.close_strip()
            return
        super().keyPressEvent(e)

    def _load(self) -> None:
        self.close_strip()
        self.load_requested.emit(self.ctx.value(), self.threads.value())
