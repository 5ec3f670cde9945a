"""The main window: navigation rail | pages, a banner area for the message bridge, and the status line.

The window builds the Chat page and the welcome page itself; the composition root (app/gui.py)
builds the others (Library, Compare, the live figures) and adds them with `add_page` and
`status.set_figures_widget`, wiring their signals there. Everything that must stop when Tern quits
is in one list, `shutdown_steps` (ui/shutdown.py), run once by `shutdown()` within one time budget.
"""

from __future__ import annotations

import base64
import logging
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QStackedWidget, QVBoxLayout, QWidget

from backend import units
from backend.chat.choices import ModelChoice, choices, find_choice
from backend.models.registry import Registry
from ui import theme
from ui.chat.page import ChatPage
from ui.context import About, Context, SettingsLike, TokenStore
from ui.jobs import Job, start_job
from ui.messages import MessageBridge
from ui.nav import NavRail
from ui.notices import NoticeArea
from ui.settings_dialog import SettingsDialog
from ui.shutdown import ShutdownList
from ui.status_line import StatusLine
from ui.welcome import WelcomePage

log = logging.getLogger("tern.ui")


class MainWindow(QMainWindow):
    models_changed = Signal()  # the registry changed (a download, the demo, a removal)
    loaded_model_changed = Signal(str)  # the spec of the model the chat has loaded; "" when none is

    def __init__(self, ctx: Context, about: About, secrets: TokenStore, *, bridge: MessageBridge | None = None,
                 theme_manager: theme.ThemeManager | None = None, shutdown_budget_ms: int = 10_000) -> None:
        super().__init__()
        self.ctx = ctx
        self.about = about
        self.secrets = secrets
        self.settings: SettingsLike = ctx.settings
        self.bridge = bridge or MessageBridge(self)
        self.theme_manager = theme_manager
        self.demo_shape = "demo"  # tests make the demo smaller
        self.jobs: list[Job] = []
        self.pages: dict[str, QWidget] = {}
        self._wanted_page = ""  # a page asked for before it was added (restored, or a click while pages load)
        self._previous_cid = 0
        self.shutdown_steps = ShutdownList(shutdown_budget_ms)
        self.setWindowTitle(about.name)
        self.setWindowIcon(theme.app_icon())
        self.setMinimumSize(760, 480)
        self.resize(1200, 780)

        central = QWidget(self)
        central.setObjectName("Central")
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.nav = NavRail(central)
        row.addWidget(self.nav)
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.setSpacing(0)
        self.notices = NoticeArea(self.bridge, central)
        right.addWidget(self.notices)
        self.stack = QStackedWidget(central)
        self.stack.setObjectName("Pages")
        right.addWidget(self.stack, 1)
        row.addLayout(right, 1)
        self.setCentralWidget(central)
        self.status = StatusLine(self)
        self.setStatusBar(self.status)

        self.chat = ChatPage(ctx.store, ctx.registry, self.bridge, self.settings.n_ctx, self.settings.threads,
                             self)
        self.welcome = WelcomePage(self)
        self.add_page("chat", "Chat", self.chat, "chat", "Conversations (Ctrl+N starts a new one)")
        self.stack.addWidget(self.welcome)

        self.nav.page_requested.connect(self.show_page)
        self.nav.settings_requested.connect(self.open_settings)
        self.welcome.library_requested.connect(lambda: self.show_page("library"))
        self.welcome.demo_requested.connect(self.make_demo)
        self.chat.model_changed.connect(lambda c: self.settings.update(last_model=c.spec))
        self.chat.conversation_changed.connect(self._conversation_changed)
        self.chat.conversations.model.modelReset.connect(self._update_title)
        self.chat.conversations.model.dataChanged.connect(self._update_title)
        c = self.chat.controller
        c.model_loading.connect(lambda ch: self.status.set_state(f"Loading {ch.label}…"))
        c.model_loading.connect(lambda _ch: self.status.turn_figures.show_stats(None))  # figures are per model
        c.model_calibrating.connect(lambda what: self.status.set_state(
            f"Loading {c.choice.label if c.choice else 'the model'}: measuring threads — {what}"))
        c.engine_started.connect(self._engine_started)
        c.engine_stopped.connect(self._engine_stopped)
        c.model_load_failed.connect(lambda _e: self.status.set_state("No model loaded"))
        c.turn_finished.connect(self.status.turn_figures.show_stats)
        self.settings.subscribe(self._settings_changed)
        self.shutdown_steps.add("the window's settings listener",
                                lambda _ms: self.settings.unsubscribe(self._settings_changed))
        self.shutdown_steps.add("the chat engine", self.chat.shutdown)
        self.shutdown_steps.add("the window's jobs (demo, catalog)", self._stop_jobs)
        self._actions()
        self.suggestion = None
        if self.first_run():
            self._suggest_first_model()

    # -- pages ------------------------------------------------------------------------------
    def add_page(self, key: str, title: str, widget: QWidget, icon: str, tooltip: str = "") -> None:
        """Add a page and its button on the rail; a page asked for before it was added is shown now."""
        if key in self.pages:
            raise ValueError(f"the {key} page is already in the window")
        self.pages[key] = widget
        self.stack.addWidget(widget)
        self.nav.add(key, title, icon, tooltip)
        if key == self._wanted_page:
            self.show_page(key)

    def show_page(self, key: str) -> None:
        """Show page `key`; one not added yet (the window shows before its pages) is shown when it is."""
        if key == "chat" and self.first_run():
            self.stack.setCurrentWidget(self.welcome)
        elif key in self.pages:
            self.stack.setCurrentWidget(self.pages[key])
        else:
            self._wanted_page = key
            return
        self._wanted_page = ""
        self.nav.set_current(key)
        if key == "chat" and not self.first_run():
            self.chat.composer.input.setFocus()

    def current_page(self) -> str:
        w = self.stack.currentWidget()
        if w is self.welcome:
            return "welcome"
        return next((k for k, p in self.pages.items() if p is w), "")

    def first_run(self) -> bool:
        """No model to chat with and no conversation to read: show the welcome page."""
        return not choices(self.ctx.registry) and not self.ctx.store.conversations()

    # -- models -----------------------------------------------------------------------------
    def refresh_models(self) -> None:
        """Re-read the registry (call after a download, an import or a removal)."""
        self.chat.refresh_models()
        if self.current_page() == "welcome" and not self.first_run():
            self.show_page("chat")
        self.models_changed.emit()

    def loaded_spec(self) -> str:
        """The model the chat has loaded and ready ("demo:TQ2_0"), or ""."""
        c = self.chat.controller
        return c.choice.spec if c.choice is not None and c.ready else ""

    def chat_with(self, choice: ModelChoice) -> None:
        self.chat.choose_model(choice)
        self.show_page("chat")

    def make_demo(self) -> Job:
        """Make the offline demo (synthetic, random weights) off the GUI thread, then load it."""
        running = next((j for j in self.jobs if j.name == "demo" and j.running), None)
        if running is not None:  # a second click (welcome page, Library) while it is being made
            return running
        store, shape = self.ctx.store, self.demo_shape

        def work(report: Callable[[str, float], None], _cancel: threading.Event) -> list[Any]:
            from backend.models.demo import make_demo

            try:
                return make_demo(Registry(store), lambda enc, frac: report(enc, frac), shape=shape)
            finally:
                store.close()  # this thread's connection

        self.welcome.set_demo_progress("Preparing…", 0.0)
        job = start_job(work, "demo", self)
        job.progress.connect(self._demo_progress)
        job.succeeded.connect(self._demo_made)
        job.failed.connect(self._demo_failed)
        job.done.connect(lambda: self.jobs.remove(job) if job in self.jobs else None)
        self.jobs.append(job)
        return job

    def _suggest_first_model(self, available_ram: int | None = None, free_disk: int | None = None) -> Job:
        """Find the smallest chat model of the catalog that fits this computer (RAM and disk) for the
        welcome page, off the GUI thread. RAM and free disk are measured unless given (tests)."""
        def work(_report: Callable[[str, float], None], _cancel: threading.Event) -> Any:
            from backend.hub.suggest import suggest

            return suggest(available_ram=available_ram, free_disk=free_disk, n_ctx=n_ctx)

        def show(suggestion: Any) -> None:
            self.suggestion = suggestion
            if suggestion is not None:
                self.welcome.set_suggestion(suggestion.text(), getattr(suggestion, "entry_id", ""))

        n_ctx = self.settings.n_ctx
        job = start_job(work, "catalog", self)
        job.succeeded.connect(show)
        job.failed.connect(lambda e: log.info("no catalog suggestion: %s", e))
        job.done.connect(lambda: self.jobs.remove(job) if job in self.jobs else None)
        self.jobs.append(job)
        return job

    def _demo_progress(self, encoding: str, fraction: float) -> None:
        order = ["tq2_0", "f16"]
        i = order.index(encoding) if encoding in order else 0
        self.welcome.set_demo_progress(f"Making the {encoding.upper()} file… {fraction * 100:.0f}%",
                                       (i + fraction) / len(order))

    def _demo_made(self, variants: list[Any]) -> None:
        self.welcome.set_demo_progress("", None)
        self.refresh_models()
        options = choices(self.ctx.registry)
        tq = next((v for v in variants if v.ternary), variants[0] if variants else None)
        choice = find_choice(options, str(tq.path)) if tq is not None else None
        if choice is not None:
            self.chat_with(choice)
            self.settings.update(last_model=choice.spec)

    def _demo_failed(self, exc: BaseException) -> None:
        self.welcome.set_demo_progress("", None)
        self.bridge.exception(exc, "making the demo model", actions=[("Try again", self.make_demo)],
                              key="demo")

    def _engine_started(self, pid: int, info: dict[str, Any]) -> None:
        c = self.chat.controller
        label = c.choice.label if c.choice else info.get("name", "model")
        threads = units.count(int(info.get("n_threads") or 0), "thread")
        self.status.set_state(f"{label} loaded  ·  {threads}  ·  {int(info.get('n_ctx') or 0):,}-token context",
                              f"Engine process {pid}; loaded in {units.ms(info.get('load_ms'))}")
        self.loaded_model_changed.emit(self.loaded_spec())

    def _engine_stopped(self) -> None:
        if not self.chat.controller.loading:
            self.status.set_state("No model loaded — the engine stopped")
        self.loaded_model_changed.emit("")

    # -- settings ---------------------------------------------------------------------------
    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.settings, self.ctx.paths, self.secrets, self.theme_manager, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _settings_changed(self, s: SettingsLike) -> None:
        if self.theme_manager is not None and s.theme != self.theme_manager.choice:
            self.theme_manager.apply(s.theme)
        c = self.chat.controller
        if (s.n_ctx, s.threads) != (c.n_ctx, c.n_threads):
            self.chat.set_load_defaults(s.n_ctx, s.threads)
            if c.info is not None:
                self.bridge.info("Threads and context length apply when the model is next loaded.",
                                 actions=[("Reload now", c.reload_model)], key="reload-settings")

    def _conversation_changed(self, cid: int) -> None:
        previous, self._previous_cid = self._previous_cid, cid
        if previous and previous != cid:
            self._drop_if_empty(previous)
        if cid != self.settings.last_conversation and cid > 0:
            self.settings.update(last_conversation=cid)
        self._update_title()

    def _drop_if_empty(self, cid: int) -> None:
        """A "New chat" left without a message or a system prompt is not kept: they would pile up."""
        store = self.ctx.store
        try:
            if store.messages(cid) or store.conversation(cid).system_prompt.strip():
                return
            store.delete_conversation(cid)  # purged at the next start, like any deleted conversation
        except (KeyError, OSError, sqlite3.Error) as e:
            log.info("could not drop the empty conversation %d: %s", cid, e)
            return
        self.chat.conversations.refresh(select=self.chat.cid)

    def _update_title(self, *_: object) -> None:
        """"<conversation> — Tern", as a window list or task switcher shows it."""
        panel = self.chat.conversations
        title = next((c.title for c in panel.model.rows if c.id == self.chat.cid), "")
        self.setWindowTitle(f"{title} — {self.about.name}" if title else self.about.name)

    # -- keyboard ---------------------------------------------------------------------------
    def _actions(self) -> None:
        def add(text: str, keys: list[QKeySequence], fn: Callable[[], object]) -> QAction:
            a = QAction(text, self)
            a.setShortcuts(keys)
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            a.triggered.connect(fn)
            self.addAction(a)
            return a

        self.new_chat_action = add("New chat", [QKeySequence("Ctrl+N")], self.new_chat)
        self.focus_action = add("Focus the message box", [QKeySequence("Ctrl+L")], self.focus_input)
        self.settings_action = add("Settings", [QKeySequence("Ctrl+,"), QKeySequence.StandardKey.Preferences],
                                   self.open_settings)
        self.quit_action = add("Quit", [QKeySequence("Ctrl+Q")], self.close)

    def new_chat(self) -> None:
        if not self.first_run():
            self.show_page("chat")
            self.chat.new_conversation()

    def focus_input(self) -> None:
        if not self.first_run():
            self.show_page("chat")
            self.chat.composer.input.setFocus()

    def keyPressEvent(self, e: QKeyEvent) -> None:
        # Esc reaches the window when the focused widget does not use it (editors do: rename, edit).
        if e.key() == Qt.Key.Key_Escape and self.chat.controller.busy:
            self.chat.stop()
            e.accept()
            return
        super().keyPressEvent(e)

    # -- start and finish -------------------------------------------------------------------
    def restore(self) -> None:
        """Window size, splitters, the conversation list, the last conversation and the last model."""
        state = self.settings.ui_state or {}
        geometry = state.get("geometry")
        if isinstance(geometry, str):
            try:
                self.restoreGeometry(QByteArray(base64.b64decode(geometry)))
            except ValueError:
                log.info("saved window geometry is unreadable; using the default size")
        if isinstance(state.get("chat"), dict):
            self.chat.restore_state(state["chat"])
        self.chat.refresh_models()
        self.chat.conversations.refresh(select=self.settings.last_conversation)
        ids = self.chat.conversations.ids()
        last = self.settings.last_conversation
        if last not in ids:
            last = ids[0] if ids else 0
        self.chat.open_conversation(last)
        if self.settings.last_model:  # loaded once the window is up, so it shows without waiting
            QTimer.singleShot(0, self._load_last_model)
        page = state.get("page")
        self.show_page("chat")
        if isinstance(page, str) and page not in ("chat", "welcome", ""):
            self.show_page(page)  # now, or when the composition root adds it

    def _load_last_model(self) -> None:
        if self.chat.controller.choice is None and not self.chat.load_spec(self.settings.last_model):
            log.info("the last model %s is gone", self.settings.last_model)

    def save_state(self) -> None:
        geometry = base64.b64encode(bytes(self.saveGeometry().data())).decode("ascii")
        page = self.current_page()
        self.settings.update(ui_state={"geometry": geometry, "chat": self.chat.save_state(),
                                       "page": page if page in self.pages else "chat"})

    def _stop_jobs(self, ms_left: int) -> bool:
        ok = True
        for job in list(self.jobs):
            ok = job.shutdown(ms_left) and ok
        return ok

    @property
    def closing(self) -> bool:
        return self.shutdown_steps.done

    def shutdown(self) -> bool:
        """Run the shutdown list once (pages, the chat's engine, jobs, listeners). True if all stopped in time."""
        return self.shutdown_steps.run()

    def closeEvent(self, e: QCloseEvent) -> None:
        try:
            self.save_state()
        except OSError as exc:
            log.warning("could not save the window state: %s", exc)
        self.shutdown()
        super().closeEvent(e)
        QTimer.singleShot(0, lambda: None)
