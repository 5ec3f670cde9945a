"""The comparison panel under pytest-qt, on real engines with the tiny synthetic pair."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from app.context import AppContext
from backend.bench.pairing import F16, TERNARY
from backend.bench.results import RunResult
from backend.bench.runner import RunEvent
from ui.compare.panel import ComparePanel

RUN_MS = 90_000
SETTINGS = SimpleNamespace(threads=1, n_ctx=512, sampler_hz=10.0, cpu_watts_per_core=0.0)


def register(ctx: AppContext, files: dict[str, Path], name: str = "tiny") -> None:
    for enc, path in files.items():
        ctx.registry.add_variant(name, path, enc, "synthetic", model_fields={"synthetic": 1})


@pytest.fixture()
def make_panel(qtbot) -> Iterator:
    panels: list[ComparePanel] = []

    def make(ctx: AppContext) -> ComparePanel:
        panel = ComparePanel(ctx.registry, ctx.store, SETTINGS, "9.9.9")
        panels.append(panel)
        qtbot.addWidget(panel)
        panel.resize(1100, 760)
        panel.show()
        qtbot.waitUntil(lambda: panel.prepared is not None, timeout=10_000)
        return panel

    yield make
    for p in panels:
        assert p.shutdown()


def test_fair_mode_streams_both_columns_and_shows_the_ratios(qtbot, make_panel, tiny_models) -> None:
    ctx = AppContext()
    register(ctx, {"tq2_0": tiny_models["tq2_0"], "f16": tiny_models["f16"]})
    panel = make_panel(ctx)
    assert "paired with F16" in panel.pair_note.text() and "same weights" in panel.pair_note.text()
    tokens = {TERNARY: 0, F16: 0}
    order: list[str] = []
    results: list[RunResult] = []

    def on_event(_rid: int, ev: RunEvent) -> None:
        if ev.kind == "token":
            tokens[ev.side] += 1
        if ev.kind in ("reply_start", "sample"):
            order.append(f"{ev.kind}:{ev.side}")

    panel.worker.event.connect(on_event)  # runs on the worker's thread, before the run finishes
    panel.run_finished.connect(results.append)
    panel.prompt.setText("Tell me about herons.")
    with qtbot.waitSignal(panel.run_finished, timeout=RUN_MS):
        qtbot.mouseClick(panel.send, Qt.MouseButton.LeftButton)
    assert not panel.busy
    # fair: the ternary side finishes before the F16 side starts
    assert order == ["reply_start:ternary", "sample:ternary", "reply_start:f16", "sample:f16"]
    run = results[0]
    for sample in run.samples:
        col = panel.columns[sample.side]
        # one event per batch of tokens the engine sent (never one per token and more)
        assert sample.status == "ok" and 0 < tokens[sample.side] <= sample.stats.output_tokens and \
            sample.stats.output_tokens > 1
        assert col.text() == sample.text and len(sample.text) > 0
        for key in ("ram", "ttft", "decode", "prefill"):
            assert col.values[key].text() not in ("—", ""), key
        assert col.values["jpt"].text() == "—" and "not measured" in col.values["jpt"].toolTip()
    headline = panel.banner.text()
    assert "decode" in headline and "RAM" in headline and headline.endswith("same weights")
    assert "energy per token: —" in headline
    assert panel.history_view.table.rowCount() == 1


def test_race_mode_says_it_is_not_a_fair_measurement(qtbot, make_panel, tiny_models) -> None:
    ctx = AppContext()
    register(ctx, {"tq2_0": tiny_models["tq2_0"], "f16": tiny_models["f16"]})
    panel = make_panel(ctx)
    panel.race.setChecked(True)
    panel.prompt.setText("Hello")
    with qtbot.waitSignal(panel.run_finished, timeout=RUN_MS):
        panel.compare()
    assert not panel.busy
    assert "not a fair measurement" in panel.banner.note.text() or "do not quote" in panel.banner.note.text()
    assert all(col.text() for col in panel.columns.values())


def test_benchmark_chart_export_and_compare_with_a_previous_run(qtbot, make_panel, tiny_models, tmp_path) -> None:
    ctx = AppContext()
    register(ctx, {"tq2_0": tiny_models["tq2_0"], "f16": tiny_models["f16"]})
    panel = make_panel(ctx)
    panel.tabs.setCurrentWidget(panel.bench)
    panel.bench.runs.setValue(2)
    panel.bench.tokens.setValue(8)
    panel.bench.baseline.setChecked(False)
    for _ in range(2):
        with qtbot.waitSignal(panel.run_finished, timeout=RUN_MS):
            qtbot.mouseClick(panel.bench.start, Qt.MouseButton.LeftButton)
        assert not panel.busy
    bench = panel.bench
    assert bench.progress.value() == bench.progress.maximum() == 4
    assert bench.chart.run is not None and bench.chart.run.status == "complete"
    assert bench.table.rowCount() == 5 and "median" in bench.table.horizontalHeaderItem(1).text()
    assert "tok/s (IQR" in bench.table.item(0, 1).text()
    bench.export_csv(tmp_path / "r.csv")
    bench.export_json(tmp_path / "r.json")
    bench.export_png(tmp_path / "r.png")
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert len(rows) == 4 and {r["encoding"] for r in rows} == {"TQ2_0", "F16"}
    assert json.loads((tmp_path / "r.json").read_text())["run"]["id"] == bench.run.id
    img = QImage(str(tmp_path / "r.png"))
    assert not img.isNull() and img.width() == 900 and img.height() == bench.chart.chart_height()
    # compare with the first run: its medians join the table and the chart
    assert bench.compare.count() == 2
    bench.compare.setCurrentIndex(1)
    assert bench.chart.previous is not None and bench.chart.previous.id != bench.run.id
    assert bench.table.columnCount() == 6 and "previous" in bench.table.horizontalHeaderItem(4).text()
    assert panel.history_view.table.rowCount() == 2


def test_missing_twin_offers_to_derive_it(qtbot, make_panel, tiny_models, tmp_path) -> None:
    ctx = AppContext()
    alone = tmp_path / "solo-TQ2_0.gguf"
    alone.write_bytes(tiny_models["tq2_0"].read_bytes())
    register(ctx, {"tq2_0": alone}, name="solo")
    panel = make_panel(ctx)
    assert panel.derive.isVisible() and panel.derive.isEnabled()
    assert "no F16 variant" in panel.pair_note.text() and "GB of disk" in panel.pair_note.text()
    assert not panel.send.isEnabled()
    with qtbot.waitSignal(panel.models_changed, timeout=RUN_MS):
        qtbot.mouseClick(panel.derive, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.prepared is not None and panel.prepared.pair is not None, timeout=10_000)
    assert "paired with F16" in panel.pair_note.text() and "same weights" in panel.pair_note.text()
    assert ctx.registry.find("solo").variant("F16").source == "derived"


def test_mismatched_pair_is_refused_with_the_reason(qtbot, make_panel, tiny_models) -> None:
    from dataclasses import replace

    from backend.models.synth import SHAPES, make_model

    ctx = AppContext()
    other = make_model(ctx.paths.models / "three-layers-F16.gguf", replace(SHAPES["tiny"], n_layer=3), "f16", seed=7)
    register(ctx, {"tq2_0": tiny_models["tq2_0"], "f16": other}, name="odd")
    panel = make_panel(ctx)
    assert "not the same model" in panel.pair_note.text() and "block count 2 vs 3" in panel.pair_note.text()
    assert not panel.send.isEnabled() and not panel.derive.isVisible()
