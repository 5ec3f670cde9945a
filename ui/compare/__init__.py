"""The comparison panel: a ternary model beside its F16 twin, benchmarks, the paper's table, history.

`ComparePanel` (panel.py) is a standalone widget taking what it needs explicitly (registry,
store, settings, Tern's version); all blocking work runs on `CompareWorker`'s thread.
`install(window, ctx)` is how the main window picks it up (app/gui.py's extensions).
"""

from __future__ import annotations

from typing import Any


def install(window: Any, ctx: Any) -> Any:
    """Add the Compare page to the main window and keep it in step with the window's models."""
    from PySide6.QtWidgets import QApplication

    from app import __version__
    from ui.compare.panel import ComparePanel

    panel = ComparePanel(ctx.registry, ctx.store, ctx.settings, __version__, window)
    window.add_page("compare", "Compare", panel, "compare",
                    "Ternary vs F16 of the same weights: side by side, benchmarks, the BitNet paper's table")
    window.models_changed.connect(panel.refresh_models)
    panel.models_changed.connect(window.refresh_models)
    panel.stop_with(window)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(panel.shutdown)
    return panel
