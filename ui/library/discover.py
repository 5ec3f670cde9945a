"""The Discover tab: Hub search, the curated catalog, models that cannot run here, and the Hub's state.

Rows ask for their header check only when they are on screen (a debounced look at what the
scroll area shows), so opening the tab reads a few headers, not dozens. When the Hub is off
(offline mode) or cannot be reached, a strip says why and what to do, download buttons are off,
and the catalog still shows its sizes, estimates and what is already on this computer.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QVBoxLayout, QWidget

from backend.hub import Catalog, HubOffline, Inspection, RateLimited
from ui.library.cards import CatalogCard, FileCard, IncompatibleCard, SearchCard
from ui.library.downloads import DownloadManager, Key
from ui.library.file_row import FileInfo, FileRow
from ui.library.hub_strip import HubStrip
from ui.library.inspector import Inspector
from ui.library.search_results import SearchResults
from ui.library.style import set_kind
from ui.library.tasks import Tasks
from ui.library.widgets import button, label, section
from ui.scroll_page import scroll_page

OK, OFFLINE, UNREACHABLE = "ok", "offline", "unreachable"


class DiscoverView(QWidget):
    download_requested = Signal(object)  # FileInfo
    settings_requested = Signal()
    hub_changed = Signal(str)  # OK / OFFLINE / UNREACHABLE
    searched = Signal(int)  # number of repos found

    def __init__(
        self,
        catalog: Catalog,
        inspector: Inspector,
        downloads: DownloadManager,
        tasks: Tasks,
        n_ctx: int,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.catalog, self.inspector, self.downloads, self.tasks = catalog, inspector, downloads, tasks
        self.n_ctx = n_ctx
        self.hub, self.hub_message = OK, ""
        self.local: dict[Key, str] = {}
        self.catalog_cards: list[CatalogCard] = []
        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(120)
        self._check_timer.timeout.connect(self.check_visible)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(10)
        bar = QHBoxLayout()
        bar.setSpacing(8)
        self.search_field = QLineEdit(self)
        self.search_field.setObjectName("LibSearch")
        self.search_field.setPlaceholderText(
            "Search the Hugging Face Hub for GGUF and ternary models — leave empty for ternary ones"
        )
        self.search_field.setAccessibleName("Search the Hub")
        self.search_field.setToolTip(
            "Finds GGUF repos on the Hub, most downloaded first, with their files and "
            "sizes. Each file's header is checked before you download it."
        )
        self.search_field.setClearButtonEnabled(True)
        self.search_field.returnPressed.connect(lambda: self.search(self.search_field.text()))
        bar.addWidget(self.search_field, 1)
        self.search_button = button(
            "Search", self, "Search the Hub", primary=True, icon="search", accessible="Search the Hub now"
        )
        self.search_button.clicked.connect(lambda: self.search(self.search_field.text()))
        bar.addWidget(self.search_button)
        outer.addLayout(bar)
        self.strip = HubStrip(self)
        self.strip.action.connect(self._strip_action)
        outer.addWidget(self.strip)

        self.scroll, body = scroll_page(self, "Lib")
        self.scroll.verticalScrollBar().valueChanged.connect(lambda _v: self.schedule_checks())
        self.col = QVBoxLayout(body)
        self.col.setContentsMargins(0, 4, 6, 24)
        self.col.setSpacing(10)
        self.results = SearchResults(catalog, tasks, body)
        self.results.found.connect(self._found)
        self.results.failed.connect(self._search_failed)
        self.results.back_link.clicked.connect(self.clear_search)
        self.col.addWidget(self.results)
        self.search_box, self.back_link = self.results, self.results.back_link
        self.search_title, self.search_status = self.results.title, self.results.status
        self._build_catalog(body)
        self.col.addStretch(1)
        outer.addWidget(self.scroll, 1)

    # -- building -------------------------------------------------------------------------------
    def _build_catalog(self, body: QWidget) -> None:
        """An empty box now; its cards are made when the tab is first seen (`ensure_built`)."""
        self.catalog_box = QWidget(body)
        self.catalog_col = QVBoxLayout(self.catalog_box)
        self.catalog_col.setContentsMargins(0, 0, 0, 0)
        self.catalog_col.setSpacing(10)
        self.col.addWidget(self.catalog_box)
        self._built = False
        self._highlight = ""

    def ensure_built(self) -> None:
        """Make the catalog cards (~0.1 s of widgets, so not while the window starts)."""
        if self._built:
            return
        self._built = True
        col, box = self.catalog_col, self.catalog_box
        col.addWidget(section("Curated ternary models", box))
        col.addWidget(label(self.catalog.about, "LibNote", box, wrap=True))
        for entry in self.catalog.entries:
            card = CatalogCard(entry, self.n_ctx, box)
            self.catalog_cards.append(card)
            self._wire(card)
            col.addWidget(card)
            card.show()  # now, not on the layout's queued show: the tab is on screen already
        if self.catalog.incompatible:
            col.addSpacing(6)
            col.addWidget(section("Not supported by llama.cpp — so not offered", box))
            for bad in self.catalog.incompatible:
                col.addWidget(IncompatibleCard(bad, box))
        if self._highlight:
            self.highlight(self._highlight)

    def showEvent(self, e: QShowEvent) -> None:  # noqa: N802 - Qt's name
        self.ensure_built()
        super().showEvent(e)

    def _wire(self, card: FileCard) -> None:
        for row in card.rows:
            row.download_requested.connect(self.download_requested)
            row.check_requested.connect(lambda info: self._check(info, first=True))
            self._refresh_row(row)
        if card._more is not None:
            card._more.clicked.connect(self.schedule_checks)

    def highlight(self, entry_id: str) -> CatalogCard | None:
        self._highlight = entry_id
        card = next((c for c in self.catalog_cards if c.entry.id == entry_id), None)
        if card is not None:
            set_kind(card, "true", "highlight")
            card.setToolTip("The smallest chat model in the catalog that fits this computer: a good first download")
        return card

    def reveal(self, entry_id: str) -> None:
        """Scroll to a catalog model's card (made first if the tab was never shown)."""
        self.ensure_built()
        card = next((c for c in self.catalog_cards if c.entry.id == entry_id), None)
        if card is not None:
            QTimer.singleShot(0, lambda: self.scroll.ensureWidgetVisible(card, 0, 40))

    def set_n_ctx(self, n_ctx: int) -> None:
        """The context length changed: RAM figures (KV cache) are worked out again, estimates and headers."""
        self.n_ctx = n_ctx
        self.inspector.results.clear()
        for card in self.catalog_cards:
            for r in card.rows:
                f = next((f for f in card.entry.files if f.name == r.info.filename), card.entry.default_file)
                r.info.estimate = card.entry.ram(f, n_ctx)
        for r in self.all_rows():
            r.reset_check()
            self._refresh_row(r)
        self.schedule_checks()

    # -- rows -----------------------------------------------------------------------------------
    def all_rows(self) -> list[FileRow]:
        return [r for c in (*self.catalog_cards, *self.search_cards) for r in c.rows]

    def rows_for(self, key: Key) -> list[FileRow]:
        """Every row of that file on the tab (the catalog's are made when the tab is first shown)."""
        return [r for r in self.all_rows() if r.info.key == key]

    def _refresh_row(self, row: FileRow) -> None:
        key = row.info.key
        row.set_local(self.local.get(key, ""))
        row.set_download(self.downloads.states.get(key))
        row.set_hub(self.hub == OK, self.hub_message)
        ins = self.inspector.result(key)
        if ins is not None:
            row.set_inspection(ins)
        elif self.hub != OK:
            self._unchecked(row)

    def _unchecked(self, row: FileRow) -> None:
        card = row.parentWidget()
        if isinstance(card, CatalogCard):
            row.set_unchecked(*card.unchecked_text())
        else:
            row.set_unchecked("not checked — the Hub can't be asked now", self.hub_message)

    def set_local(self, states: dict[Key, str]) -> None:
        """What is on this computer, by (repo, file): "downloaded" or "quarantined"."""
        self.local = states
        for row in self.all_rows():
            row.set_local(states.get(row.info.key, ""))

    def download_changed(self, key: Key) -> None:
        for row in self.rows_for(key):
            row.set_download(self.downloads.states.get(key))

    # -- header checks ---------------------------------------------------------------------------
    def schedule_checks(self) -> None:
        self._check_timer.start()

    def check_visible(self) -> None:
        """Ask for the verdict of every row on screen that has none yet."""
        if self.hub != OK or not self.isVisible():
            return
        for row in self.all_rows():
            key = row.info.key
            if row.inspection is not None or self.inspector.pending(key) or row.verdict_kind in ("warn",):
                continue
            if row.isVisible() and not row.visibleRegion().isEmpty():
                self._check(row.info)

    def _check(self, info: FileInfo, first: bool = False) -> None:
        if self.hub != OK:
            return
        for row in self.rows_for(info.key):
            row.set_checking()
        self.inspector.request(info.repo, info.filename, first)

    def checked(self, key: Key, ins: Inspection) -> None:
        for row in self.rows_for(key):
            row.set_inspection(ins)

    def check_failed(self, key: Key, exc: BaseException) -> None:
        for row in self.rows_for(key):
            if isinstance(exc, (HubOffline, RateLimited)):
                self._unchecked(row)
            else:
                row.set_check_failed(exc)

    # -- the Hub's state -------------------------------------------------------------------------
    def set_hub(self, state: str, message: str = "") -> None:
        self.hub, self.hub_message = state, message
        self.inspector.set_enabled(state == OK)
        if state == OFFLINE:
            self.strip.show_message(
                "Offline mode is on: Tern does not contact the Hugging Face Hub, so search "
                "and downloads are off. Models on this computer work as always.",
                "settings",
            )
        elif state == UNREACHABLE:
            self.strip.show_message(
                f"{message} Search and downloads are unavailable until the Hub answers; "
                "models on this computer keep working.",
                "retry",
            )
        else:
            self.strip.hide()
        self.search_button.setEnabled(state != OFFLINE)
        for row in self.all_rows():
            row.set_hub(state == OK, message)
            if state != OK and row.inspection is None:
                self._unchecked(row)
            elif state == OK and row.inspection is None and row.verdict_kind == "":
                row.set_unchecked("not checked yet")
        self.hub_changed.emit(state)
        if state == OK:
            self.schedule_checks()

    def hub_failed(self, exc: BaseException) -> None:
        """A Hub call said offline / unreachable / rate-limited: say so once, here."""
        if self.hub == OFFLINE:
            return
        msg = str(getattr(exc, "message", "") or exc)
        if isinstance(exc, RateLimited):
            msg = f"{msg} {exc.hint}"
        self.set_hub(UNREACHABLE, msg)

    def _strip_action(self, what: str) -> None:
        if what == "settings":
            self.settings_requested.emit()
            return
        self.set_hub(OK)
        if self.search_text is not None:
            self.search(self.search_text)

    # -- search ----------------------------------------------------------------------------------
    @property
    def search_cards(self) -> list[SearchCard]:
        return self.results.cards

    @property
    def search_text(self) -> str | None:
        return self.results.text

    def search(self, text: str) -> None:
        if self.hub == OFFLINE:  # the strip above already says why, with its Settings button
            self.strip.show()
            return
        self.inspector.clear_queue()
        self.catalog_box.hide()
        self.search_button.setEnabled(False)
        self.results.start(text.strip())

    def _found(self, cards: list[SearchCard]) -> None:
        self.search_button.setEnabled(True)
        if self.hub == UNREACHABLE:
            self.set_hub(OK)
        for card in cards:
            self._wire(card)
        self.searched.emit(len(cards))
        self.schedule_checks()

    def _search_failed(self, exc: BaseException) -> None:
        self.search_button.setEnabled(self.hub != OFFLINE)
        if isinstance(exc, (HubOffline, RateLimited)):
            self.hub_failed(exc)

    def clear_search(self) -> None:
        self.results.clear()
        self.search_field.clear()
        self.search_button.setEnabled(self.hub != OFFLINE)
        self.catalog_box.show()
        self.schedule_checks()
