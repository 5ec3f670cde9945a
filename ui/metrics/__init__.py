"""Live readouts of the engine's RAM, speed and power: a status-line readout, a detailed panel with
sparklines, and the presenter that polls the metrics sampler on a QTimer in the GUI thread.

app/gui.py builds them: `MetricsPresenter(...).attach(controller)` follows the chat controller's
`engine_started`, `engine_stopped`, `turn_started`, `reply_tokens` and `turn_finished` signals; its
`updated` signal feeds `StatusReadout.show_readout` (in the status line) and `MetricsPanel.show_readout`
(in the `MetricsWindow` the readout opens).
"""
