"""The detailed readout: memory beside model and KV-cache sizes, latency, CPU, power and energy per
token, each with what it covers in its tooltip, and last-minute sparklines of tok/s, RAM and power."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QFrame, QGridLayout, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from backend import units
from ui import theme
from ui.metrics.badge import PowerBadge
from ui.metrics.readout import Figure, Readout
from ui.metrics.sparkline import Sparkline

ROWS = {
    "Memory": [
        ("ram_now", "Engine RAM now"),
        ("ram_peak", "Engine RAM peak"),
        ("model_file", "Model file"),
        ("kv_cache", "KV cache"),
    ],
    "Speed": [
        ("ttft", "Time to first token"),
        ("prefill_tps", "Prefill"),
        ("decode_tps", "Decode"),
        ("ms_per_token", "Per token"),
        ("cpu", "CPU use"),
    ],
    "Power": [
        ("power", "Power now"),
        ("j_per_token", "Energy per token"),
        ("energy_detail", "Prefill · decode"),
    ],
}


class MetricsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MetricsPanel")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 14, 16, 12)
        outer.setSpacing(10)
        self.values: dict[str, QLabel] = {}
        self.charts: dict[str, Sparkline] = {
            "Memory": Sparkline("Engine RAM", units.memory_mib),
            "Speed": Sparkline("tokens/s arriving", lambda v: f"{v:,.0f}" if v is not None else "—"),
            "Power": Sparkline("Power", units.watts),
        }
        self.badge = PowerBadge(self)
        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(4)
        row = 0
        for section, rows in ROWS.items():
            head = QLabel(section, self)
            head.setObjectName("MetricsHeading")
            font = head.font()
            font.setBold(True)
            head.setFont(font)
            grid.addWidget(head, row, 0)
            if section == "Power":
                grid.addWidget(self.badge, row, 1, Qt.AlignmentFlag.AlignLeft)
            grid.addWidget(self.charts[section], row, 2, len(rows) + 1, 1, Qt.AlignmentFlag.AlignTop)
            for i, (key, name) in enumerate(rows, start=1):
                label = QLabel(name, self)
                label.setObjectName("MetricsName")
                value = QLabel("—", self)
                value.setObjectName("MetricsValue")
                value.setAccessibleName(name)
                value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                grid.addWidget(label, row + i, 0)
                grid.addWidget(value, row + i, 1)
                self.values[key] = value
            row += len(rows) + 1
            grid.setRowMinimumHeight(row, 10)
            row += 1
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(2, 1)
        grid.setColumnMinimumWidth(1, 220)
        outer.addLayout(grid)
        self.notes = QLabel("", self)
        self.notes.setObjectName("MetricsNotes")
        self.notes.setWordWrap(True)
        self.notes.hide()
        outer.addWidget(self.notes)
        self.sampling = QLabel("", self)
        self.sampling.setObjectName("FigureSource")
        outer.addWidget(self.sampling)
        outer.addStretch(1)

    @Slot(object)
    def show_readout(self, r: Readout) -> None:
        for key, label in self.values.items():
            f: Figure = getattr(r, key)
            text = f.text + (
                " (live)" if key in ("decode_tps", "ms_per_token") and r.running and f.available else ""
            )
            label.setText(text)
            label.setToolTip(f.tip)
        self.badge.set_state(r.power_state)
        self.charts["Memory"].set_series(
            [(t, v / 1024**2) for t, v in r.rss_series],
            r.t_ns,
            "no engine running" if not r.ram_now.available else "measuring…",
        )
        self.charts["Speed"].set_series(r.tps_series, r.t_ns, "no reply yet")
        self.charts["Power"].set_series(
            r.watts_series, r.t_ns, r.power_state.reason and "no power reading" or "measuring…"
        )
        self.charts["Power"].setToolTip(f"{r.power_state.badge}\n{self.charts['Power'].toolTip()}")
        if r.notes:
            self.notes.setText("\n".join(f"⚠ {n}" for n in r.notes))
            self.notes.show()
        else:
            self.notes.hide()
        self.sampling.setText(r.sampling)


class MetricsWindow(QDialog):
    """The panel in a small non-modal window beside the chat, opened from the status-line readout.

    It has its own frame and a Close button, takes the keyboard when it opens (so Esc closes it rather
    than reaching the chat, where Esc stops a reply), and Esc closes it.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MetricsWindow")
        self.setWindowTitle("Live figures — engine RAM, speed, power")
        self.setAccessibleName("Live figures")
        self.setModal(False)
        self.setWindowFlags(Qt.WindowType.Dialog | Qt.WindowType.WindowTitleHint
                            | Qt.WindowType.WindowCloseButtonHint)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.frame = QFrame(self)
        self.frame.setObjectName("MetricsFrame")
        self.frame.setFrameShape(QFrame.Shape.StyledPanel)
        outer.addWidget(self.frame)
        layout = QVBoxLayout(self.frame)
        layout.setContentsMargins(1, 1, 1, 1)
        layout.setSpacing(0)
        head = QHBoxLayout()
        head.setContentsMargins(16, 10, 10, 0)
        title = QLabel("Live figures", self.frame)
        title.setObjectName("SectionTitle")
        head.addWidget(title)
        head.addStretch(1)
        self.close_button = QToolButton(self.frame)
        self.close_button.setObjectName("MetricsClose")
        self.close_button.setText("×")
        theme.set_icon(self.close_button, "close", size=16)
        self.close_button.setAutoRaise(True)
        self.close_button.setAccessibleName("Close live figures")
        self.close_button.setToolTip("Close (Esc)")
        self.close_button.clicked.connect(self.hide)
        head.addWidget(self.close_button)
        layout.addLayout(head)
        self.panel = MetricsPanel(self.frame)
        layout.addWidget(self.panel)
        esc = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        esc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        esc.activated.connect(self.hide)
        self.resize(720, 540)
        self.apply_theme()

    def apply_theme(self) -> None:
        t = theme.current()
        self.frame.setStyleSheet(f"QFrame#MetricsFrame {{ border: 1px solid {t.border}; background: {t.window}; }}")

    @Slot()
    def toggle(self) -> None:
        if self.isVisible():
            self.hide()
        else:
            self.apply_theme()
            self.show()
            self.raise_()
            self.activateWindow()  # the keyboard comes here: Esc closes this, not the chat's reply
