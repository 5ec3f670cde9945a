"""The top of the comparison panel: which ternary model, its F16 variant (or why there is none), derive it."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

from backend import units
from backend.bench.missing_variant import MissingVariant
from backend.models.registry import Registry
from ui.compare.worker import Prepared

WARN = "color: #b26b00;"


class PairPicker(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        top = QHBoxLayout(self)
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(QLabel("Ternary model", self))
        self.model = QComboBox(self)
        self.model.setAccessibleName("Ternary model")
        self.model.setMinimumWidth(220)
        top.addWidget(self.model)
        self.pair_note = QLabel("", self)
        self.pair_note.setObjectName("ComparePairNote")
        self.pair_note.setWordWrap(True)
        top.addWidget(self.pair_note, 1)
        self.derive = QPushButton("Derive the F16 variant", self)
        self.derive.setVisible(False)
        top.addWidget(self.derive)

    def fill(self, registry: Registry) -> bool:
        """List the usable ternary variants (keeping the current choice); False when there is none."""
        current = self.model.currentData()
        self.model.blockSignals(True)
        self.model.clear()
        for m in registry.models():
            for v in m.variants:
                if v.ternary and v.usable:
                    tag = " (synthetic)" if m.synthetic else ""
                    self.model.addItem(f"{m.name} · {v.encoding}{tag}", f"{m.name}:{v.encoding.lower()}")
        self.model.setCurrentIndex(max(self.model.findData(current), 0))
        self.model.blockSignals(False)
        if self.model.count() == 0:
            self.pair_note.setText("No ternary model yet: make the demo or download one from the Library.")
            return False
        return True

    def spec(self) -> str | None:
        return self.model.currentData()

    def checking(self) -> None:
        self.derive.setVisible(False)
        self.pair_note.setStyleSheet("")
        self.pair_note.setText("Checking the pair…")

    def show_prepared(self, p: Prepared) -> None:
        self.derive.setVisible(False)
        if p.error is not None or p.pair is None:
            self.pair_note.setText(str(p.error))
            self.pair_note.setStyleSheet(WARN)
            if isinstance(p.error, MissingVariant):
                self.derive.setVisible(True)
                self.derive.setEnabled(p.error.offer.fits_disk)
                self.derive.setToolTip(p.error.offer.describe())
            return
        self.pair_note.setStyleSheet("")
        pair, plan = p.pair, p.plan
        together = bool(plan and plan.together)
        self.pair_note.setText(f"paired with {pair.f16.encoding} ({units.size(pair.f16.file_bytes)}) · "
                          f"{'same weights' if pair.same_weights else 'weights not verified identical'} · "
                          f"{'both engines stay loaded' if together else 'engines swap (RAM)'}")
        self.pair_note.setToolTip(f"{pair.weights_note}\nMemory: {plan.note if plan else ''}")

    def deriving(self, text: str) -> None:
        self.derive.setEnabled(False)
        self.pair_note.setText(f"Deriving the F16 variant — {text}")
