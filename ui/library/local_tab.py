"""The "On this computer" tab: a scrolling list of local model cards, or the empty state.

Cards are rebuilt from the registry on every change (a handful of models: cheap, and never
stale); a derivation in progress is drawn again on the new card from its last progress.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from backend.models.registry import LocalModel
from ui.library.local_view import EmptyLocal, LocalModelCard
from ui.library.variant_facts import VariantFacts
from ui.library.widgets import label
from ui.scroll_page import scroll_page


class LocalTab(QWidget):
    chat_requested = Signal(str)
    derive_requested = Signal(str, str)
    cancel_derive = Signal(str)
    remove_requested = Signal(str, object)
    redownload_requested = Signal(object)
    open_folder = Signal(object)
    compare_requested = Signal(str)
    calibrate_requested = Signal(object)  # Path of a variant's file
    cancel_calibration = Signal(object)  # Path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.scroll, body = scroll_page(self, "Lib")
        self.col = QVBoxLayout(body)
        self.col.setContentsMargins(0, 4, 6, 24)
        self.col.setSpacing(10)
        self.empty = EmptyLocal(body)
        self.col.addWidget(self.empty)
        self.cards_box = QVBoxLayout()
        self.cards_box.setSpacing(10)
        self.col.addLayout(self.cards_box)
        self.hint = label(
            "Drop .gguf files anywhere on this page to add them to the library.", "LibNote", body
        )
        self.col.addWidget(self.hint)
        self.col.addStretch(1)
        outer.addWidget(self.scroll)
        self.cards: dict[str, LocalModelCard] = {}
        self.deriving: dict[str, tuple[str, Any]] = {}  # model -> (target, last DeriveProgress)

    def show_models(self, models: list[LocalModel], loaded_spec: str) -> None:
        for card in self.cards.values():
            card.hide()
            card.deleteLater()
        self.cards = {}
        for m in models:
            card = LocalModelCard(m, loaded_spec, self.scroll.widget())
            card.chat_requested.connect(self.chat_requested)
            card.derive_requested.connect(self.derive_requested)
            card.cancel_derive.connect(self.cancel_derive)
            card.remove_requested.connect(self.remove_requested)
            card.redownload_requested.connect(self.redownload_requested)
            card.open_folder.connect(self.open_folder)
            card.compare_requested.connect(self.compare_requested)
            for facts in card.facts.values():
                facts.calibrate_requested.connect(self.calibrate_requested)
                facts.cancel_requested.connect(self.cancel_calibration)
            self.cards_box.addWidget(card)
            card.show()  # at once, not on the layout's queued show
            self.cards[m.name] = card
            if m.name in self.deriving:
                card.show_derive(*self.deriving[m.name])
        self.empty.setVisible(not models)
        self.hint.setVisible(bool(models))

    def facts_widgets(self, path: Path) -> list[VariantFacts]:
        return [c.facts[path] for c in self.cards.values() if path in c.facts]

    def variant_paths(self) -> list[Path]:
        return [p for c in self.cards.values() for p in c.facts]

    def show_facts(self, facts: dict[Path, dict[str, Any]]) -> None:
        for path, f in facts.items():
            for w in self.facts_widgets(path):
                w.show_facts(f)

    def show_calibrating(self, path: Path, done: int, total: int, what: str) -> None:
        for w in self.facts_widgets(path):
            w.show_running(done, total, what)

    def calibration_ended(self, path: Path, message: str) -> None:
        for w in self.facts_widgets(path):
            w.show_ended(message)

    def show_derive(self, model: str, target: str, progress: Any) -> None:
        self.deriving[model] = (target, progress)
        card = self.cards.get(model)
        if card is not None:
            card.show_derive(target, progress)

    def derive_ended(self, model: str) -> None:
        self.deriving.pop(model, None)
