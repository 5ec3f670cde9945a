"""The "Side by side" tab: one prompt, the race switch, and the two columns."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLineEdit, QPushButton, QSplitter, QVBoxLayout, QWidget

from backend import units
from backend.bench.engines import MemoryPlan
from backend.bench.pairing import F16, TERNARY, Pair
from backend.bench.results import RACE_NOTE
from backend.bench.roofline import weight_traffic
from backend.models import SYNTHETIC_LABEL
from backend.models.gguf_header import GGUFHeader
from ui.compare.side_column import SideColumn


def traffic_cell(header: GGUFHeader) -> tuple[str, str]:
    """("275 MB · head Q6_K", tooltip) for a side's weights read per token; "—" with the reason."""
    try:
        t = weight_traffic(header)
    except ValueError as e:
        return units.DASH, f"Not available: {e}."
    tied = "tied to the token embeddings" if t.head_tied else "its own tensor"
    return (f"{units.size(t.total)} · head {t.head_type}",
            f"One decoded token reads {units.size(t.total)} of weights: the layers {units.size(t.layers)}, the "
            f"output head ({t.head_type}, {tied}) {units.size(t.head)}, the rest {units.size(t.other)}. "
            "From the GGUF header; the KV cache is not counted.")


class SideBySide(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.prompt = QLineEdit(self)
        self.prompt.setPlaceholderText("A prompt for both sides (the same seed, sampling, threads and context)")
        self.prompt.setAccessibleName("Comparison prompt")
        self.send = QPushButton("Compare", self)
        self.stop = QPushButton("Stop", self)
        self.stop.setEnabled(False)
        self.race = QCheckBox("Race (both at once)", self)
        self.race.setToolTip(RACE_NOTE)
        row.addWidget(self.prompt, 1)
        row.addWidget(self.race)
        row.addWidget(self.send)
        row.addWidget(self.stop)
        lay.addLayout(row)
        split = QSplitter(self)
        self.columns = {TERNARY: SideColumn(TERNARY, split), F16: SideColumn(F16, split)}
        split.addWidget(self.columns[TERNARY])
        split.addWidget(self.columns[F16])
        lay.addWidget(split, 1)

    def show_pair(self, pair: Pair, plan: MemoryPlan | None) -> None:
        for role, col in self.columns.items():
            side = pair.sides[role]
            tag = " · synthetic (random weights)" if side.synthetic else ""
            col.set_title(f"{side.encoding} · {side.model_name}{tag}",
                          f"{side.path}\n{units.size(side.file_bytes)}"
                          + (f"\n{SYNTHETIC_LABEL}" if side.synthetic else ""))
            col.set_state("")
            col.show_traffic(*traffic_cell(side.header))
        together = bool(plan and plan.together)
        self.race.setEnabled(together)
        if not together:
            self.race.setChecked(False)
            self.race.setToolTip("Race mode needs both engines in RAM at once; " + (plan.note if plan else ""))
        else:
            self.race.setToolTip(RACE_NOTE)

    def racing(self) -> bool:
        return self.race.isChecked() and self.race.isEnabled()

    def start(self, race: bool) -> None:
        for col in self.columns.values():
            col.start_reply()
            col.set_state("waiting…")
        if not race:
            self.columns[F16].set_state("waits for the ternary side: the fair mode runs one after the other")
