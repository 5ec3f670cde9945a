"""The compact readout in the status line: engine RAM now and peak, tok/s, power and its badge.

Clicking the figures opens the detailed panel; clicking the badge explains the power figure.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from ui.metrics.badge import PowerBadge
from ui.metrics.readout import Readout


class StatusReadout(QWidget):
    details_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MetricsReadout")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(12)
        self.ram = self._label("Engine RAM")
        self.tps = self._label("Decode speed")
        self.power = self._label("Power")
        for w in (self.ram, self.tps, self.power):
            row.addWidget(w)
        self.badge = PowerBadge(self, compact=True)
        row.addWidget(self.badge)
        self.readout: Readout | None = None

    def _label(self, name: str) -> QLabel:
        label = QLabel("—", self)
        label.setObjectName("Figure")
        label.setAccessibleName(name)
        return label

    @Slot(object)
    def show_readout(self, r: Readout) -> None:
        self.readout = r
        self.ram.setText(f"RAM {r.ram_now.text} · peak {r.ram_peak.text}" if r.ram_now.available else "RAM —")
        self.ram.setToolTip(f"Now: {r.ram_now.tip}\n\nPeak: {r.ram_peak.tip}")
        live = " (live)" if r.running and r.decode_tps.available else ""
        self.tps.setText(f"decode {r.decode_tps.text}{live}")
        self.tps.setToolTip(r.decode_tps.tip)
        energy = f" · {r.j_per_token.text}" if r.j_per_token.available else ""
        self.power.setText(f"power {r.power.text}{energy}")
        self.power.setToolTip(
            r.power.tip if not r.j_per_token.available else f"{r.power.tip}\n\n{r.j_per_token.tip}"
        )
        self.badge.set_state(r.power_state)

    def mousePressEvent(self, e: QMouseEvent) -> None:
        if e.button() == Qt.MouseButton.LeftButton:
            self.details_requested.emit()
        super().mousePressEvent(e)
