"""The model picker's load options: context length and threads for the next load of a model.

They apply to this load only (Settings keeps the defaults every load starts from), as LM Studio's
per-load settings do. Threads are bounded to the CPUs the computer has.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import QFormLayout, QFrame, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

MIN_CTX, MAX_CTX = 256, 131072


def cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class LoadOptions(QFrame):
    load_requested = Signal(int, int)  # context length, threads (0: automatic)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("LoadOptions")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        col = QVBoxLayout(self)
        col.setContentsMargins(14, 12, 14, 12)
        col.setSpacing(8)
        title = QLabel("Load options", self)
        title.setObjectName("PanelTitle")
        col.addWidget(title)
        form = QFormLayout()
        form.setHorizontalSpacing(12)
        self.ctx = QSpinBox(self)
        self.ctx.setRange(MIN_CTX, MAX_CTX)
        self.ctx.setSingleStep(1024)
        self.ctx.setSuffix(" tokens")
        self.ctx.setAccessibleName("Context length for this load")
        self.ctx.setToolTip("How many tokens of conversation the model holds at once. More needs more RAM "
                            "(the KV cache); the model's own limit caps it.")
        form.addRow("Context", self.ctx)
        self.threads = QSpinBox(self)
        self.threads.setRange(0, cpu_count())
        self.threads.setSpecialValueText("Automatic")
        self.threads.setAccessibleName("Threads for this load")
        self.threads.setToolTip(f"CPU threads for the engine; this computer runs {cpu_count()} at once. "
                                "Automatic uses one per physical core.")
        form.addRow("Threads", self.threads)
        col.addLayout(form)
        note = QLabel("For this load only; Settings keeps the defaults.", self)
        note.setObjectName("PanelHint")
        note.setWordWrap(True)
        col.addWidget(note)
        self.load_button = QPushButton("Load with these", self)
        self.load_button.setProperty("variant", "primary")
        self.load_button.setAccessibleName("Load with these settings")
        self.load_button.setToolTip("Load the chosen model again with this context length and these threads")
        self.load_button.clicked.connect(self._load)
        col.addWidget(self.load_button)

    def open_at(self, anchor: QWidget, n_ctx: int, n_threads: int, model_max: int | None = None) -> None:
        self.ctx.setMaximum(min(MAX_CTX, model_max) if model_max else MAX_CTX)
        self.ctx.setValue(n_ctx)
        self.threads.setValue(min(n_threads, cpu_count()))
        self.adjustSize()
        self.move(anchor.mapToGlobal(QPoint(0, anchor.height() + 2)))
        self.show()
        self.ctx.setFocus()

    def _load(self) -> None:
        self.hide()
        self.load_requested.emit(self.ctx.value(), self.threads.value())
