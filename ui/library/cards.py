"""Cards of the Discover tab: a curated catalog model, a Hub search result, a model that cannot run here.

A card lists its GGUF files as `FileRow`s (the first few; the rest behind "more files"). A split
model is one row: its parts download together. The page wires the rows to the inspector and
the download manager; cards only lay them out.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QWidget

from backend import units
from backend.hub import CatalogEntry, SearchHit
from backend.hub.catalog import Incompatible
from ui.library.file_row import FileInfo, FileRow
from ui.library.style import chip, glyph
from ui.library.widgets import Card, ElidedLabel, label, link

SHOWN_FILES = 3
CATALOG_SOURCE = (
    "the catalog: the Hub's listed file size + KV cache from the model's published dimensions + "
    "llama.cpp's runtime"
)
CONVERTED_SOURCE = (
    "the catalog: the converted TQ2_0 file's size worked out from the model's published dimensions + KV cache + "
    "llama.cpp's runtime"
)


class FileCard(Card):
    """A card with a title line, a details line and file rows."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[FileRow] = []
        self.title_key = title
        head = QHBoxLayout()
        head.setSpacing(8)
        self.title = label(title, "LibCardTitle", self, wrap=True, selectable=True)  # wraps in a narrow window
        head.addWidget(self.title, 1)
        self.chips = head
        self.body.addLayout(head)
        self.meta = ElidedLabel("", self)
        self.meta.setObjectName("LibMeta")
        self.body.addWidget(self.meta)
        self._more = None

    def add_chip(self, text: str, kind: str = "", tip: str = "") -> None:
        self.chips.addWidget(chip(self, text, kind, tip))

    def add_rows(self, infos: list[FileInfo]) -> None:
        for i, info in enumerate(infos):
            row = FileRow(info, self)
            row.setVisible(i < SHOWN_FILES)
            self.body.addWidget(row)
            self.rows.append(row)
        hidden = len(infos) - SHOWN_FILES
        if hidden > 0:
            self._more = link(
                f"Show {hidden} more file{'s' * (hidden > 1)}",
                self,
                "List every GGUF file of this repo",
                f"More files of {self.title_key}",
            )
            self._more.clicked.connect(self.show_all)
            self.body.addWidget(self._more, 0, Qt.AlignmentFlag.AlignLeft)

    def show_all(self) -> None:
        for row in self.rows:
            row.show()
        if self._more is not None:
            self._more.hide()

    def visible_rows(self) -> list[FileRow]:
        return [r for r in self.rows if not r.isHidden()]


class CatalogCard(FileCard):
    def __init__(self, entry: CatalogEntry, n_ctx: int, parent: QWidget | None = None) -> None:
        super().__init__(entry.title, parent)
        self.entry = entry
        self.setAccessibleName(f"Catalog model {entry.title}")
        chat_tip = entry.notes.get("chat_note", "")
        if entry.chat is True:
            self.add_chip("chat-tuned", "ok", chat_tip or "Tuned to follow instructions in a conversation")
        elif entry.chat is False:
            self.add_chip(
                "base model", "", chat_tip or "Pretrained only: it continues text, it does not chat"
            )
        else:
            self.add_chip("chat: unknown", "", chat_tip)
        lic = entry.license if not entry.license.startswith("unknown") else "unknown"
        self.add_chip(
            f"licence: {lic}",
            "warn" if lic == "unknown" else "",
            entry.notes.get("license_note", entry.license),
        )
        if entry.converted:
            note = entry.notes.get("runs_note", "Converted to TQ2_0 on this computer")
            self.add_chip("converted here", "enc", note)
        self.meta.set_full_text(f"{entry.parameters}  ·  {entry.family}  ·  {entry.repo}")
        files = entry.files
        if entry.split:  # the parts of one model download together: one row
            f = entry.default_file
            total = entry.weights_bytes()
            infos = [
                FileInfo(
                    entry.repo,
                    f.name,
                    f.encoding,
                    total,
                    f"{len(files)} parts",
                    entry.model_name_for(f.name),
                    entry.ram(f, n_ctx),
                    CATALOG_SOURCE,
                    note=f"{len(files)} parts, downloaded together",
                )
            ]
        else:
            ordered = sorted(files, key=lambda f: not f.default)
            infos = [
                FileInfo(
                    entry.repo,
                    f.name,
                    f.encoding,
                    f.approx_bytes,
                    f.size_text,
                    entry.model_name_for(f.name),
                    entry.ram(f, n_ctx),
                    CONVERTED_SOURCE if entry.converted else CATALOG_SOURCE,
                    "RAM needed is unknown until the header is read: the catalog does not list this "
                    "model's dimensions.",
                    f.note,
                )
                for f in ordered
            ]
        self.add_rows(infos)
        f16 = label(f"F16 variant: {entry.fp16}", "LibNote", self, wrap=True)
        f16.setToolTip(
            "How the F16 variant of the same weights is obtained, for the side-by-side comparison"
        )
        self.body.addWidget(f16)

    def unchecked_text(self) -> tuple[str, str]:
        """What a row says while its header cannot be read (offline): the catalog's own claim."""
        note = self.entry.notes.get("runs_note", "")
        if self.entry.runs == "yes":
            return "not checked now — the catalog lists it as running in llama.cpp", note
        if self.entry.converted:
            return "not checked now — the catalog lists it as converted on this computer", note
        return "not checked — read its header when the Hub is reachable", note


