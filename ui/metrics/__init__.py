"""Live readouts of the engine's RAM, speed and power: a status-line readout, a detailed panel with
sparklines, and the presenter that polls the metrics sampler on a QTimer in the GUI thread.

`install(window, ctx)` is how the main window picks them up (app/gui.py's extensions): the
presenter follows the chat controller's `engine_started`, `engine_stopped`, `turn_started`,
`reply_tokens` and `turn_finished` signals; the compact readout goes into the status line's
figures slot; clicking it opens the detailed panel; the sampler stops when the window closes.
Elsewhere: `MetricsPresenter(...).attach(controller)`, then connect `presenter.updated` to
`StatusReadout.show_readout` / `MetricsPanel.show_readout`.
"""

from __future__ import annotations

from typing import Any


def install(window: Any, ctx: Any, sampler: Any = None) -> Any:
    """Put the live readout in the window's status line and follow its chat controller.

    `sampler` replaces the platform's own (tests, demos); the presenter then leaves stopping it to the caller.
    """
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from ui.metrics.panel import MetricsWindow
    from ui.metrics.presenter import MetricsPresenter
    from ui.metrics.status_readout import StatusReadout

    settings = ctx.settings
    presenter = MetricsPresenter(
        sampler, hz=settings.sampler_hz, watts_per_core=settings.cpu_watts_per_core, parent=window
    )
    presenter.settings = settings
    readout = StatusReadout(window.status.figures_slot)
    window.status.set_figures_widget(readout)
    readout.show()  # a child added to a window already on screen stays hidden until shown
    details = MetricsWindow(window)
    presenter.updated.connect(readout.show_readout)
    presenter.updated.connect(details.panel.show_readout)
    readout.details_requested.connect(details.toggle)
    presenter.connect_badge(readout.badge)
    presenter.connect_badge(details.panel.badge)
    presenter.attach(window.chat.controller)
    settings.subscribe(presenter.apply_settings)

    class _StopOnClose(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Close:
                stop()
            return False

    def stop() -> None:
        presenter.shutdown()
        try:
            settings._listeners.remove(presenter.apply_settings)
        except ValueError:
            pass

    window._metrics_close_filter = _StopOnClose(window)
    window.installEventFilter(window._metrics_close_filter)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(stop)
    window.metrics = presenter
    window.metrics_window = details
    presenter.start()
    return presenter
