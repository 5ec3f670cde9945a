"""Build the QApplication and the main window, wired to the backend (the GUI's composition root)."""

from __future__ import annotations

import gc
import importlib
import logging
import os
import sys
import time
from typing import Any

from app import APP_ID, APP_NAME, __version__
from app.context import AppContext

log = logging.getLogger("tern.gui")
# Pages and readouts other parts of Tern add to the window: a module with `install(window, ctx)`.
EXTENSIONS = ("ui.library", "ui.compare", "ui.metrics", "ui.server")


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


def install_extensions(window: Any, ctx: AppContext) -> list[str]:
    """Call `install(window, ctx)` of each extension module that exists; one failing never stops the app."""
    installed = []
    for name in EXTENSIONS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name and name.startswith(e.name):
                continue  # not built yet
            window.bridge.exception(e, f"loading the {name.split('.')[-1]} page")
            continue
        except Exception as e:
            window.bridge.exception(e, f"loading the {name.split('.')[-1]} page")
            continue
        install = getattr(module, "install", None)
        if install is None:
            continue
        try:
            install(window, ctx)
            installed.append(name)
        except Exception as e:
            window.bridge.exception(e, f"setting up the {name.split('.')[-1]} page")
    return installed


def follow_offline_setting(settings: Any) -> None:
    """Settings' offline mode → HF_HUB_OFFLINE, which the Hub client reads at every call (backend.hub.env).

    An HF_HUB_OFFLINE the user set in the environment is left alone; only Tern's own is removed.
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


def build_window(ctx: AppContext | None = None, extensions: bool = True) -> Any:
    """The themed, restored main window (not shown). The QApplication must exist."""
    from ui.main_window import MainWindow
    from ui.theme import ThemeManager

    ctx = ctx or AppContext()
    interrupted = ctx.store.mark_interrupted()
    if interrupted:
        log.info("%d reply(ies) were cut off when Tern last stopped; marked interrupted", interrupted)
    ctx.store.purge_deleted()  # conversations deleted in an earlier session (undo was offered then)
    follow_offline_setting(ctx.settings)
    themes = ThemeManager(ctx.settings.theme)
    themes.apply()
    window = MainWindow(ctx, theme_manager=themes)
    if extensions:
        install_extensions(window, ctx)
    window.restore()
    return window


def run_gui(screenshot: str | None = None) -> int:
    from PySide6.QtCore import QTimer

    from ui.crash_hooks import CrashHooks

    t0 = time.perf_counter()
    app = make_app()
    ctx = AppContext()
    window = build_window(ctx, extensions=False)
    hooks = CrashHooks(window.bridge).install()
    window.show()
    log.info("window shown %.0f ms after the GUI started", (time.perf_counter() - t0) * 1000)

    def extend() -> None:  # the other pages join once the window is on screen
        page = (ctx.settings.ui_state or {}).get("page")
        install_extensions(window, ctx)
        if page in window.pages and window.current_page() != page:
            window.show_page(page)
        log.info("pages ready %.0f ms after the GUI started", (time.perf_counter() - t0) * 1000)
        freeze_startup_objects()

    QTimer.singleShot(0, extend)
    if screenshot:
        QTimer.singleShot(300, lambda: (window.grab().save(screenshot), window.close()))
    app.aboutToQuit.connect(window.shutdown)
    try:
        return app.exec()
    finally:
        hooks.uninstall()
