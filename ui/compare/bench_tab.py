"""Benchmark mode: its settings, progress, the chart, medians with IQR, the memory roofline, export, and "compare
with a previous run"."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from backend.bench.export import write_csv, write_json
from backend.bench.pairing import F16, TERNARY
from backend.bench.ratios import METRICS, phrase
from backend.bench.report import median_iqr
from backend.bench.results import BENCH, DEFAULT_PROMPT, BenchConfig, RunResult
from backend.bench.summary import figures
from ui.compare.chart import ORDER, WORDS, BenchChart
from ui.compare.roofline_view import RooflineView

RATIO_KEYS = {"decode_tps": "decode", "prefill_tps": "prefill", "ttft_ms": "ttft", "peak_rss": "ram",
              "j_per_token": "energy"}


class BenchTab(QWidget):
    run_requested = Signal(object)  # BenchConfig
    stop_requested = Signal()
    compare_changed = Signal(int)  # run id of the previous run to compare with (0: none)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run: RunResult | None = None
        self.previous: RunResult | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        outer.addWidget(scroll)
        body = QWidget(scroll)
        scroll.setWidget(body)
        lay = QVBoxLayout(body)

        form = QFormLayout()
        self.runs = QSpinBox(body)
        self.runs.setRange(1, 50)
        self.runs.setValue(5)
        self.runs.setToolTip("Measured runs per side, interleaved A B A B after a warm-up of each side.")
        self.tokens = QSpinBox(body)
        self.tokens.setRange(8, 4096)
        self.tokens.setValue(128)
        self.tokens.setToolTip("Every run generates exactly this many tokens (end-of-text is ignored).")
        self.prompts = QPlainTextEdit(body)
        self.prompts.setPlainText(DEFAULT_PROMPT)
        self.prompts.setFixedHeight(64)
        self.prompts.setToolTip("One prompt per line; every run goes through all of them on both sides.")
        self.baseline = QCheckBox("Measure idle power before each run (a few seconds each)", body)
        self.baseline.setChecked(True)
        form.addRow("Runs per side", self.runs)
        form.addRow("Output tokens", self.tokens)
        form.addRow("Prompts", self.prompts)
        form.addRow("", self.baseline)
        lay.addLayout(form)

        row = QHBoxLayout()
        self.start = QPushButton("Run benchmark", body)
        self.start.setDefault(False)
        self.stop = QPushButton("Stop", body)
        self.stop.setEnabled(False)
        self.stop.setToolTip("Stop after the current token; what was measured is kept and marked incomplete.")
        self.progress = QProgressBar(body)
        self.progress.setTextVisible(True)
        self.progress.setFormat("%v / %m replies")
        self.status = QLabel("", body)
        self.status.setWordWrap(True)
        row.addWidget(self.start)
        row.addWidget(self.stop)
        row.addWidget(self.progress, 1)
        lay.addLayout(row)
        lay.addWidget(self.status)

        self.chart = BenchChart(body)
        lay.addWidget(self.chart)
        cmp_row = QHBoxLayout()
        cmp_row.addWidget(QLabel("Compare with a previous run:", body))
        self.compare = QComboBox(body)
        self.compare.setAccessibleName("Compare with a previous run")
        cmp_row.addWidget(self.compare, 1)
        lay.addLayout(cmp_row)
        self.table = QTableWidget(0, 4, body)
        self.table.setAccessibleName("Benchmark summary")
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        lay.addWidget(self.table)
        self.roofline = RooflineView(body)
        lay.addWidget(self.roofline)
        self.notes = QLabel("", body)
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.notes)
        exports = QHBoxLayout()
        self.csv_button = QPushButton("Export CSV…", body)
        self.json_button = QPushButton("Export JSON…", body)
        self.png_button = QPushButton("Save chart as PNG…", body)
        for b in (self.csv_button, self.json_button, self.png_button):
            b.setEnabled(False)
            exports.addWidget(b)
        exports.addStretch(1)
        lay.addLayout(exports)
        lay.addStretch(1)

        self.start.clicked.connect(lambda: self.run_requested.emit(self.config()))
        self.stop.clicked.connect(self.stop_requested)
        self.compare.currentIndexChanged.connect(
            lambda _i: self.compare_changed.emit(int(self.compare.currentData() or 0)))
        self.csv_button.clicked.connect(lambda: self._ask_export("CSV (*.csv)", ".csv", self.export_csv))
        self.json_button.clicked.connect(lambda: self._ask_export("JSON (*.json)", ".json", self.export_json))
        self.png_button.clicked.connect(lambda: self._ask_export("PNG image (*.png)", ".png", self.export_png))

    def config(self) -> BenchConfig:
        prompts = [p.strip() for p in self.prompts.toPlainText().splitlines() if p.strip()] or [DEFAULT_PROMPT]
        return BenchConfig(kind=BENCH, runs=self.runs.value(), tokens=self.tokens.value(), prompts=prompts,
                           idle_baseline=self.baseline.isChecked())

    # -- while it runs ------------------------------------------------------------------------
    def set_running(self, running: bool, total: int = 0) -> None:
        self.start.setEnabled(not running)
        self.stop.setEnabled(running)
        if running:
            self.progress.setRange(0, max(total, 1))
            self.progress.setValue(0)

    def sample_done(self) -> None:
        self.progress.setValue(self.progress.value() + 1)

    # -- results ------------------------------------------------------------------------------
    def set_previous_choices(self, runs: list[RunResult]) -> None:
        current = int(self.compare.currentData() or 0)
        self.compare.blockSignals(True)
        self.compare.clear()
        self.compare.addItem("none", 0)
        for r in runs:
            if self.run is not None and r.id == self.run.id:
                continue
            head = " · ".join(r.summary.get("headline", [])[:1])
            self.compare.addItem(f"#{r.id} {r.label} ({r.status}) {head}", r.id)
        i = self.compare.findData(current)
        self.compare.setCurrentIndex(max(i, 0))
        self.compare.blockSignals(False)

    def show_run(self, run: RunResult, previous: RunResult | None = None) -> None:
        self.run, self.previous = run, previous
        self.chart.set_runs(run, previous)
        models = run.fingerprint.get("models", {})
        enc = {s: models.get(s, {}).get("encoding") or s for s in (TERNARY, F16)}
        heads = ["figure", f"{enc[TERNARY]} median (IQR)", f"{enc[F16]} median (IQR)", "ternary vs F16"]
        if previous is not None:
            heads += [f"previous #{previous.id} {enc[TERNARY]}", f"previous #{previous.id} {enc[F16]}"]
        self.table.setColumnCount(len(heads))
        self.table.setHorizontalHeaderLabels(heads)
        tq, fp = figures(run.summary, TERNARY), figures(run.summary, F16)
        ptq = figures(previous.summary, TERNARY) if previous else {}
        pfp = figures(previous.summary, F16) if previous else {}
        ratios = run.summary.get("ratios", {})
        self.table.setRowCount(len(ORDER))
        for row, key in enumerate(ORDER):
            m = next(x for x in METRICS if x.key == key)
            words = WORDS[key]
            cells = [m.name, median_iqr(m, tq.get(key)), median_iqr(m, fp.get(key)),
                     phrase(ratios.get(RATIO_KEYS[key]), words[0], words[1], words[2] or m.name) or "—"]
            if previous is not None:
                cells += [median_iqr(m, ptq.get(key)), median_iqr(m, pfp.get(key))]
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.roofline.show_roofline(run.summary.get("roofline"), enc)
        s = run.summary
        lines = [" · ".join(s.get("headline", []))]
        counts = s.get("sides", {})
        lines.append("Replies — " + " · ".join(
            f"{enc[k]}: {v.get('ok', 0)} measured, {v.get('failed', 0)} failed, {v.get('cancelled', 0)} cancelled"
            for k, v in counts.items()))
        if s.get("energy_reason"):
            lines.append(f"Energy per token: — ({s['energy_reason']})")
        lines += s.get("notes", [])
        if run.fingerprint.get("weights_note"):
            lines.append(run.fingerprint["weights_note"])
        self.notes.setText("\n".join(lines))
        for b in (self.csv_button, self.json_button, self.png_button):
            b.setEnabled(True)

    # -- export -------------------------------------------------------------------------------
    def export_csv(self, path: Path) -> None:
        assert self.run is not None
        write_csv(self.run, path)

    def export_json(self, path: Path) -> None:
        assert self.run is not None
        write_json(self.run, path)

    def export_png(self, path: Path) -> None:
        if not self.chart.save_png(path):
            raise OSError(f"could not write {path}")

    def _ask_export(self, filter_: str, suffix: str, write) -> None:  # type: ignore[no-untyped-def]
        if self.run is None:
            return
        name = f"tern-bench-{self.run.id or 'run'}{suffix}"
        path, _ = QFileDialog.getSaveFileName(self, "Export", name, filter_)
        if not path:
            return
        try:
            write(Path(path))
            self.status.setText(f"Saved {path}")
        except OSError as e:
            self.status.setText(f"Could not save {path}: {e}")
