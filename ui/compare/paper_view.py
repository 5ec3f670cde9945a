"""The BitNet b1.58 paper's table beside the ratios measured on this computer."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from backend import units
from backend.bench.paper import SYNTHETIC_NOTE, WHAT_DIFFERS, PaperRow, reference, table_cells
from backend.bench.paper_shapes import PAPER_SIZES, ShapePlan, ShapesEstimate

HEADERS = ["size", "measured here", "RAM ratio\nmeasured (peak RSS)", "weights file\nmeasured",
           "memory\npaper", "decode latency\nmeasured", "latency\npaper", "ideal\n(weights only)"]
MEASURED_COLS = {2, 3, 5}
PUBLISHED_COLS = {4, 6}
TIPS = {
    2: "Measured here: F16 engine's peak RSS ÷ the ternary engine's (weights + KV cache + runtime).",
    3: "Measured here: F16 weights file ÷ ternary weights file (what a decode step streams).",
    4: "Published: GPU memory, FP16 LLaMA ÷ BitNet b1.58.",
    5: "Measured here: F16 time per output token ÷ ternary's, while decoding (median of the benchmark).",
    6: "Published: decoding latency, FP16 LLaMA ÷ BitNet b1.58 (GPU).",
    7: "16 bits ÷ the encoding's bits per weight: what decode would gain if it only streamed weights.",
}


class PaperView(QWidget):
    shapes_requested = Signal(list)  # sizes to make and benchmark
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        ref = reference()
        self.title = QLabel(f"Ternary vs F16 on this computer, beside {ref['citation']}", self)
        self.title.setStyleSheet("font-weight: 600;")
        lay.addWidget(self.title)
        self.table = QTableWidget(0, len(HEADERS), self)
        self.table.setAccessibleName("Paper table")
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for col, tip in TIPS.items():
            self.table.horizontalHeaderItem(col).setToolTip(tip)
        lay.addWidget(self.table, 1)
        self.note = QLabel(WHAT_DIFFERS, self)
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.note)
        row = QHBoxLayout()
        self.run_shapes = QPushButton("Benchmark the paper's shapes (synthetic)…", self)
        self.run_shapes.setToolTip("Makes synthetic TQ2_0/F16 pairs of the paper's sizes that fit this computer's "
                                   "RAM and disk, benchmarks each, then deletes the files. Says how long and "
                                   "how much disk first.")
        self.confirm_box: QMessageBox | None = None
        self.stop = QPushButton("Stop", self)
        self.stop.setEnabled(False)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        row.addWidget(self.run_shapes)
        row.addWidget(self.stop)
        row.addWidget(self.status, 1)
        lay.addLayout(row)
        self.run_shapes.clicked.connect(lambda: self.shapes_requested.emit(list(PAPER_SIZES)))
        self.stop.clicked.connect(self.stop_requested)

    def set_rows(self, rows: list[PaperRow]) -> None:
        self.table.setRowCount(len(rows))
        measured_bg = QBrush(QColor(11, 154, 165, 40))
        for r, row in enumerate(rows):
            for c, text in enumerate(table_cells(row)):
                item = QTableWidgetItem(text)
                if c in MEASURED_COLS and row.measured:
                    item.setBackground(measured_bg)
                if c >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if c == 0 and row.note:
                    item.setToolTip(row.note)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.note.setText(WHAT_DIFFERS + ("\n" + SYNTHETIC_NOTE if any(r.synthetic for r in rows) else ""))

    def confirm(self, plans: list[ShapePlan], estimate: ShapesEstimate) -> QMessageBox:
        """Ask before a run that takes minutes and gigabytes: what will run, how long, how much disk."""
        fits = [p.name for p in plans if p.fits]
        skipped = [f"{p.name}: {p.reason}" for p in plans if not p.fits]
        box = QMessageBox(QMessageBox.Icon.Question, "Benchmark the paper's shapes?",
                          f"Makes synthetic TQ2_0/F16 pairs of {', '.join(fits) or 'no size'} and benchmarks "
                          "each.", QMessageBox.StandardButton.Cancel, self)
        lines = [f"Time: about {units.clock(estimate.seconds)} ({estimate.basis}).",
                 f"Disk: up to {units.size(estimate.disk_bytes)} in Tern's cache folder while a shape runs; "
                 "each shape's files are deleted when it is done, and when you press Stop."]
        lines += [f"Skipped — {s}." for s in skipped]
        box.setInformativeText("\n\n".join(lines))
        start = box.addButton("Start", QMessageBox.ButtonRole.AcceptRole)
        start.setEnabled(bool(fits))
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAccessibleName("Benchmark the paper's shapes?")
        self.confirm_box = box
        box.open()
        return box

    def set_running(self, running: bool) -> None:
        self.run_shapes.setEnabled(not running)
        self.stop.setEnabled(running)
