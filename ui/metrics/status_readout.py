"""The compact readout in the status line: engine RAM now and peak, tok/s, power and its badge.

Clicking the figures opens the detailed panel; clicking the badge explains the power figure. In a
narrow window (`fit_width`) it drops the words a tooltip can carry — the peak beside RAM, the J/token
beside power, the badge's detail — rather than be cut off at the window's edge.
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
        self.available = 1 << 20  # the width the status line can give these figures
        self.narrow = False

    def _label(self, name: str) -> QLabel:
        label = QLabel("—", self)
        label.setObjectName("Figure")
        label.setAccessibleName(name)
        return label

    @Slot(int)
    def fit_width(self, available: int) -> None:
        """Use at most `available` pixels: the compact wording when the full one does not fit."""
        self.available = available
        if self.readout is not None:
            self.show_readout(self.readout)

    @Slot(object)
    def show_readout(self, r: Readout) -> None:
        self.readout = r
        self._write(r, narrow=False)
        self.narrow = self.sizeHint().width() > self.available
        if self.narrow:
            self._write(r, narrow=True)

    def _write(self, r: Readout, narrow: bool) -> None:
        if not r.ram_now.available:
            self.ram.setText("RAM —")
        else:
            self.ram.setText(f"RAM {r.ram_now.text}" if narrow else f"RAM {r.ram_now.text} · peak {r.ram_peak.text}")
        self.ram.setToolTip(f"Now: {r.ram_now.tip}\n\nPeak: {r.ram_peak.text} — {r.ram_peak.tip}")
        live = " (live)" if r.running and r.decode_tps.available and not narrow else ""
        self.tps.setText(f"decode {r.decode_tps.text}{live}")
        self.tps.setToolTip(r.decode_tps.tip)
        energy = f" · {r.j_per_token.text}" if r.j_per_token.available and not narrow else ""
        self.power.setText(f"power {r.power.text}{energy}")
        self.power.setToolTip(
            r.power.tip if not r.j_per_token.available
            else f"{r.power.tip}\n\n{r.j_per_token.text}: {r.j_per_token.tip}"
        )
        self.badge.compact = True
        self.badge.narrow = narrow
        self.badge.set_state(r.power_state)

    def mousePressEvent(self, e: QMouseEvent) -> None:
        if e.button() == Qt.MouseButton.LeftButton:
            self.details_requested.emit()
        super().mousePressEvent(e)
