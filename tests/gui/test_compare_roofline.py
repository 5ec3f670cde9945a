"""The memory roofline on the Compare page: weights read per token, GB/s achieved and its share of this
machine's bandwidth per side, next to the ideal ratios (real engines on the tiny synthetic pair)."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt

from app.context import AppContext
from backend.bench import bandwidth
from backend.bench.pairing import F16, TERNARY
from backend.bench.roofline import weight_traffic
from backend.models.gguf_header import read_header
from backend.units import DASH, size
from tests.gui.test_compare_panel import RUN_MS, make_panel, register

__all__ = ["make_panel"]


def test_fair_mode_columns_show_weights_per_token_and_gb_per_s(qtbot, make_panel, tiny_models) -> None:
    ctx = AppContext()
    register(ctx, {"tq2_0": tiny_models["tq2_0"], "f16": tiny_models["f16"]})
    panel = make_panel(ctx)
    for side, enc in ((TERNARY, "tq2_0"), (F16, "f16")):  # from the header, before any reply
        t = weight_traffic(read_header(tiny_models[enc]))
        assert panel.columns[side].values["traffic"].text() == f"{size(t.total)} · head F16"
    panel.prompt.setText("Tell me about herons.")
    with qtbot.waitSignal(panel.run_finished, timeout=RUN_MS) as done:
        qtbot.mouseClick(panel.send, Qt.MouseButton.LeftButton)
    run = done.args[0]
    roof = run.summary["roofline"]
    for side, col in panel.columns.items():
        s = roof["sides"][side]
        assert s["gb_per_s"] == s["decode_tps"] * s["bytes_per_token"] / 1e9
        assert col.values["gbs"].text().endswith("B/s")
    # no streaming test in fair mode, and the tiny F16 side reads its weights from the cache: no bandwidth yet
    assert bandwidth.cached() is None
    for col in panel.columns.values():
        assert col.values["share"].text() == DASH and "not measured yet" in col.values["share"].toolTip()


def test_benchmark_measures_the_bandwidth_once_and_shows_the_roofline(qtbot, make_panel, tiny_models) -> None:
    ctx = AppContext()
    register(ctx, {"tq2_0": tiny_models["tq2_0"], "f16": tiny_models["f16"]})
    panel = make_panel(ctx)
    assert bandwidth.cached() is None
    panel.tabs.setCurrentWidget(panel.bench)
    panel.bench.runs.setValue(1)
    panel.bench.tokens.setValue(8)
    panel.bench.baseline.setChecked(False)
    phases: list[str] = []
    panel.worker.event.connect(lambda _rid, ev: phases.append(str(ev.data)) if ev.kind == "phase" else None)
    with qtbot.waitSignal(panel.run_finished, timeout=RUN_MS):
        qtbot.mouseClick(panel.bench.start, Qt.MouseButton.LeftButton)
    assert any("memory bandwidth" in p for p in phases)
    bw = bandwidth.cached()
    assert bw is not None and bw.stream_gbs and "streaming read test: numpy" in bw.stream_how
    view = panel.bench.roofline
    assert view.isVisible() and view.table.rowCount() == 2
    assert view.table.verticalHeaderItem(0).text() == "TQ2_0" and view.table.verticalHeaderItem(1).text() == "F16"
    for row in range(2):
        cells = [view.table.item(row, c).text() for c in range(view.table.columnCount())]
        assert cells[0].endswith("B") and cells[1].startswith("F16 · ") and cells[2].endswith("tok/s")
        assert cells[3].endswith("B/s") and re.fullmatch(r"\d+%", cells[4]), cells
    assert "ideal decode ratio 7.8× (16 ÷ 2.062 bits per ternary weight" in view.ideal.text()
    assert "for these two files" in view.ideal.text() and "measured" in view.ideal.text()
    assert view.bandwidth.text().startswith("This machine's bandwidth: ") and DASH not in view.bandwidth.text()
