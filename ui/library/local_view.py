"""The "On this computer" tab: each local model with its variants (encoding, size, provenance, checks).

A model card offers what takes it to a variant pair: "Make F16 variant" (and TQ1_0 ⇄ TQ2_0 in
its menu) with a progress bar while llama.cpp converts; each variant can be chatted with or
removed; a quarantined file says why and offers to download it again. Under each variant: its
output head, the weights a token reads, and its threads with Calibrate (ui/library/variant_facts.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QMenu, QToolButton, QVBoxLayout, QWidget

from backend import units
from backend.models.registry import LocalModel, Variant
from ui import theme
from ui.library import format as fmt
from ui.library.style import chip, glyph, set_kind
from ui.library.variant_facts import VariantFacts
from ui.library.widgets import Card, ElidedLabel, button, icon_button, label, progress_bar

PHASES = {
    "hash": "checksumming the source",
    "convert": "converting",
    "check": "checking the result",
    "done": "done",
}


class VariantRow(QFrame):
    def __init__(self, model: LocalModel, v: Variant, loaded: bool, card: LocalModelCard) -> None:
        super().__init__(card)
        self.setObjectName("LibVariant")
        self.variant = v
        spec = f"{model.name}:{v.encoding}"
        self.setAccessibleName(f"Variant {spec}")
        bad = v.quarantined or not v.usable
        set_kind(self, "bad" if v.quarantined else "")
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 7, 8, 7)
        row.setSpacing(10)
        row.addWidget(chip(self, v.encoding, "enc", "Encoding of the weights"))
        row.addWidget(label(units.size(v.file_bytes), "LibSize", self))
        self.provenance = ElidedLabel(fmt.provenance(v), self)
        self.provenance.setObjectName("LibMeta")
        self.provenance.setToolTip(
            f"{fmt.provenance(v)}\nFile: {v.path}" + (f"\nsha256 {v.sha256}" if v.sha256 else "")
            + fmt.conversion_details(v)
        )
        row.addWidget(self.provenance, 1)
        if v.quarantined:
            row.addWidget(
                chip(self, "quarantined", "bad", v.info.get("quarantine_reason", "failed verification"))
            )
        elif not v.path.exists():
            row.addWidget(
                chip(
                    self,
                    "file missing",
                    "bad",
                    f"{v.path} is gone; remove this variant or import the file again",
                )
            )
        elif v.verified:
            row.addWidget(chip(self, "verified", "ok", "The file's sha256 matches what the Hub published"))
        if v.info.get("label"):
            row.addWidget(chip(self, "random weights", "warn", str(v.info["label"])))
        if v.quarantined and v.source_repo and v.source_file:
            again = button(
                "Download again",
                self,
                "Fetch a fresh copy from the Hub; the quarantined one is replaced",
                accessible=f"Download {spec} again",
            )
            again.clicked.connect(lambda: card.redownload_requested.emit(v))
            row.addWidget(again)
        elif not bad:
            chat = button(
                "Loaded" if loaded else "Chat",
                self,
                f"Load {spec} and open the chat",
                accessible=f"Chat with {spec}",
            )
            chat.setEnabled(not loaded)
            chat.clicked.connect(lambda: card.chat_requested.emit(spec))
            row.addWidget(chat)
        trash = icon_button("trash", self, f"Remove the {v.encoding} variant (asks first)", f"Remove {spec}")
        trash.clicked.connect(lambda: card.remove_requested.emit(model.name, v.encoding))
        row.addWidget(trash)


class LocalModelCard(Card):
    chat_requested = Signal(str)  # spec
    derive_requested = Signal(str, str)  # model, to
    cancel_derive = Signal(str)  # model
    remove_requested = Signal(str, object)  # model, encoding or None (the whole model)
    redownload_requested = Signal(object)  # Variant
    open_folder = Signal(object)  # Path
    compare_requested = Signal(str)  # model

    def __init__(self, model: LocalModel, loaded_spec: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, (18, 14, 18, 14))
        self.model = model
        self.setAccessibleName(f"Local model {model.name}")
        usable = {v.encoding.upper() for v in model.variants if v.usable}
        head = QHBoxLayout()
        head.setSpacing(8)
        head.addWidget(glyph(self, "cpu", "accent", 20))
        head.addWidget(label(model.name, "LibCardTitle", self, selectable=True))
        if model.synthetic:
            head.addWidget(
                chip(
                    self,
                    "synthetic",
                    "warn",
                    "Made by Tern with random ternary weights: real speed and memory, meaningless text",
                )
            )
        if model.chat is True:
            head.addWidget(chip(self, "chat-tuned", "ok", "Has a chat template / is tuned for conversation"))
        elif model.chat is False and not model.synthetic:
            head.addWidget(chip(self, "base model", "", "Continues text; not tuned for conversation"))
        ternary = usable & {"TQ1_0", "TQ2_0"}
        pair = bool(ternary) and "F16" in usable
        if pair:
            head.addWidget(
                chip(
                    self,
                    "ternary + F16 pair",
                    "enc",
                    "The same weights in a ternary encoding and in "
                    "F16: ready for the side-by-side comparison",
                )
            )
        head.addStretch(1)
        self.make_f16 = None
        self.compare = None
        if pair:
            self.compare = button(
                "Compare",
                self,
                f"Open the Compare page: {model.name} ternary vs F16",
                icon="compare",
                accessible=f"Compare {model.name}'s variants",
            )
            self.compare.clicked.connect(lambda: self.compare_requested.emit(model.name))
            head.addWidget(self.compare)
        if ternary and "F16" not in usable:
            size = (
                f" (≈ {units.size(model.n_params * 2)}: parameters × 2 bytes)" if model.n_params else ""
            )
            self.make_f16 = button(
                "Make F16 variant",
                self,
                "Requantize the ternary file to F16 with llama.cpp: "
                f"the same weights, exactly, for the side-by-side comparison{size}",
                icon="sparkle",
                accessible=f"Make the F16 variant of {model.name}",
            )
            self.make_f16.clicked.connect(lambda: self.derive_requested.emit(model.name, "f16"))
            head.addWidget(self.make_f16)
        self.menu_button = QToolButton(self)
        self.menu_button.setObjectName("LibIconButton")
        self.menu_button.setAccessibleName(f"More actions for {model.name}")
        self.menu_button.setToolTip("More: other variants, the folder, remove")
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        theme.set_icon(self.menu_button, "more", size=16)
        self.menu = QMenu(self.menu_button)
        for enc in ("TQ2_0", "TQ1_0"):
            if enc not in usable and usable & ({"TQ1_0", "TQ2_0", "F16"} - {enc}):
                act = self.menu.addAction(f"Make {enc} variant")
                act.setToolTip(f"Re-encode the ternary weights as {enc} (exact)")
                act.triggered.connect(
                    lambda _=False, e=enc: self.derive_requested.emit(model.name, e.lower())
                )
        first = next((v for v in model.variants if v.path.parent.exists()), None)
        if first is not None:
            self.menu.addAction("Open the folder").triggered.connect(
                lambda: self.open_folder.emit(first.path.parent)
            )
        self.menu.addSeparator()
        self.menu.addAction(f"Remove {model.name}…").triggered.connect(
            lambda: self.remove_requested.emit(model.name, None)
        )
        self.menu_button.setMenu(self.menu)
        head.addWidget(self.menu_button)
        self.body.addLayout(head)

        meta = [
            model.family or "",
            fmt.params(model.n_params),
            f"licence {model.license}" if model.license else "",
            model.repo or "",
        ]
        line = "  ·  ".join(m for m in meta if m)
        if line:
            self.meta = ElidedLabel(line, self)
            self.meta.setObjectName("LibMeta")
            self.body.addWidget(self.meta)
        self.body.addSpacing(4)
        self.variant_rows = [
            VariantRow(model, v, f"{model.name}:{v.encoding}".lower() == loaded_spec.lower(), self)
            for v in model.variants
        ]
        self.facts: dict[Path, VariantFacts] = {}  # filled off the GUI thread (ui/library/variant_facts.py)
        for r in self.variant_rows:
            self.body.addWidget(r)
            v = r.variant
            if v.usable and not v.quarantined:
                facts = self.facts[v.path] = VariantFacts(v.path, f"{model.name}:{v.encoding}", self)
                self.body.addWidget(facts)
        if ternary and "F16" not in usable:
            self.body.addWidget(
                label(
                    "No F16 variant yet: make one to compare ternary and F16 on the same weights "
                    "(Compare page).",
                    "LibNote",
                    self,
                    wrap=True,
                )
            )
        self._derive_box()

    def _derive_box(self) -> None:
        box = QWidget(self)
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 6, 0, 0)
        col.setSpacing(5)
        top = QHBoxLayout()
        self.derive_text = label("", "LibMeta", box)
        self.derive_text.setAccessibleName(f"Variant being made for {self.model.name}")
        top.addWidget(self.derive_text, 1)
        self.derive_cancel = button(
            "Cancel",
            box,
            "Stop making the variant; nothing is kept",
            accessible=f"Cancel making a variant of {self.model.name}",
        )
        self.derive_cancel.clicked.connect(lambda: self.cancel_derive.emit(self.model.name))
        top.addWidget(self.derive_cancel)
        col.addLayout(top)
        self.derive_bar = progress_bar(box, f"Progress making a variant of {self.model.name}")
        col.addWidget(self.derive_bar)
        self.derive_box = box
        box.hide()
        self.body.addWidget(box)

    def show_derive(self, target: str, progress: Any) -> None:
        """A derivation of `target` is running; `progress` is a DeriveProgress or None (just started)."""
        self.derive_box.show()
        if self.make_f16 is not None:
            self.make_f16.setEnabled(False)
        if progress is None:
            self.derive_text.setText(f"Making the {target} variant… starting llama.cpp")
            self.derive_bar.setRange(0, 0)
            return
        self.derive_bar.setRange(0, 1000)
        phase = PHASES.get(progress.phase, progress.phase)
        done = (
            f"  ·  {units.size(progress.done_bytes)} of ≈ {units.size(progress.total_bytes)}"
            if progress.phase == "convert" and progress.total_bytes
            else ""
        )
        self.derive_text.setText(f"Making the {target} variant… {phase} {progress.fraction:.0%}{done}")
        self.derive_bar.setValue(int(1000 * progress.fraction))


class EmptyLocal(QWidget):
    """No model on this computer yet: the three ways to get one."""

    catalog_requested = Signal()
    import_requested = Signal()
    demo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 40, 0, 40)
        col.setSpacing(10)
        col.addWidget(glyph(self, "library", "faint", 44), 0, Qt.AlignmentFlag.AlignHCenter)
        t = label("No models on this computer yet", "LibEmptyTitle", self)
        col.addWidget(t, 0, Qt.AlignmentFlag.AlignHCenter)
        text = label(
            "Download a ternary model from the catalog, add a GGUF file you already have (or drop it "
            "here), or make the offline demo in a few seconds.",
            "LibEmptyText",
            self,
            wrap=True,
        )
        text.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        text.setFixedWidth(540)
        centred = QHBoxLayout()  # not addWidget(…, AlignHCenter): that drops the wrapped label's second line
        centred.addStretch(1)
        centred.addWidget(text)
        centred.addStretch(1)
        col.addLayout(centred)
        col.addSpacing(8)
        row = QHBoxLayout()
        row.addStretch(1)
        self.catalog = button(
            "Browse the catalog",
            self,
            "Ternary models that run here, with sizes and RAM needed",
            primary=True,
            icon="search",
        )
        self.catalog.clicked.connect(self.catalog_requested)
        self.import_ = button("Import a GGUF file…", self, "Add a model file from disk", icon="folder")
        self.import_.clicked.connect(self.import_requested)
        self.demo = button(
            "Try the offline demo",
            self,
            "A small synthetic model (random weights), made here",
            icon="sparkle",
        )
        self.demo.clicked.connect(self.demo_requested)
        for b in (self.catalog, self.import_, self.demo):
            row.addWidget(b)
        row.addStretch(1)
        col.addLayout(row)
