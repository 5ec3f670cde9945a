"""One side of the comparison: its reply as it streams, and its figures underneath.

Tokens are buffered and written on a 40 ms timer (never one widget update per token); the view
follows the end only when it is already there. Live figures while streaming are labelled live;
the engine's own figures replace them when the reply ends.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from backend import units
from backend.bench.results import CANCELLED, OK, Sample
from backend.bench.roofline import streaming_figures
from ui.compare import format as f

FIGURES = [
    ("ram", "peak RAM", "The engine process's peak resident memory (live: its memory now, while it streams)."),
    ("ttft", "TTFT", "Time to first token: from the request to the first generated token, by the engine's clock."),
    ("decode", "tok/s", "Decode speed: output tokens per second after the first one."),
    ("prefill", "prefill", "Prompt processing speed: prompt tokens per second."),
    ("power", "power", "Average power while this side generated, from the power source named in the tooltip."),
    ("jpt", "J/token", "Decode energy per output token, above the idle baseline."),
    ("traffic", "weights/token", "Bytes of weights one decoded token reads (every layer and the whole output head), "
                                 "from the GGUF header; the output head's encoding is named."),
    ("gbs", "GB/s", "Decode tok/s × weights per token: the rate the weights stream at."),
    ("share", "of bandwidth", "GB/s as a share of this machine's memory bandwidth (measured once: a streaming read "
                              "test, or an F16 decode if that was faster)."),
]
STATIC = ("traffic",)  # known from the file before any reply


class SideColumn(QFrame):
    def __init__(self, role: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role
        self.setObjectName(f"CompareSide-{role}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        lay = QVBoxLayout(self)
        self.title = QLabel("—", self)
        self.title.setObjectName("CompareSideTitle")
        self.title.setStyleSheet("font-weight: 600; font-size: 14px;")
        self.title.setWordWrap(True)  # a long model name wraps in a narrow window, never cut off
        self.title.setMinimumWidth(1)
        self.state = QLabel("", self)
        self.state.setObjectName("CompareSideState")
        self.state.setWordWrap(True)
        self.reply = QPlainTextEdit(self)
        self.reply.setReadOnly(True)
        self.reply.setAccessibleName(f"{role} reply")
        self.reply.setPlaceholderText("The reply streams here.")
        self.reply.setMinimumHeight(72)  # a few lines of it, even in a short window (the page scrolls)
        lay.addWidget(self.title)
        lay.addWidget(self.state)
        lay.addWidget(self.reply, 1)
        grid = QGridLayout()
        self.values: dict[str, QLabel] = {}
        for i, (key, name, tip) in enumerate(FIGURES):
            label = QLabel(name, self)
            label.setToolTip(tip)
            label.setStyleSheet("color: palette(placeholder-text);")
            value = QLabel(units.DASH, self)
            value.setObjectName(f"figure-{key}")
            value.setToolTip(tip)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setStyleSheet("font-size: 13px; font-weight: 600;")
            grid.addWidget(label, 2 * (i // 3), i % 3)
            grid.addWidget(value, 2 * (i // 3) + 1, i % 3)
            self.values[key] = value
        lay.addLayout(grid)
        self._pending: list[str] = []
        self._final = False  # the reply's measured figures are shown: live readings no longer replace them
        self._flush = QTimer(self)
        self._flush.setInterval(40)
        self._flush.timeout.connect(self.flush)

    # -- the reply ----------------------------------------------------------------------------
    def set_title(self, text: str, tooltip: str = "") -> None:
        self.title.setText(text)
        self.title.setToolTip(tooltip)

    def set_state(self, text: str) -> None:
        self.state.setText(text)

    def start_reply(self) -> None:
        self._final = False
        self._pending.clear()
        self.reply.clear()
        for key, value in self.values.items():
            if key in STATIC:
                continue
            value.setText(units.DASH)
            value.setToolTip(dict((k, t) for k, _n, t in FIGURES)[key])
        self._flush.start()

    def add_text(self, text: str) -> None:
        self._pending.append(text)

    def flush(self) -> None:
        if not self._pending:
            return
        text = "".join(self._pending)
        self._pending.clear()
        bar = self.reply.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 4
        cursor = QTextCursor(self.reply.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        if at_end:
            bar.setValue(bar.maximum())

    def text(self) -> str:
        self.flush()
        return self.reply.toPlainText()

    # -- figures ------------------------------------------------------------------------------
    def show_live(self, live: dict) -> None:
        if self._final:  # a reading sent before the reply ended, arriving after its measured figures
            return
        self.values["ram"].setText(units.memory(live.get("rss")))
        self.values["ttft"].setText(units.ms(live.get("ttft_ms")))
        self.values["decode"].setText(units.tps(live.get("decode_tps")))
        self.values["power"].setText(units.watts(live.get("watts")))

    def show_sample(self, s: Sample, power_badge: str = "") -> None:
        self.flush()
        self._flush.stop()
        if s.status != OK or s.stats is None:
            self.set_state(f"{s.status}: {s.error}" if s.error else s.status)
            if s.stats is None:
                return
        st = s.stats
        self._final = True
        self.values["ram"].setText(units.memory(st.peak_rss))
        self.values["ram"].setToolTip("The engine process's peak resident memory (weights, KV cache, runtime), "
                                      "measured by the OS.")
        self.values["ttft"].setText(units.ms(st.ttft_ms))
        self.values["decode"].setText(units.tps(st.decode_tps))
        self.values["prefill"].setText(units.tps(st.prefill_tps))
        e = s.energy
        self.values["power"].setText(units.watts(e.avg_watts))
        self.values["power"].setToolTip(f"Average power during the reply: {power_badge}" if e.avg_watts is not None
                                        else f"Power: not measured — {e.reason or 'no power reading'}.")
        self.values["jpt"].setText(units.per_token(e.j_per_token))
        self.values["jpt"].setToolTip(f.energy_tooltip(e))
        if s.status == OK:
            self.set_state(f"{st.output_tokens} tokens · stopped at {st.stop_reason} · measured by the engine")

    def show_traffic(self, text: str, tooltip: str) -> None:
        """The weights this side reads per token (from its header, before any reply)."""
        self.values["traffic"].setText(text)
        self.values["traffic"].setToolTip(tooltip)

    def show_roofline(self, s: dict[str, Any]) -> None:
        """GB/s and share of bandwidth from the run's roofline ("—" with the reason when missing)."""
        tips = dict((k, t) for k, _n, t in FIGURES)
        for key, (text, why) in zip(("gbs", "share"), streaming_figures(s).values(), strict=True):
            self.values[key].setText(text)
            self.values[key].setToolTip(f"Not available: {why}." if why else tips[key])

    def show_outcome(self, samples: list[Sample]) -> None:
        """The side's line once the run is over, from its samples (a stopped side still wrote something)."""
        if any(x.status == OK for x in samples):
            return
        last = samples[-1] if samples else None
        if last is not None and last.status == CANCELLED and last.stats is not None:
            self.set_state(f"stopped after {units.count(last.stats.output_tokens, 'token')} — its figures "
                           "cover the part it wrote")
        elif last is not None and last.error:
            self.set_state(last.error)
        elif self.text():
            self.set_state("stopped before its figures were measured")
        else:
            self.set_state("not run")
