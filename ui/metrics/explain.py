"""The one-click explanation of the power figure: what it covers, how it is obtained, what was
passed over and why, and how an administrator could enable a better source."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from backend.metrics.snapshot import PowerState

ENERGY_NOTE = (
    "Energy per token is the energy over a reply (from the engine's own start and end times), minus the idle "
    "power measured just before it when the engine was idle then, divided by the reply's output tokens. A "
    "source that updates slowly (a battery) reports short replies as too short to measure rather "
    "than guessing."
)


def explanation_html(state: PowerState) -> str:
    """The explanation as simple HTML: paragraphs, bullet lines, and command lines in monospace."""
    out = [f"<h3 style='margin:0 0 6px 0'>{html.escape(state.badge)}</h3>"]
    if state.available:
        kind = "Measured" if state.measured else "Estimated — not a measurement"
        out.append(
            f"<p><b>Covers:</b> {html.escape(state.covers)} &nbsp; <b>How:</b> {html.escape(kind)}"
            f" ({html.escape(state.method)})</p>"
        )
    elif state.reason:
        out.append(f"<p><b>Why there is no figure:</b> {html.escape(state.reason)}</p>")
    for block in (state.explanation or "").split("\n\n"):
        lines = block.split("\n")
        parts = []
        for line in lines:
            if line.startswith("  "):
                parts.append(f"<code style='white-space:pre'>{html.escape(line.strip())}</code>")
            else:
                parts.append(html.escape(line))
        out.append("<p>" + "<br>".join(parts) + "</p>")
    out.append(f"<p style='color:gray'>{html.escape(ENERGY_NOTE)}</p>")
    return "".join(out)


class PowerExplanation(QDialog):
    """The explanation, and (when given `set_watts`) the one figure a user can supply: watts per core."""

    def __init__(
        self,
        state: PowerState,
        parent: QWidget | None = None,
        watts: float = 0.0,
        set_watts: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("About this power figure")
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        self.text = QLabel(explanation_html(state))
        self.text.setObjectName("PowerExplanationText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.text.setContentsMargins(4, 4, 4, 4)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.text)
        layout.addWidget(scroll, 1)
        self.set_watts = set_watts
        self.watts = QDoubleSpinBox(self)
        if set_watts is not None:
            row = QHBoxLayout()
            label = QLabel(
                "Your CPU's watts per core for the estimate (TDP ÷ cores; 0 = Tern's TDP table):", self
            )
            label.setWordWrap(True)
            self.watts.setRange(0.0, 200.0)
            self.watts.setDecimals(2)
            self.watts.setSuffix(" W")
            self.watts.setValue(watts)
            self.watts.setAccessibleName("Watts per core")
            apply = QPushButton("Use", self)
            apply.clicked.connect(self._apply_watts)
            row.addWidget(label, 1)
            row.addWidget(self.watts)
            row.addWidget(apply)
            layout.addLayout(row)
            note = QLabel("Used only when no power meter can be read, and always labelled “Estimated”.", self)
            note.setObjectName("FigureSource")
            layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(620, 460)

    @Slot()
    def _apply_watts(self) -> None:
        if self.set_watts is not None:
            self.set_watts(float(self.watts.value()))
        self.accept()
