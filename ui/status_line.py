"""The status line: what the engine is doing on the left, live figures on the right.

`figures_slot` is a container with an HBox layout: the metrics readouts (ui/metrics) put their
widget in it with `StatusLine.set_figures_widget(w)`. Until then it shows the last reply's
figures from TurnStats, which the engine measured.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QStatusBar, QWidget

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


class StatusLine(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StatusLine")
        self.setSizeGripEnabled(False)
        self.state = QLabel("No model loaded", self)
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
        self.state.setToolTip(tip)

    def set_figures_widget(self, widget: QWidget) -> None:
        """Replace the last-reply figures with a live readout (the metrics widget)."""
        layout = self.figures_slot.layout()
        self.turn_figures.hide()
        layout.addWidget(widget)
