"""Compare's headline and the figures under it come from the same run, and say which (real engines, tiny pair)."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt

from app.context import AppContext
from backend import units
from backend.bench.pairing import F16, TERNARY
from backend.bench.ratios import phrase
from backend.bench.results import CANCELLED, RACE, BenchConfig, RunResult, Sample
from backend.bench.stats import ratio
from backend.engine.protocol import TurnStats
from tests.gui.test_compare_panel import RUN_MS, make_panel, register  # noqa: F401 - the fixture


def _ram_phrase(headline: str) -> str:
    return next(p for p in headline.split(" · ") if "RAM" in p)


def test_the_headline_is_the_run_under_it_and_a_single_sample_says_so(qtbot, make_panel, tiny_models) -> None:  # noqa: F811 - the fixture
    ctx = AppContext()
    register(ctx, {"tq2_0": tiny_models["tq2_0"], "f16": tiny_models["f16"]})
    panel = make_panel(ctx)
    runs: list[RunResult] = []
    panel.run_finished.connect(runs.append)
    panel.prompt.setText("Tell me about herons.")
    with qtbot.waitSignal(panel.run_finished, timeout=RUN_MS):
        qtbot.mouseClick(panel.send, Qt.MouseButton.LeftButton)
    compare = runs[-1]
    peaks = {s.side: s.stats.peak_rss for s in compare.samples}
    # the tiles show exactly the peaks the headline's RAM ratio is computed from
    for side, col in panel.columns.items():
        assert col.values["ram"].text() == units.memory(peaks[side])
    expected = phrase(ratio(peaks[F16], peaks[TERNARY]), "less", "more", "RAM")
    assert _ram_phrase(panel.banner.text()) == expected
    # it says which run, how many samples, at what context, and how busy the machine was
    source = panel.banner.source.text()
    assert f"Comparison #{compare.id}" in source and "one sample per side" in source
    assert "512-token context" in source and "1 thread" in source
    assert re.search(r"other programs kept \d+\.\d of \d+ cores? busy", source), source
    assert not panel.banner.solid  # drawn lighter than a benchmark's medians
    # a live reading that arrives after the reply's own figures does not replace them
    panel.columns[TERNARY].show_live({"rss": 1, "ttft_ms": 1.0, "decode_tps": 1.0, "watts": None})
    assert panel.columns[TERNARY].values["ram"].text() == units.memory(peaks[TERNARY])

    # a benchmark (another context, other samples) heads the Benchmark tab, and only that tab
    panel.tabs.setCurrentWidget(panel.bench)
    panel.bench.runs.setValue(2)
    panel.bench.tokens.setValue(8)
    panel.bench.baseline.setChecked(False)
    with qtbot.waitSignal(panel.run_finished, timeout=RUN_MS):
        qtbot.mouseClick(panel.bench.start, Qt.MouseButton.LeftButton)
    bench = runs[-1]
    assert f"Benchmark #{bench.id}" in panel.banner.source.text()
    assert "medians of 2 samples per side" in panel.banner.source.text() and panel.banner.solid
    assert panel.banner.text() == " · ".join(bench.summary["headline"])
    panel.tabs.setCurrentWidget(panel.side)  # back to the columns: their run heads them again
    assert f"Comparison #{compare.id}" in panel.banner.source.text()
    assert _ram_phrase(panel.banner.text()) == expected


def _cancelled(side: str, tokens: int) -> Sample:
    stats = TurnStats(prompt_tokens=5, prompt_cached=0, output_tokens=tokens, ttft_ms=3.0, prefill_ms=1.0,
                      prefill_tps=900.0, decode_tps=500.0, total_ms=40.0, peak_rss=60 << 20, rss=60 << 20,
                      cpu_s=0.05, stop_reason="cancelled")
    return Sample(side, 0, 0, CANCELLED, stats, text="partial reply")


def test_a_stopped_race_says_how_far_each_side_got_not_that_it_did_not_run(qtbot, make_panel, tiny_models) -> None:  # noqa: F811 - the fixture
    ctx = AppContext()
    register(ctx, {"tq2_0": tiny_models["tq2_0"], "f16": tiny_models["f16"]})
    panel = make_panel(ctx)
    for col in panel.columns.values():
        col.start_reply()
        col.add_text("partial reply")
    run = RunResult(RACE, BenchConfig(kind=RACE, runs=1), status="incomplete", id=7,
                    samples=[_cancelled(TERNARY, 12), _cancelled(F16, 5)])
    run.summary = {"headline": ["race — not a fair measurement"], "sides": {TERNARY: {"ok": 0}, F16: {"ok": 0}}}
    panel._finished(panel._active, run)  # what the worker hands back when a race is stopped
    assert panel.columns[TERNARY].state.text().startswith("stopped after 12 tokens")
    assert panel.columns[F16].state.text().startswith("stopped after 5 tokens")
    assert "not run" not in panel.columns[F16].state.text()


def test_at_800_by_500_long_model_names_wrap_and_the_figures_keep_their_height(
        qtbot, make_panel, tiny_models, tmp_path) -> None:  # noqa: F811 - the fixture
    ctx = AppContext()
    long_name = "bitnet-b1.58-2B-4T-instruct-converted-here"
    register(ctx, {"tq2_0": tiny_models["tq2_0"], "f16": tiny_models["f16"]}, name=long_name)
    panel = make_panel(ctx)
    panel.resize(724, 440)  # the page's share of an 800×500 window
    qtbot.wait(50)
    for col in panel.columns.values():
        title = col.title
        assert long_name in title.text()
        needed = title.fontMetrics().boundingRect(title.contentsRect(), int(Qt.TextFlag.TextWordWrap),
                                                  title.text())
        assert needed.width() <= title.width() and needed.height() <= title.height(), (needed, title.size())
        for key, value in col.values.items():  # the figures keep their full height: the page scrolls instead
            assert value.height() >= value.sizeHint().height(), key


def test_the_paper_shapes_ask_first_with_the_time_and_disk_and_cancel_starts_nothing(
        qtbot, make_panel, tiny_models) -> None:  # noqa: F811 - the fixture
    from PySide6.QtWidgets import QMessageBox

    ctx = AppContext()
    register(ctx, {"tq2_0": tiny_models["tq2_0"], "f16": tiny_models["f16"]})
    panel = make_panel(ctx)
    panel.tabs.setCurrentWidget(panel.paper)
    requested: list[object] = []
    panel.request_shapes.connect(lambda rid, job: requested.append(job))
    qtbot.mouseClick(panel.paper.run_shapes, Qt.MouseButton.LeftButton)
    box = panel.paper.confirm_box
    assert box is not None and box.isVisible() and not panel.busy and requested == []
    text = box.informativeText()
    assert re.search(r"Time: about \d+ (min|s)", text) and re.search(r"Disk: up to [\d.]+ GB", text), text
    assert "deleted" in text and "when you press Stop" in text
    box.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.wait(50)
    assert requested == [] and not panel.busy and panel.paper.run_shapes.isEnabled()


def test_settings_count_the_cache_where_paper_shapes_are_made(qtbot, open_window) -> None:
    from backend.bench.paper_shapes import shapes_folder

    folder = shapes_folder()
    folder.mkdir(parents=True)
    (folder / "tern-synthetic-700M-s0-F16.gguf.part").write_bytes(b"\0" * 3_000_000)
    w = open_window(AppContext(), wait_ready=False, pages=False)
    dialog = w.open_settings()
    qtbot.waitUntil(lambda: "used" in dialog.cache_row.size_label.text(), timeout=10_000)
    assert dialog.cache_row.size_label.text() == "3.00 MB used"
    assert dialog.cache_row.path == w.ctx.paths.cache
    dialog.reject()
