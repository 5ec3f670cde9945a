"""The memory roofline of a run: what each side reads per token, the rate it streams at, and how close that is
to this machine's memory bandwidth — next to the ideal ternary/F16 ratios. Figures come from the run's
summary (backend/bench/roofline.py); one that could not be had reads "—" with the reason in its tooltip.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from backend import units
from backend.bench.pairing import F16, TERNARY
from backend.bench.roofline import bandwidth_text, ideal_text, streaming_figures

COLUMNS = [
    ("weights / token", "Bytes of weights one decoded token reads, from the GGUF header: every layer, the final "
                        "norm and the whole output head (the token embeddings when tied). The KV cache is not "
                        "counted."),
    ("output head", "The output head's encoding and size: F16 is exact; Q8_0 and Q6_K read less per token."),
    ("decode", "Median decode speed of the run's measured replies."),
    ("GB/s achieved", "Decode tok/s × weight bytes per token: the rate the weights stream at."),
    ("of bandwidth", "GB/s achieved as a share of this machine's memory bandwidth (how it was measured is "
                     "written under the table)."),
]


def _cells(s: dict[str, Any]) -> list[tuple[str, str]]:
    """(text, tooltip) per column; "—" with its reason when a figure is missing."""
    def missing(key: str) -> tuple[str, str]:
        return units.DASH, s.get(f"why_{key}", "not measured")

    if s.get("bytes_per_token") is None:
        why = missing("bytes_per_token")
        return [why, why, (units.tps(s.get("decode_tps")), COLUMNS[2][1]), why, why]
    tied = " (tied to the embeddings)" if s.get("head_tied") else ""
    return [
        (units.size(s["bytes_per_token"]), COLUMNS[0][1]),
        (f"{s['head_type']} · {units.size(s['head_bytes'])}", f"Output head {s['head_type']}{tied}. {COLUMNS[1][1]}"),
        (units.tps(s.get("decode_tps")), COLUMNS[2][1]),
        *((text, why or tip) for (text, why), tip in zip(streaming_figures(s).values(),
                                                           (COLUMNS[3][1], COLUMNS[4][1]), strict=True)),
    ]


class RooflineView(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Memory roofline", parent)
        self.setObjectName("RooflineView")
        lay = QVBoxLayout(self)
        self.table = QTableWidget(2, len(COLUMNS), self)
        self.table.setAccessibleName("Memory roofline")
        self.table.setHorizontalHeaderLabels([c for c, _ in COLUMNS])
        for i, (_, tip) in enumerate(COLUMNS):
            self.table.horizontalHeaderItem(i).setToolTip(tip)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        lay.addWidget(self.table)
        self.ideal = QLabel("", self)
        self.bandwidth = QLabel("", self)
        for label in (self.ideal, self.bandwidth):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            lay.addWidget(label)
        self.hide()

    def show_roofline(self, roof: dict[str, Any] | None, encodings: dict[str, str]) -> None:
        """Fill from a run summary's `roofline` (hidden for an older run stored without one)."""
        if not roof:
            self.hide()
            return
        sides = roof.get("sides", {})
        self.table.setVerticalHeaderLabels([encodings.get(TERNARY, "ternary"), encodings.get(F16, "F16")])
        for row, side in enumerate((TERNARY, F16)):
            for col, (text, tip) in enumerate(_cells(sides.get(side, {}))):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        height = self.table.horizontalHeader().height() + 2 * self.table.rowHeight(0) + 2 * self.table.frameWidth()
        self.table.setFixedHeight(height)
        self.ideal.setText(ideal_text(roof))
        self.bandwidth.setText(bandwidth_text(roof)[:1].upper() + bandwidth_text(roof)[1:])
        self.show()
