"""The "Local server" page: the OpenAI-compatible server (backend.server) switched on and off from the window.

`ServerPage(controller, base_config)` (page.py) with a `ServerController(make_server)`
(controller.py) is the whole of it; `install(window, ctx)` builds both from the app's settings,
store and registry, adds the page to the window and stops the server (and its engines) when
the window closes or the application quits.
"""

from __future__ import annotations

from typing import Any


def install(window: Any, ctx: Any) -> Any:
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from backend.server.config import ServerConfig
    from ui.server.controller import ServerController
    from ui.server.page import ServerPage

    s = ctx.settings
    base = ServerConfig(n_ctx=s.n_ctx, n_threads=s.threads, sampler_hz=s.sampler_hz,
                        watts_per_core=s.cpu_watts_per_core)

    def make_server(config: ServerConfig) -> Any:
        from backend.server.local import LocalServer  # uvicorn is imported only when a server starts

        return LocalServer(config, store=ctx.store)

    page = ServerPage(ServerController(make_server), base, window)
    page.controller.setParent(page)
    window.add_page("server", "Server", page, "server", "Local server: an OpenAI-compatible API for other apps")

    class _StopOnClose(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Close:
                page.shutdown()
            return False

    page.close_filter = _StopOnClose(page)  # the page's own attribute: nothing is patched onto the window
    window.installEventFilter(page.close_filter)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(page.shutdown)
    return page
