"""Under each local variant: its output head and the weights one token reads, and the threads it runs with.

`VariantFacts` shows them; `FactsController` reads them off the GUI thread (the GGUF header, the
calibration kept for the file on this CPU: backend.engine.threads, backend.bench.roofline) and runs a
thread calibration as a library job on request — a visible progress line with Cancel; a cancelled one
keeps nothing. Settings' Threads, when not Automatic, win over a calibration, and the line says so.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QVBoxLayout, QWidget

from backend import units
from ui.library.tasks import Report, Tasks
from ui.library.widgets import button, label, progress_bar


def head_line(facts: dict[str, Any]) -> tuple[str, str]:
    t = facts.get("weights_per_token")
    if not t:
        why = facts.get("weights_per_token_unavailable", "unknown")
        return f"Weights per token: {units.DASH}", f"Not available: {why}."
    tied = " (tied: the token embeddings)" if t.get("head_tied") else ""
    return (f"Output head {t['head_type']} · reads {units.size(t['total'])} of weights per token",
            f"One decoded token reads every layer ({units.size(t['layers'])}) and the whole output head{tied}: "
            f"{t['head_type']}, {units.size(t['head'])}. F16 is exact; Q8_0 and Q6_K read less. From the GGUF "
            "header; the KV cache is not counted.")


def threads_line(facts: dict[str, Any]) -> tuple[str, str]:
    from backend.engine.threads import Calibration, ThreadChoice

    c = facts["threads"]
    cal = Calibration.from_dict(c["calibration"]) if c.get("calibration") else None
    choice = ThreadChoice(c["n_threads"], c["n_threads_batch"], c["source"], cal)
    text = f"Threads: {choice.text}"
    if facts.get("kept") and choice.source == "settings":
        text += " (a calibration is kept for Automatic)"
    tip = "Measured the first time the model runs with Threads: Automatic, or now."
    if cal:
        gain_d, gain_p = cal.gain()
        tip = (f"Measured on this computer in {cal.seconds:.1f} s (best of {cal.rounds} rounds): {cal.figures()}.\n"
               f"Chosen vs the default of {cal.default} (physical cores): decode {units.times(gain_d)}, prompts "
               f"{units.times(gain_p)}. A count must beat the default by more than {cal.margin:.0%} to be chosen.")
    return text, tip


class VariantFacts(QFrame):
    calibrate_requested = Signal(object)  # Path
    cancel_requested = Signal(object)  # Path

    def __init__(self, path: Path, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LibVariantFacts")
        self.path = path
        col = QVBoxLayout(self)
        col.setContentsMargins(12, 0, 8, 4)
        col.setSpacing(3)
        self.head = label("Output head: reading the file…", "LibMeta", self, wrap=True)
        col.addWidget(self.head)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.threads = label("Threads: …", "LibMeta", self, wrap=True)
        self.threads.setAccessibleName(f"Threads for {name}")
        row.addWidget(self.threads, 1)
        self.calibrate = button("Calibrate", self, "Measure the best decode and prompt threads for this file on this "
                                "computer (a few seconds; the model is loaded in its own engine)",
                                accessible=f"Calibrate threads for {name}")
        self.calibrate.clicked.connect(lambda: self.calibrate_requested.emit(self.path))
        self.cancel = button("Cancel", self, "Stop measuring; nothing is kept", accessible=f"Cancel calibrating {name}")
        self.cancel.clicked.connect(lambda: self.cancel_requested.emit(self.path))
        self.cancel.hide()
        row.addWidget(self.calibrate)
        row.addWidget(self.cancel)
        col.addLayout(row)
        self.bar = progress_bar(self, f"Progress calibrating {name}")
        self.bar.hide()
        col.addWidget(self.bar)
        self.facts_text = ""

    def show_facts(self, facts: dict[str, Any]) -> None:
        for target, (text, tip) in ((self.head, head_line(facts)), (self.threads, threads_line(facts))):
            target.setText(text)
            target.setToolTip(tip)
        self.facts_text = self.threads.text()
        self.calibrate.setText("Calibrate again" if facts["threads"].get("calibration") else "Calibrate")

    def show_running(self, done: int, total: int, what: str) -> None:
        self.calibrate.hide()
        self.cancel.show()
        self.bar.show()
        self.bar.setValue(int(1000 * done / max(1, total)))
        self.threads.setText(f"Measuring threads… {what} ({done} of {total})")

    def show_ended(self, message: str = "") -> None:
        self.cancel.hide()
        self.bar.hide()
        self.calibrate.show()
        if message:
            self.threads.setText(f"{message} {self.facts_text}".strip())


class FactsController(QObject):
    """Reads every shown variant's facts in one job; runs calibrations, one per file at a time."""

    loaded = Signal(object)  # {path: facts}
    progress = Signal(object, int, int, str)  # path, done, total, what
    ended = Signal(object, str)  # path, message ("" when it finished and the facts are read again)
    _step = Signal(object, int, int, str)  # from a calibration's thread

    def __init__(self, tasks: Tasks, threads_setting: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks, self.threads_setting = tasks, threads_setting
        self.running: dict[Path, Any] = {}  # path -> Job
        self.last: dict[Path, tuple[int, int, str]] = {}
        self._step.connect(self._on_step)

    def read(self, paths: list[Path]) -> None:
        setting = int(self.threads_setting() or 0)

        def work(_report: Report, _cancel: threading.Event) -> dict[Path, dict[str, Any]]:
            from backend.engine.threads import variant_facts

            return {p: variant_facts(p, setting) for p in paths}

        if paths:
            self.tasks.start("variant-facts", work, self.loaded.emit)

    def calibrate(self, path: Path) -> None:
        if path in self.running:
            return

        def work(_report: Report, cancel: threading.Event) -> Any:
            from backend.engine import threads

            return threads.calibrate_file(path, cancel, lambda d, t, w: self._step.emit(path, d, t, w))

        job = self.tasks.start(f"calibrate-{path.name}", work, lambda _cal: self._end(path, ""),
                               lambda e: self._end(path, _failure(e)))
        if job is not None:
            self.running[path] = job
            self._on_step(path, 0, 1, "loading the model")

    def cancel(self, path: Path) -> None:
        job = self.running.get(path)
        if job is not None:
            job.cancel()

    @Slot(object, int, int, str)
    def _on_step(self, path: Path, done: int, total: int, what: str) -> None:
        if path in self.running:
            self.last[path] = (done, total, what)
            self.progress.emit(path, done, total, what)

    def _end(self, path: Path, message: str) -> None:
        self.running.pop(path, None)
        self.last.pop(path, None)
        self.ended.emit(path, message)
        if not message:  # a new calibration is kept: read it back
            self.read([path])


def _failure(e: BaseException) -> str:
    from backend.engine.threads import CalibrationCancelled

    if isinstance(e, CalibrationCancelled):
        return "Calibration cancelled; nothing was kept."
    return f"Calibration failed: {e}"
