"""The Library page: from "I have nothing" to "a ternary model and its F16 variant are on my disk".

Two tabs — "On this computer" (local models and their variants) and "Discover" (catalog, Hub
search) — under the downloads list, which stays in view on both. All Hub, disk and llama.cpp
work runs on jobs (ui.jobs); results come back as signals. Every outcome a person should know
about goes through the window's message bridge with its next step as a button; after anything
changes the registry, `models_changed` asks the window to refresh its model list (the chat's picker,
the Compare page).

The page takes what it needs explicitly (the message bridge, the store, registry and settings, the
catalog, how to read the Hugging Face token) and says what it wants of the rest of the window through
signals, which the composition root (app/gui.py) connects: chat with a model, compare it, make the
demo, open Settings.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import (
    QDesktopServices,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from backend import units
from backend.chat.choices import ModelChoice, choices, find_choice
from backend.hub import Catalog
from backend.models.registry import LocalModel, Registry
from backend.store import Store
from ui.library import notify
from ui.library.dialogs import choose_files, confirm_remove
from ui.library.discover import OFFLINE, OK, DiscoverView
from ui.library.downloads import DownloadManager
from ui.library.downloads_view import DownloadsPanel
from ui.library.drop import DropImport
from ui.library.file_row import FileInfo
from ui.library.header import DISCOVER, LOCAL, LibraryHeader
from ui.library.inspector import Inspector
from ui.library.local_actions import LocalActions
from ui.library.local_tab import LocalTab
from ui.library.style import refresh_glyphs, sheet
from ui.library.tasks import Report, Tasks
from ui.library.variant_facts import FactsController
from ui.messages import MessageBridge

log = logging.getLogger("tern.ui.library")


class LibraryPage(QWidget):
    models_changed = Signal()  # the registry changed here (a download, a variant, an import, a removal)
    chat_requested = Signal(object)  # ModelChoice
    compare_requested = Signal(str)  # model name
    demo_requested = Signal()
    settings_requested = Signal()

    def __init__(self, bridge: MessageBridge, store: Store, registry: Registry, settings: Any, catalog: Catalog,
                 hub_token: Callable[[], str | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LibraryPage")
        self.setAccessibleName("Library")
        self.bridge, self.settings = bridge, settings
        self.registry, self.store = registry, store
        self.catalog = catalog
        self._loaded = ""  # the spec the chat has loaded ("Loaded" on its card)
        self._announcing = False
        self.tasks = Tasks(hub_token, self)
        self.inspector = Inspector(self.tasks, lambda: self.settings.n_ctx, self)
        self.downloads = DownloadManager(self.tasks, self.store, lambda: self.settings.n_ctx,
                                         lambda: self.settings.keep_source, self)
        self.actions = LocalActions(self.tasks, self.store, lambda: self.settings.threads, self)
        self.facts = FactsController(self.tasks, lambda: self.settings.threads, self)
        self._threads_shown = self.settings.threads
        self.models: list[LocalModel] = []
        self._shown_once = False

        outer = QVBoxLayout(self)
        outer.setContentsMargins(36, 26, 30, 0)
        outer.setSpacing(14)
        self.header = LibraryHeader(self)
        self.header.tab_chosen.connect(self.set_tab)
        self.header.import_requested.connect(self.choose_import)
        self.subtitle, self.import_button = self.header.subtitle, self.header.import_button
        self.tab_local, self.tab_discover = self.header.tab_local, self.header.tab_discover
        outer.addWidget(self.header)

        self.downloads_panel = DownloadsPanel(self.downloads, self)
        outer.addWidget(self.downloads_panel)
        self.stack = QStackedWidget(self)
        self.stack.setObjectName("LibStack")
        self.local = LocalTab(self.stack)
        self.discover = DiscoverView(
            self.catalog, self.inspector, self.downloads, self.tasks, self.settings.n_ctx, self.stack
        )
        self.stack.addWidget(self.local)
        self.stack.addWidget(self.discover)
        outer.addWidget(self.stack, 1)
        self.drop = DropImport(self, self.import_files)
        self.overlay = self.drop.overlay
        self._wire()
        self.apply_theme()
        self.apply_settings(self.settings)
        self.refresh_local()
        self.set_tab(LOCAL if self.models else DISCOVER)

    def _wire(self) -> None:
        d = self.discover
        self.inspector.checked.connect(d.checked)
        self.inspector.check_failed.connect(d.check_failed)
        self.inspector.hub_unreachable.connect(d.hub_failed)
        d.download_requested.connect(self.download)
        d.settings_requested.connect(self.open_settings)
        d.hub_changed.connect(lambda _s: self._update_summary())
        self.downloads.changed.connect(d.download_changed)
        self.downloads.removed.connect(d.download_changed)
        self.downloads.finished.connect(self._downloaded)
        self.downloads.failed.connect(self._download_failed)
        self.downloads.discarded.connect(lambda key, freed: notify.discarded(self, key, freed))
        loc, a = self.local, self.actions
        loc.chat_requested.connect(self.chat_with)
        loc.derive_requested.connect(self.derive)
        loc.cancel_derive.connect(a.cancel_derive)
        loc.remove_requested.connect(self.confirm_remove)
        loc.redownload_requested.connect(
            lambda v: self.download(
                FileInfo(v.source_repo, v.source_file, v.encoding, None, model_name=v.model_name)
            )
        )
        loc.open_folder.connect(lambda p: QDesktopServices.openUrl(QUrl.fromLocalFile(str(p))))
        loc.compare_requested.connect(self.compare)
        loc.empty.catalog_requested.connect(lambda: self.set_tab(DISCOVER))
        loc.empty.import_requested.connect(self.choose_import)
        loc.empty.demo_requested.connect(self.make_demo)
        a.derive_progress.connect(lambda m, p: loc.show_derive(m, a.deriving.get(m, ("",))[0], p))
        loc.calibrate_requested.connect(self.facts.calibrate)
        loc.cancel_calibration.connect(self.facts.cancel)
        self.facts.loaded.connect(loc.show_facts)
        self.facts.progress.connect(loc.show_calibrating)
        self.facts.ended.connect(loc.calibration_ended)
        a.derived.connect(self._derived)
        a.derive_failed.connect(self._derive_failed)
        a.import_started.connect(lambda p: self.bridge.info(f"Checking {Path(p).name}…", key=f"import-{p}"))
        a.imported.connect(self._imported)
        a.import_failed.connect(self._import_failed)
        a.removed.connect(self._removed)
        a.remove_failed.connect(
            lambda spec, e: self.bridge.exception(e, f"removing {spec}", key=f"remove-{spec}")
        )
        self.settings.subscribe(self.apply_settings)

    # -- look and tabs --------------------------------------------------------------------------
    def apply_theme(self) -> None:
        self.setStyleSheet(sheet())
        refresh_glyphs()

    def set_tab(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        self.header.set_tab(index)
        if index == DISCOVER:
            self.discover.schedule_checks()

    def showEvent(self, e: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(e)
        if not self._shown_once:
            self._shown_once = True
            self.set_tab(LOCAL if self.models else DISCOVER)
        self.scan()
        self.discover.schedule_checks()

    def resizeEvent(self, e: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(e)
        self.discover.schedule_checks()

    # -- settings -------------------------------------------------------------------------------
    def apply_settings(self, s: Any) -> None:
        if self._threads_shown != s.threads:  # the facts say "from Settings" or the calibration
            self.facts.read(self.local.variant_paths())
        self._threads_shown = s.threads
        if s.n_ctx != self.discover.n_ctx:
            self.discover.set_n_ctx(s.n_ctx)
        if s.offline and self.discover.hub != OFFLINE:
            self.discover.set_hub(OFFLINE)
        elif not s.offline and self.discover.hub == OFFLINE:
            self.discover.set_hub(OK)

    def open_settings(self) -> None:
        self.settings_requested.emit()

    # -- local models ---------------------------------------------------------------------------
    def loaded_spec(self) -> str:
        return self._loaded

    def set_loaded(self, spec: str) -> None:
        """The chat loaded `spec` ("" when no model is loaded): its card says "Loaded"."""
        if spec != self._loaded:
            self._loaded = spec
            self.refresh_local()

    def refresh_local(self) -> None:
        self.models = self.registry.models()
        self.local.show_models(self.models, self.loaded_spec())
        self.facts.read(self.local.variant_paths())  # head, weights per token, threads: read off this thread
        for path, step in self.facts.last.items():  # a calibration still running shows on the new card
            self.local.show_calibrating(path, *step)
        states: dict[tuple[str, str], str] = {}
        for m in self.models:
            for v in m.variants:
                if v.source_repo and v.source_file:
                    states[(v.source_repo, v.source_file)] = (
                        "quarantined"
                        if v.quarantined
                        else ("downloaded" if v.usable else states.get((v.source_repo, v.source_file), ""))
                    )
        self.discover.set_local(states)
        n = len(self.models)
        self.header.set_local_count(n)
        self._update_summary()

    def _update_summary(self) -> None:
        n_var = sum(1 for m in self.models for v in m.variants if v.usable)
        size = sum(v.file_bytes for m in self.models for v in m.variants if v.usable)
        hub = {OK: "", OFFLINE: "  ·  offline mode"}.get(self.discover.hub, "  ·  the Hub can't be reached")
        if self.models:
            self.subtitle.setText(
                f"{len(self.models)} model{'s' * (len(self.models) != 1)}, {n_var} variant"
                f"{'s' * (n_var != 1)}, {units.size(size)} on disk{hub}"
            )
        else:
            self.subtitle.setText(f"Nothing on this computer yet — find a ternary model under Discover{hub}")

    def scan(self) -> None:
        """Look for partial downloads (this session's or an earlier one's) so they can be resumed."""

        def work(_report: Report, _cancel: threading.Event) -> Any:
            from backend.hub import pending_downloads

            return pending_downloads()

        self.tasks.start(
            "scan-downloads",
            work,
            self.downloads.load_pending,
            lambda e: log.warning("could not list partial downloads: %s", e),
        )

    def chat_with(self, spec: str) -> None:
        choice: ModelChoice | None = find_choice(choices(self.registry), spec)
        if choice is None:
            self.bridge.error(f"{spec} is no longer in the library.", "Refresh the page or download it again.")
            self.refresh_local()
            return
        self.chat_requested.emit(choice)

    def show_catalog_entry(self, entry_id: str) -> None:
        """Discover, scrolled to a catalog model (the welcome page's suggestion)."""
        self.set_tab(DISCOVER)
        self.discover.reveal(entry_id)

    def compare(self, model: str) -> None:
        """Open the Compare page on `model`."""
        self.compare_requested.emit(model)

    def make_demo(self) -> None:
        self.demo_requested.emit()

    def changed(self) -> None:
        """The registry changed here: redraw, and let the window refresh the chat's model list."""
        self.refresh_local()
        self._announcing = True  # the window's answer (`registry_changed`) comes back during the emit
        try:
            self.models_changed.emit()
        finally:
            self._announcing = False

    def registry_changed(self) -> None:
        """The registry changed elsewhere (the demo, Compare, the chat): redraw. The window's echo of a change
        made here is skipped: the cards were just rebuilt, and each rebuild re-reads every variant's facts."""
        if not self._announcing:
            self.refresh_local()

    # -- downloads ------------------------------------------------------------------------------
    def download(self, info: FileInfo) -> None:
        if self.discover.hub != OK:
            notify.hub_off(self)
            return
        ins = self.inspector.result(info.key)
        if ins is not None and not ins.usable:  # the button is off; keyboard or a stale click: say why
            self.bridge.warning(
                f"Tern will not download {info.filename}: {ins.verdict.text}.",
                "Pick another file or repo of the model.",
                key="not-runnable",
            )
            return
        self.downloads.start(info.repo, info.filename, info.model_name)

    def _downloaded(self, key: tuple[str, str], result: Any) -> None:
        self.changed()
        notify.downloaded(self, result)

    def _download_failed(self, key: tuple[str, str], exc: BaseException) -> None:
        from backend.hub import ChecksumMismatch, HubOffline, RateLimited

        if isinstance(exc, ChecksumMismatch):
            self.changed()
        if isinstance(exc, (HubOffline, RateLimited)):
            self.discover.hub_failed(exc)
        notify.download_failed(self, key, exc)

    # -- derive, import, remove ------------------------------------------------------------------
    def derive(self, model: str, to: str) -> None:
        self.actions.derive(model, to)

    def _derived(self, model: str, variant: Any) -> None:
        self.local.derive_ended(model)
        self.changed()
        notify.derived(self, variant)

    def _derive_failed(self, model: str, exc: BaseException) -> None:
        self.local.derive_ended(model)
        self.refresh_local()
        notify.derive_failed(self, model, exc)

    def choose_import(self) -> Any:
        self.file_dialog = choose_files(self, self.import_files)
        return self.file_dialog

    def import_files(self, paths: list[str]) -> None:
        for p in paths:
            if not p.lower().endswith(".gguf"):
                self.bridge.error(
                    f"{Path(p).name} is not a GGUF file, so it was not added.",
                    "Tern runs GGUF model files (name ending in .gguf).",
                    key=f"import-{p}",
                )
                continue
            self.actions.import_file(p)

    def _imported(self, path: str, variant: Any) -> None:
        self.changed()
        self.set_tab(LOCAL)
        notify.imported(self, path, variant)

    def _import_failed(self, path: str, exc: BaseException) -> None:
        self.bridge.dismiss(f"import-{path}")
        self.bridge.exception(exc, f"adding {Path(path).name}", key=f"import-{path}")

    def confirm_remove(self, model: str, encoding: str | None) -> Any:
        m = next((x for x in self.models if x.name == model), None)
        if m is None:
            return None
        self.remove_box = confirm_remove(
            self, m, encoding, self.loaded_spec(), lambda: self.actions.remove(model, encoding)
        )
        return self.remove_box

    def _removed(self, spec: str, result: Any) -> None:
        self.changed()
        notify.removed(self, spec, result)

    # -- shutdown --------------------------------------------------------------------------------
    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Pause every download (partials kept), cancel checks and derivations, wait for every job."""
        self.settings.unsubscribe(self.apply_settings)
        return self.tasks.shutdown(timeout_ms)
