"""The readouts in the real window, following a real engine through a real chat reply."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from app.context import AppContext
from backend import units
from backend.metrics import Sampler
from backend.metrics.power.estimate import CpuTimeEstimate
from tests.gui.conftest import REPLY_MS, TINY, join_pages, register_tiny, type_and_send
from ui.metrics.panel import MetricsWindow
from ui.metrics.presenter import MetricsPresenter
from ui.metrics.status_readout import StatusReadout

WATTS = 5.0


def estimate_sampler() -> Sampler:
    return Sampler(
        hz=20, power=[("estimate", lambda c: CpuTimeEstimate(c.engine_cpu, "test", WATTS))], cpu_name="test"
    )


def test_a_reply_shows_the_engines_own_figures_and_its_energy(qtbot, open_window, tiny_models) -> None:
    ctx = AppContext()
    register_tiny(ctx, tiny_models)
    ctx.settings.update(last_model=TINY)
    window = open_window(ctx, pages=False)  # the model is loaded before the pages join, as often in `tern`
    sampler = estimate_sampler()
    presenter = join_pages(window, sampler).metrics
    try:
        readout = window.status.findChild(StatusReadout)
        assert readout is not None and readout.isVisible() and not window.status.turn_figures.isVisible()
        qtbot.waitUntil(
            lambda: presenter.readout is not None and presenter.readout.ram_now.available, timeout=5000
        )
        assert presenter.readout.model_file.text == units.size(tiny_models["tq2_0"].stat().st_size)

        c = window.chat.controller
        window.chat.extra_params = {"max_tokens": 200, "seed": 5, "ignore_eos": True}
        live: list[float | None] = []
        c.reply_finished.connect(lambda *_: live.append(presenter.live_tps()))  # just before turn_finished
        with qtbot.waitSignal(c.turn_finished, timeout=REPLY_MS) as done:
            type_and_send(qtbot, window, "Tell me about terns")
        stats = done.args[0]
        presenter.refresh()
        r = presenter.readout
        # latency: the view shows exactly the engine's own figures for this reply
        assert r.decode_tps.text == units.tps(stats["decode_tps"]) and not r.running
        assert r.ttft.text == units.ms(stats["ttft_ms"]) and r.prefill_tps.text == units.tps(stats["prefill_tps"])
        assert readout.tps.text() == f"decode {units.tps(stats['decode_tps'])}"
        # the live figure runs on the engine's token clock: at the last token it is the engine's own figure
        assert live[0] == pytest.approx(stats["decode_tps"], rel=1e-3)
        # RAM: the readout's peak is the engine's own peak
        snap = sampler.snapshot()
        assert abs(snap.peak_rss - stats["peak_rss"]) <= 0.05 * stats["peak_rss"]
        assert r.ram_peak.text == units.memory(snap.peak_rss)
        # energy: once the sample after the reply is in, J/token appears (or says why not)
        qtbot.waitUntil(
            lambda: presenter.refresh().energy_detail.text != "—" or presenter.energy is not None,
            timeout=5000,
        )
        e = presenter.energy
        assert e is not None and e.source.startswith("Estimated · CPU time × 5 W/core")
        if e.status == "ok":
            assert presenter.readout.j_per_token.text == units.per_token(e.j_per_token)
            assert abs(e.gross_joules - stats["cpu_s"] * WATTS) <= 0.2 * stats["cpu_s"] * WATTS + 0.3
        else:
            assert presenter.readout.j_per_token.text == "—" and e.reason in presenter.readout.j_per_token.tip
        assert readout.badge.text() == "Estimated — not a measurement"
        assert (
            readout.badge.state.badge == "Estimated · CPU time × 5 W/core (your figure) — not a measurement"
        )
    finally:
        window.close()
    assert presenter.timer.isActive() is False
    sampler.stop()


def test_clicking_opens_the_panel_and_the_explanation_and_a_users_figure_gives_an_estimate(
    qtbot, open_window
) -> None:
    ctx = AppContext()
    sampler = Sampler(
        hz=10,
        power=[("estimate", lambda c: CpuTimeEstimate(c.engine_cpu, "AMD EPYC", c.watts_per_core))],
        cpu_name="AMD EPYC",
    )
    window = open_window(ctx, wait_ready=False, sampler=sampler)
    presenter = window.findChild(MetricsPresenter)
    try:
        readout = window.status.findChild(StatusReadout)
        qtbot.waitUntil(
            lambda: (
                presenter.readout is not None and presenter.readout.power_state.badge == "No power reading"
            ),
            timeout=5000,
        )
        assert readout.ram.text() == "RAM —" and "not in Tern's TDP table" in presenter.readout.power.tip
        qtbot.mouseClick(readout.ram, Qt.MouseButton.LeftButton)
        details = window.findChild(MetricsWindow)
        assert details is not None and details.isVisible()
        assert details.panel.values["decode_tps"].text() == "—"
        qtbot.mouseClick(readout.badge, Qt.MouseButton.LeftButton)
        dialog = readout.badge.dialog
        assert dialog is not None and dialog.isVisible()
        assert "TDP table" in dialog.text.text() and "watts per core" in dialog.text.text()
        dialog.watts.setValue(3.5)
        use = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Use")
        qtbot.mouseClick(use, Qt.MouseButton.LeftButton)
        assert ctx.settings.cpu_watts_per_core == 3.5  # saved for next time
        qtbot.waitUntil(lambda: presenter.refresh().power_state.available, timeout=5000)
        assert readout.badge.text() == "Estimated — not a measurement"
        assert "CPU time × 3.5 W/core (your figure)" in readout.badge.toolTip()
        assert (
            details.panel.badge.text()
            == "Estimated · CPU time × 3.5 W/core (your figure) — not a measurement"
        )
    finally:
        window.close()
    assert sampler._thread is not None  # the caller's sampler is the caller's to stop
    sampler.stop()


def test_built_by_the_app_the_sampler_stops_with_the_window(qtbot, open_window) -> None:
    ctx = AppContext()
    window = open_window(ctx, wait_ready=False)
    presenter = window.findChild(MetricsPresenter)
    assert presenter.sampler.wait_probed(5)
    thread = presenter.sampler._thread
    assert thread is not None and thread.is_alive()
    window.close()
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=3000)


def test_the_live_figures_window_has_a_frame_a_close_button_and_esc_closes_it(qtbot, open_window) -> None:
    from PySide6.QtWidgets import QToolButton

    window = open_window(AppContext(), wait_ready=False)
    readout = window.status.findChild(StatusReadout)
    details = window.findChild(MetricsWindow)
    qtbot.mouseClick(readout.ram, Qt.MouseButton.LeftButton)
    assert details.isVisible()
    assert "border: 1px solid" in details.frame.styleSheet()
    close = next(b for b in details.findChildren(QToolButton) if b.accessibleName() == "Close live figures")
    assert close.isVisible() and close.toolTip() == "Close (Esc)"
    qtbot.waitUntil(details.isActiveWindow, timeout=5000)  # it took the keyboard: Esc is for it
    qtbot.keyClick(details.panel, Qt.Key.Key_Escape)
    assert not details.isVisible()
    qtbot.mouseClick(readout.ram, Qt.MouseButton.LeftButton)
    assert details.isVisible()
    qtbot.mouseClick(close, Qt.MouseButton.LeftButton)
    assert not details.isVisible()
