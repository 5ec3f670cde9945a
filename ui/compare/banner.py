"""The sentence across the top of the comparison, e.g. "3.2× faster decode · 4.4× less RAM · …",
with a note underneath on how it was measured (fair, race, swapped engines, missing power)."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget


class RatioBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CompareBanner")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 8, 12, 8)
        self.headline = QLabel(
            "Pick a ternary model and send a prompt: both variants answer, one after the other.", self)
        self.headline.setObjectName("CompareHeadline")
        self.headline.setWordWrap(True)
        self.headline.setAccessibleName("Comparison ratios")
        self.note = QLabel("", self)
        self.note.setObjectName("CompareNote")
        self.note.setWordWrap(True)
        lay.addWidget(self.headline)
        lay.addWidget(self.note)
        self.set_warning(False)

    def show_result(self, parts: list[str], note: str = "", warning: bool = False, tooltip: str = "") -> None:
        self.headline.setText(" · ".join(parts))
        self.headline.setToolTip(tooltip)
        self.note.setText(note)
        self.set_warning(warning)

    def show_message(self, text: str, note: str = "", warning: bool = False) -> None:
        self.show_result([text], note, warning)

    def set_warning(self, warning: bool) -> None:
        self.headline.setStyleSheet("font-size: 17px; font-weight: 600;" + (" color: #b26b00;" if warning else ""))
        self.note.setStyleSheet("color: #b26b00;" if warning else "color: palette(placeholder-text);")

    def text(self) -> str:
        return self.headline.text()
