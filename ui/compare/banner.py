"""The sentence across the top of the comparison, e.g. "3.2× faster decode · 4.4× less RAM · …", the line
saying which run it comes from (samples, context, threads, how busy the machine was), and a note on how it
was measured (fair, race, swapped engines, missing power).

A single sample reads lighter than medians of a benchmark, and says so: "7.9× slower" from one noisy
reply must not look as solid as a median of ten.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from ui import theme


class RatioBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CompareBanner")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 8, 12, 8)
        lay.setSpacing(2)
        self.headline = QLabel(
            "Pick a ternary model and send a prompt: both variants answer, one after the other.", self)
        self.headline.setObjectName("CompareHeadline")
        self.headline.setWordWrap(True)
        self.headline.setAccessibleName("Comparison ratios")
        self.source = QLabel("", self)
        self.source.setObjectName("CompareSource")
        self.source.setWordWrap(True)
        self.source.setAccessibleName("Where the ratios come from")
        self.source.hide()
        self.note = QLabel("", self)
        self.note.setObjectName("CompareNote")
        self.note.setWordWrap(True)
        lay.addWidget(self.headline)
        lay.addWidget(self.source)
        lay.addWidget(self.note)
        self.solid = True
        self.warning = False
        self.set_warning(False)

    def show_result(self, parts: list[str], note: str = "", warning: bool = False, tooltip: str = "",
                    source: str = "", solid: bool = True) -> None:
        """`source`: which run, samples, context; `solid`: False for a single sample (drawn lighter)."""
        self.headline.setText(" · ".join(parts))
        self.headline.setToolTip(tooltip)
        self.source.setText(source)
        self.source.setVisible(bool(source))
        self.note.setText(note)
        self.note.setToolTip(note)
        self.solid = solid
        self.set_warning(warning)

    def show_message(self, text: str, note: str = "", warning: bool = False) -> None:
        self.show_result([text], note, warning)

    def apply_theme(self) -> None:
        """The theme changed: redraw the colours (they come from the theme's tokens)."""
        self.set_warning(self.warning)

    def set_warning(self, warning: bool) -> None:
        self.warning = warning
        weight, size = (600, 17) if self.solid else (500, 15)
        warn = theme.current().warn
        self.headline.setStyleSheet(f"font-size: {size}px; font-weight: {weight};"
                                    + (f" color: {warn};" if warning else ""))
        self.source.setStyleSheet(f"color: {warn};" if not self.solid else "")
        self.note.setStyleSheet(f"color: {warn};" if warning else "color: palette(placeholder-text);")

    def text(self) -> str:
        return self.headline.text()
