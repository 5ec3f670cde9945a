"""Past comparison and benchmark runs: open one, compare it with the one shown, export, delete."""

from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from backend.bench.results import RunResult

HEADS = ("run", "when", "kind", "status", "what", "result")


class HistoryView(QWidget):
    open_requested = Signal(int)
    compare_requested = Signal(int)
    delete_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        self.table = QTableWidget(0, len(HEADS), self)
        self.table.setAccessibleName("Run history")
        self.table.setHorizontalHeaderLabels(list(HEADS))
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        lay.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.open = QPushButton("Open", self)
        self.open.setToolTip("Show this run's chart and figures in the Benchmark tab.")
        self.compare = QPushButton("Compare with the run shown", self)
        self.compare.setToolTip("Overlay this run's medians on the chart of the run shown in the Benchmark tab.")
        self.delete = QPushButton("Delete", self)
        self.empty = QLabel("No runs yet: every comparison and benchmark is kept here.", self)
        for b in (self.open, self.compare, self.delete):
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addWidget(self.empty)
        self.open.clicked.connect(lambda: self._emit(self.open_requested))
        self.compare.clicked.connect(lambda: self._emit(self.compare_requested))
        self.delete.clicked.connect(lambda: self._emit(self.delete_requested))
        self.table.itemSelectionChanged.connect(self._selection)
        self._ids: list[int] = []
        self._selection()

    def set_runs(self, runs: list[RunResult]) -> None:
        self._ids = [int(r.id or 0) for r in runs]
        self.table.setRowCount(len(runs))
        for i, r in enumerate(runs):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at))
            result = " · ".join(r.summary.get("headline", [])[:2]) or "no results"
            for c, text in enumerate((f"#{r.id}", when, r.kind, r.status, r.label, result)):
                self.table.setItem(i, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.empty.setVisible(not runs)
        self._selection()

    def select_run(self, run_id: int) -> None:
        if run_id in self._ids:
            self.table.selectRow(self._ids.index(run_id))

    def selected(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return self._ids[rows[0].row()] if rows else None

    def _selection(self) -> None:
        on = self.selected() is not None
        for b in (self.open, self.compare, self.delete):
            b.setEnabled(on)

    def _emit(self, signal: Signal) -> None:  # type: ignore[type-arg]
        rid = self.selected()
        if rid is not None:
            signal.emit(rid)
