"""Build the QApplication and the main window, wired to the backend."""

from __future__ import annotations

import sys

from app import APP_ID, APP_NAME, __version__
from app.context import AppContext


def model_lines(ctx: AppContext) -> list[str]:
    lines = []
    for m in ctx.registry.models():
        for v in m.variants:
            tag = " — random weights" if m.synthetic else ""
            lines.append(f"{m.name}  ·  {v.encoding}  ·  {v.file_bytes / 1e6:,.0f} MB{tag}")
    return lines


def run_gui(screenshot: str | None = None) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    ctx = AppContext()
    window = MainWindow(model_lines(ctx))
    window.show()
    if screenshot:
        QTimer.singleShot(300, lambda: (window.grab().save(screenshot), app.quit()))
    return app.exec()
