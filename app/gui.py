"""The GUI's composition root: build the QApplication, the window and every page, and wire them.

Read top to bottom, this is the whole window: `build_shell` makes the main window with its Chat and
welcome pages (what must be on screen at once), `load_page_backends` imports what the other pages
need (the Hub client, gguf, numpy: about a second), and `add_pages` builds the Library, Compare, the
local server and the live figures, connects them to the window and to each other, and puts each one's
shutdown on the window's shutdown list. `tern` shows the shell first and adds the pages as soon as their imports are
done on a job (`run_gui`); tests and screenshots assemble the same window in one go (`build_window`).
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app import APP_ID, APP_NAME, __version__, secrets
from app.context import AppContext

log = logging.getLogger("tern.gui")


def freeze_startup_objects() -> None:
    """Move everything made at start-up out of the garbage collector's reach.

    A full collection otherwise walks every module, widget wrapper and table loaded so far — tens
    of milliseconds with the GUI thread stopped, a visible hitch while a reply streams. Objects
    made later are still collected as usual (gc.freeze, Python ≥ 3.7).
    """
    gc.collect()
    gc.freeze()


def make_app(argv: list[str] | None = None) -> Any:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    return app


def follow_offline_setting(settings: Any) -> Callable[[], None]:
    """Settings' offline mode → HF_HUB_OFFLINE, which the Hub client reads at every call (backend.hub.env).

    An HF_HUB_OFFLINE the user set in the environment is left alone; only Tern's own is removed.
    Returns the function that stops following.
    """
    ours = {"set": False}

    def apply(s: Any) -> None:
        if s.offline and not os.environ.get("HF_HUB_OFFLINE"):
            os.environ["HF_HUB_OFFLINE"] = "1"
            ours["set"] = True
        elif not s.offline and ours["set"]:
            os.environ.pop("HF_HUB_OFFLINE", None)
            ours["set"] = False

    apply(settings)
    settings.subscribe(apply)
    return lambda: settings.unsubscribe(apply)


def show_store_notices(window: Any, ctx: AppContext) -> None:
    """Tell the user once what opening the store and settings found (a damaged database moved aside, saving
    off), and later if saving stops mid-session (a disk that fills up). The bridge is safe from any thread."""
    from backend.store_open import saving_off_text

    for i, text in enumerate(ctx.notices()):
        window.bridge.warning(text, key=f"startup-{i}")
    ctx.store.on_saving_off(lambda reason: window.bridge.warning(saving_off_text(reason), key="saving-off"))


def build_shell(ctx: AppContext) -> Any:
    """The themed, restored main window with its Chat and welcome pages (not shown). The QApplication must exist."""
    from ui.context import About
    from ui.main_window import MainWindow
    from ui.theme import ThemeManager

    interrupted = ctx.store.mark_interrupted()
    if interrupted:
        log.info("%d reply(ies) were cut off when Tern last stopped; marked interrupted", interrupted)
    ctx.store.purge_deleted()  # conversations deleted in an earlier session (undo was offered then)
    themes = ThemeManager(ctx.settings.theme)
    themes.apply()
    window = MainWindow(ctx, About(APP_NAME, __version__), secrets, theme_manager=themes)
    stop_following = follow_offline_setting(ctx.settings)
    window.shutdown_steps.add("offline mode → HF_HUB_OFFLINE", lambda _ms: stop_following())
    show_store_notices(window, ctx)
    window.restore()
    return window


def load_page_backends() -> Any:
    """Import what the Library and Compare pages run on and read the model catalog (blocking, ~1 s cold).

    `run_gui` calls it on a job once the window is on screen; `build_window` calls it directly.
    """
    # The Hub client first: backend.hub and backend.models import each other. Then Compare's runner
    # (psutil, the engine client), the variant tools (gguf, numpy) and the converter's size estimates (the
    # catalog's first-model suggestion reads them when the pages are added).
    for name in ("backend.hub", "backend.bench.runner", "backend.models.derive", "backend.models.importer",
                 "backend.models.convert.verdict"):
        importlib.import_module(name)
    from backend.hub import load_catalog

    return load_catalog()


@dataclass
class Pages:
    """What `add_pages` built, for the code (and tests) that assembled the window."""

    library: Any
    compare: Any
    server: Any  # ui.server.page.ServerPage
    metrics: Any  # MetricsPresenter
    metrics_window: Any


def server_config(settings: Any) -> Any:
    """What the local server takes from Settings (context, threads, power); the page adds address, port and key."""
    from backend.server.config import ServerConfig

    return ServerConfig(n_ctx=settings.n_ctx, n_threads=settings.threads, sampler_hz=settings.sampler_hz,
                        watts_per_core=settings.cpu_watts_per_core)


def add_server_page(window: Any, ctx: AppContext) -> Any:
    """The "Local server" page: the OpenAI-compatible server (backend.server) switched on and off in the window.

    The server and its engines stop with the window (its step on the shutdown list); a server started
    from the page takes the context, threads and power settings current when it starts.
    """
    from ui.server.controller import ServerController
    from ui.server.page import ServerPage

    def make_server(config: Any) -> Any:
        from backend.server.local import LocalServer  # uvicorn and starlette are imported when a server starts

        return LocalServer(config, store=ctx.store)

    page = ServerPage(ServerController(make_server), server_config(ctx.settings), window)
    window.add_page("server", "Server", page, "server", "Local server: an OpenAI-compatible API for other apps")

    def follow(settings: Any) -> None:
        page.base = server_config(settings)

    ctx.settings.subscribe(follow)
    window.shutdown_steps.add("the Server page's settings listener", lambda _ms: ctx.settings.unsubscribe(follow))
    window.shutdown_steps.add("the local server (its engines)", page.shutdown)
    return page


def add_pages(window: Any, ctx: AppContext, catalog: Any, sampler: Any = None) -> Pages:
    """Build the Library, Compare and Server pages and the live figures, add them to `window` and wire them.

    `sampler` replaces the platform's metrics sampler (tests, demos); the caller then stops it.
    """
    from backend.hub.suggest import Suggestion, first_model
    from ui.compare.panel import ComparePanel
    from ui.library.page import LibraryPage
    from ui.metrics.panel import MetricsWindow
    from ui.metrics.presenter import MetricsPresenter
    from ui.metrics.status_readout import StatusReadout

    settings = ctx.settings

    library = LibraryPage(window.bridge, ctx.store, ctx.registry, settings, catalog, secrets.get_hf_token, window)
    window.add_page("library", "Library", library, "library",
                    "Models: on this computer, in the catalog and on the Hugging Face Hub")
    library.models_changed.connect(window.refresh_models)
    library.chat_requested.connect(window.chat_with)
    library.demo_requested.connect(window.make_demo)
    library.settings_requested.connect(window.open_settings)
    window.models_changed.connect(library.registry_changed)
    window.loaded_model_changed.connect(library.set_loaded)
    library.set_loaded(window.loaded_spec())
    hint = first_model(catalog, n_ctx=settings.n_ctx)  # the model the welcome page suggests: highlighted here too
    if isinstance(hint, Suggestion):
        library.discover.highlight(hint.entry_id)

    def show_suggested(entry_id: str) -> None:
        window.show_page("library")
        library.show_catalog_entry(entry_id)

    window.welcome.suggestion_requested.connect(show_suggested)
    window.shutdown_steps.add("the Library (downloads pause, checks stop)", library.shutdown)

    compare = ComparePanel(ctx.registry, ctx.store, settings, __version__, window)
    window.add_page("compare", "Compare", compare, "compare",
                    "Ternary vs F16 of the same weights: side by side, benchmarks, the BitNet paper's table")
    window.models_changed.connect(compare.refresh_models)
    compare.models_changed.connect(window.refresh_models)

    def compare_model(name: str) -> None:
        compare.select_model(name)
        window.show_page("compare")

    library.compare_requested.connect(compare_model)
    window.shutdown_steps.add("Compare (its engines and runs)", compare.shutdown)

    server = add_server_page(window, ctx)

    presenter = MetricsPresenter(sampler, hz=settings.sampler_hz, watts_per_core=settings.cpu_watts_per_core,
                                 settings=settings, parent=window)
    readout = StatusReadout(window.status.figures_slot)
    window.status.set_figures_widget(readout)
    window.status.figures_width.connect(readout.fit_width)  # a narrow window: fewer words, never cut off
    readout.fit_width(window.status.figures_room())
    readout.show()  # a child added to a window already on screen stays hidden until shown
    details = MetricsWindow(window)
    presenter.updated.connect(readout.show_readout)
    presenter.updated.connect(details.panel.show_readout)
    readout.details_requested.connect(details.toggle)
    presenter.connect_badge(readout.badge)
    presenter.connect_badge(details.panel.badge)
    presenter.attach(window.chat.controller)
    window.shutdown_steps.add("the live figures (metrics sampler)", lambda _ms: presenter.shutdown())
    presenter.start()

    themes = window.theme_manager
    if themes is not None:  # the pages' own colours follow a theme change (Settings applies it at once)
        themes.changed.connect(lambda _t: library.apply_theme())
        themes.changed.connect(lambda _t: compare.banner.apply_theme())
        themes.changed.connect(lambda _t: details.apply_theme())

    library.scan()  # partial downloads from an earlier session show (paused, resumable) at once
    return Pages(library, compare, server, presenter, details)


def build_window(ctx: AppContext | None = None, *, pages: bool = True, sampler: Any = None) -> Any:
    """The main window exactly as `tern` assembles it, every page built before it returns (not shown).

    `pages=False` gives the window as it first appears, before `add_pages` (the Chat and welcome pages).
    """
    ctx = ctx or AppContext()
    window = build_shell(ctx)
    if pages:
        add_pages(window, ctx, load_page_backends(), sampler)
    return window


def add_pages_when_loaded(window: Any, ctx: AppContext, t0: float) -> Any:
    """Load the pages' backends on a job (the window stays responsive), then add the pages."""
    from ui.jobs import start_job

    def loaded(catalog: Any) -> None:
        if window.closing:
            return
        add_pages(window, ctx, catalog)
        log.info("pages ready %.0f ms after the GUI started", (time.perf_counter() - t0) * 1000)
        freeze_startup_objects()

    job = start_job(lambda _report, _cancel: load_page_backends(), "page-backends", window)
    job.succeeded.connect(loaded)
    job.failed.connect(lambda e: window.bridge.exception(e, "loading the Library and Compare pages"))
    window.shutdown_steps.add("loading the pages", job.shutdown)
    return job


def run_gui(screenshot: str | None = None) -> int:
    from PySide6.QtCore import QTimer

    from ui.crash_hooks import CrashHooks

    t0 = time.perf_counter()
    app = make_app()
    ctx = AppContext()
    window = build_shell(ctx)
    hooks = CrashHooks(window.bridge).install()
    window.show()
    log.info("window shown %.0f ms after the GUI started", (time.perf_counter() - t0) * 1000)
    QTimer.singleShot(0, lambda: add_pages_when_loaded(window, ctx, t0))
    if screenshot:
        QTimer.singleShot(300, lambda: (window.grab().save(screenshot), window.close()))
    app.aboutToQuit.connect(window.shutdown)
    try:
        return app.exec()
    finally:
        hooks.uninstall()
