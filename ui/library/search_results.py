"""Hub search results: a title, "Back to the catalog", a status line and one card per repo.

`start(text)` runs `backend.hub.search` on a job (the newest search wins: each has a request id
and an earlier one is cancelled); `found(cards)` hands the new cards to the Discover tab, which
wires their rows; `failed(exception)` lets it handle an unreachable Hub. The status line always
says what happened, in words.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from backend.hub import Catalog, HubOffline, RateLimited
from ui.library.cards import SearchCard
from ui.library.tasks import Report, Tasks
from ui.library.widgets import label, link, section

LIMIT = 20
_rids = itertools.count(1)


class SearchResults(QWidget):
    found = Signal(list)  # the new SearchCards
    failed = Signal(object)  # the exception

    def __init__(self, catalog: Catalog, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalog, self.tasks = catalog, tasks
        self.cards: list[SearchCard] = []
        self.text: str | None = None
        self._rid = 0
        self._job: Any = None
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(10)
        head = QHBoxLayout()
        self.title = section("Search results", self)
        head.addWidget(self.title)
        head.addStretch(1)
        self.back_link = link(
            "Back to the catalog", self, "Clear the search and show the curated models", "Back to the catalog"
        )
        head.addWidget(self.back_link)
        col.addLayout(head)
        self.status = label("", "LibMeta", self, wrap=True)
        self.status.setAccessibleName("Search status")
        col.addWidget(self.status)
        self.list = QVBoxLayout()
        self.list.setSpacing(10)
        col.addLayout(self.list)
        self.hide()

    def start(self, text: str) -> None:
        self.text = text
        self._rid = rid = next(_rids)
        if self._job is not None:
            self._job.cancel()
        self._clear_cards()
        self.show()
        self.title.setText(
            (f"Search results for “{text}”" if text else "Ternary GGUF repos on the Hub").upper()
        )
        self.status.setText("Searching the Hub…")

        def work(_report: Report, cancel: threading.Event) -> Any:
            from backend.hub import search

            return search(text, self.tasks.hub_token(), limit=LIMIT, with_files=True, cancel=cancel)

        self._job = self.tasks.start(
            "search", work, lambda hits: self._found(rid, hits), lambda e: self._failed(rid, e)
        )

    def _found(self, rid: int, hits: Any) -> None:
        if rid != self._rid:
            return
        self._job = None
        n = len(hits)
        self.status.setText(
            f"{n} repo{'s' * (n != 1)} with GGUF files or ternary safetensors weights, most downloaded first. "
            "Each file's header is read before you download it."
            if n
            else "Nothing found. Try other words (a model name, “TQ2_0”, “bitnet”)."
        )
        for hit in hits:
            card = SearchCard(hit, self)
            bad = self.catalog.incompatibility(hit.repo)
            if bad is not None:  # known before any header is read: say it at once
                card.add_chip("won't run here", "bad", bad.reason)
            self.cards.append(card)
            self.list.addWidget(card)
            card.show()  # now, not on the layout's queued show
        self.found.emit(list(self.cards))

    def _failed(self, rid: int, exc: BaseException) -> None:
        if rid != self._rid:
            return
        self._job = None
        if isinstance(exc, (HubOffline, RateLimited)):
            self.status.setText(
                "Search is unavailable: the Hub can't be reached (see above). The catalog and the "
                "models on this computer still work."
            )
        else:
            msg, hint = str(getattr(exc, "message", "") or exc), str(getattr(exc, "hint", "") or "")
            self.status.setText(f"Search failed: {msg} {hint}".strip())
        self.failed.emit(exc)

    def clear(self) -> None:
        """Stop any search and forget its results."""
        self._rid = next(_rids)
        if self._job is not None:
            self._job.cancel()
            self._job = None
        self.text = None
        self._clear_cards()
        self.hide()

    def _clear_cards(self) -> None:
        for card in self.cards:
            card.hide()
            card.deleteLater()
        self.cards = []
