"""The strip under the search field: why the Hub is not being asked, with the button that fixes it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QWidget

from ui.library.style import glyph
from ui.library.widgets import button, label


class HubStrip(QFrame):
    """Why the Hub is not being asked, with the one button that fixes it."""

    action = Signal(str)  # "settings" | "retry"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LibStrip")
        self.setAccessibleName("Hub status")
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 9, 10, 9)
        row.setSpacing(10)
        row.addWidget(glyph(self, "alert", "warn", 16), 0, Qt.AlignmentFlag.AlignTop)
        self.text = label("", "LibStripText", self, wrap=True, selectable=True)
        row.addWidget(self.text, 1)
        self.button = button("", self, "")
        self.button.clicked.connect(lambda: self.action.emit(self.button.property("what")))
        row.addWidget(self.button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.hide()

    def show_message(self, text: str, what: str) -> None:
        self.text.setText(text)
        self.setAccessibleDescription(text)
        self.button.setText("Open Settings" if what == "settings" else "Try again")
        self.button.setToolTip(
            "Turn offline mode off in Settings" if what == "settings" else "Ask the Hub again"
        )
        self.button.setAccessibleName(self.button.text())
        self.button.setProperty("what", what)
        self.show()
