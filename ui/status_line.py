"""The status line: what the engine is doing on the left, live figures on the right.

`figures_slot` is a container with an HBox layout: the metrics readouts (ui/metrics) put their
widget in it with `StatusLine.set_figures_widget(w)`. Until then it shows the last reply's
figures from TurnStats, which the engine measured.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QStatusBar, QWidget

from backend import units

NONE = units.DASH


class TurnFigures(QWidget):
    """The last reply's decode speed, time to first token and engine peak RAM (measured by the engine)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TurnFigures")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(14)
        self.labels: dict[str, QLabel] = {}
        for key, name, tip in (
            ("decode", "decode", "Decode speed of the last reply: tokens after the first ÷ time from "
                                 "first to last token, from the engine's clock"),
            ("ttft", "TTFT", "Time to first token of the last reply: request received → first token, "
                             "including prompt evaluation, from the engine's clock"),
            ("peak", "engine peak RAM", "The engine process's peak resident memory (OS accounting) since "
                                        "it started, as of the end of the last reply"),
        ):
            label = QLabel(self)
            label.setObjectName("Figure")
            label.setAccessibleName(f"Last reply {name}")
            self.labels[key] = label
            label.setProperty("tip", tip)
            row.addWidget(label)
        self.source = QLabel("measured by the engine", self)
        self.source.setObjectName("FigureSource")
        row.addWidget(self.source)
        self.show_stats(None)

    def show_stats(self, stats: dict[str, Any] | None) -> None:
        s = stats or {}
        failed = s.get("stop_reason") == "error"
        tps = s.get("decode_tps")
        ttft = s.get("ttft_ms")
        values = {
            "decode": units.tps(tps) if not failed else NONE,
            "ttft": units.ms(ttft) if not failed else NONE,
            "peak": units.memory(s.get("peak_rss")) if not failed else NONE,
        }
        names = {"decode": "decode", "ttft": "TTFT", "peak": "engine peak RAM"}
        why = ("No reply yet in this session." if not s else
               "The last reply failed, so it has no figures." if failed else
               "Not measured: the reply had fewer than two tokens.")
        for key, label in self.labels.items():
            label.setText(f"{names[key]} {values[key]}")
            tip = str(label.property("tip"))
            label.setToolTip(tip if values[key] != NONE else f"{tip}\n— {why}")


class ElidedLabel(QLabel):
    """One line that gives way to the live figures in a narrow window, ending in "…"; its tooltip has it all."""

    MIN_WIDTH = 80

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(self.MIN_WIDTH, super().minimumSizeHint().height())

    def displayed(self) -> str:
        """The text as it is drawn at the label's width."""
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width())

    def paintEvent(self, _e: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        self.style().drawItemText(painter, self.contentsRect(), int(align), self.palette(), self.isEnabled(),
                                  self.displayed(), self.foregroundRole())


class StatusLine(QStatusBar):
    figures_width = Signal(int)  # how wide the live figures may be now (the window was resized)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StatusLine")
        self.setSizeGripEnabled(False)
        self.state = ElidedLabel("No model loaded", self)
        self.state.setObjectName("StatusText")
        self.state.setAccessibleName("Engine status")
        self.addWidget(self.state, 1)
        self.figures_slot = QWidget(self)
        self.figures_slot.setObjectName("FiguresSlot")
        self.figures_slot.setAccessibleName("Live figures")
        slot = QHBoxLayout(self.figures_slot)
        slot.setContentsMargins(0, 0, 0, 0)
        slot.setSpacing(12)
        self.turn_figures = TurnFigures(self.figures_slot)
        slot.addWidget(self.turn_figures)
        self.addPermanentWidget(self.figures_slot)

    def set_state(self, text: str, tip: str = "") -> None:
        self.state.setText(text)
        self.state.setToolTip(f"{text}\n{tip}" if tip else text)

    def figures_room(self) -> int:
        """The width the live figures may take and leave the engine status a few words."""
        margins = 40  # the status bar's own margins and spacing
        return max(0, self.width() - ElidedLabel.MIN_WIDTH - margins)

    def resizeEvent(self, e: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(e)
        self.figures_width.emit(self.figures_room())

    def set_figures_widget(self, widget: QWidget) -> None:
        """Replace the last-reply figures with a live readout (the metrics widget)."""
        layout = self.figures_slot.layout()
        self.turn_figures.hide()
        layout.addWidget(widget)