class SearchCard(FileCard):
    def __init__(self, hit: SearchHit, parent: QWidget | None = None) -> None:
        super().__init__(hit.repo, parent)
        self.hit = hit
        self.setAccessibleName(f"Search result {hit.repo}")
        if hit.gated:
            self.add_chip(
                "gated",
                "warn",
                "The repo's owner asks you to accept terms; downloading needs a "
                "Hugging Face token (Settings)",
            )
        lic = next((t.split(":", 1)[1] for t in hit.tags if t.startswith("license:")), None)
        if lic:
            self.add_chip(f"licence: {lic}", "", "From the repo's tags")
        downloads = f"{hit.downloads:,} downloads" if hit.downloads is not None else "downloads: —"
        ggufs = [f for f in hit.files if f.split is None or f.split[1] == 1]
        what = [f"{len(ggufs)} GGUF file{'s' * (len(ggufs) != 1)}" if ggufs or not hit.weights else "",
                "safetensors weights (converted here)" if hit.weights else ""]
        self.meta.set_full_text("  ·  ".join([downloads, *(w for w in what if w)]))
        if hit.error:
            err = label(f"Its files could not be listed: {hit.error}", "LibNote", self, wrap=True)
            self.body.addWidget(err)
        infos = []
        for f in ggufs:
            size, note = f.size, ""
            if f.split is not None:
                parts = [g for g in hit.files if g.split and g.split[0] == f.split[0]]
                sizes = [g.size for g in parts]
                size = sum(s for s in sizes if s) if all(sizes) else None
                note = f"{len(parts)} parts, downloaded together"
            infos.append(FileInfo(hit.repo, f.name, f.encoding_hint, size, note=note))
        if hit.weights:  # safetensors weights with a config.json: one row for all of them, converted here
            sizes = [w.size for w in hit.weights]
            total = sum(x for x in sizes if x) if all(sizes) else None
            n = len(hit.weights)
            infos.insert(0, FileInfo(hit.repo, hit.weights[0].name, "safetensors", total,
                                     note=f"{units.count(n, 'safetensors file')}, converted on this computer"))
        self.add_rows(infos)
        if not ggufs and not hit.weights and not hit.error:
            self.body.addWidget(label("No GGUF files or safetensors weights in this repo.", "LibNote", self))


class IncompatibleCard(Card):
    """A model people look for that this llama.cpp cannot run, said before anyone downloads it."""

    def __init__(self, bad: Incompatible, parent: QWidget | None = None) -> None:
        super().__init__(parent, (18, 12, 18, 12))
        self.setAccessibleName(f"Not supported: {bad.title}")
        head = QHBoxLayout()
        head.setSpacing(8)
        head.addWidget(glyph(self, "alert", "danger", 16))
        head.addWidget(label(bad.title, "LibCardTitle", self))
        head.addStretch(1)
        head.addWidget(chip(self, "won't run here", "bad", bad.reason))
        self.body.addLayout(head)
        self.body.addWidget(label(f"{bad.repo} — {bad.reason}", "LibMeta", self, wrap=True, selectable=True))
