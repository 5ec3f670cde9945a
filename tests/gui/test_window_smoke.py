from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from app.context import AppContext
from app.gui import build_window
from ui.compare.panel import ComparePanel
from ui.library.page import LibraryPage
from ui.metrics.presenter import MetricsPresenter
from ui.server.page import ServerPage


def test_window_opens_and_lists_the_models_with_encoding_size_and_label(qtbot,
                                                                        tiny_models: dict[str, Path]) -> None:
    ctx = AppContext()
    for enc, path in tiny_models.items():
        ctx.registry.add_variant("tiny", path, enc, "synthetic", model_fields={"synthetic": 1})
    window = build_window(ctx, pages=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    picker = window.chat.header.picker
    items = [picker.itemText(i) for i in range(picker.count())]
    listed = [t for t in items if t.startswith("tiny")]
    assert len(listed) == 3
    assert all(t.endswith("synthetic") and t.split("·")[2].strip()[-2:] in ("kB", "MB") for t in listed)
    assert {"TQ2_0", "TQ1_0", "F16"} == {t.split("·")[1].strip() for t in listed}
    assert window.current_page() == "chat"
    window.shutdown()


def test_the_figures_slot_says_dash_until_a_reply_is_measured(qtbot) -> None:
    from ui.status_line import TurnFigures

    window = build_window(AppContext(), pages=False)
    qtbot.addWidget(window)
    slot = window.status.figures_slot
    figures = slot.findChild(TurnFigures)
    assert figures is window.status.turn_figures and slot.layout() is not None
    texts = [label.text() for label in figures.labels.values()]
    assert texts == ["decode —", "TTFT —", "engine peak RAM —"]
    assert all("No reply yet" in label.toolTip() for label in figures.labels.values())
    assert figures.source.text() == "measured by the engine"
    figures.show_stats({"decode_tps": 41.25, "ttft_ms": 1234.0, "peak_rss": 300 * 1024**2,
                        "stop_reason": "eos", "output_tokens": 10})
    assert [label.text() for label in figures.labels.values()] == [
        "decode 41.2 tok/s", "TTFT 1.23 s", "engine peak RAM 300 MiB"]
    figures.show_stats({"stop_reason": "error", "error": "crashed"})
    labels = figures.labels.values()
    assert all(label.text().endswith("—") and "failed" in label.toolTip() for label in labels)
    window.shutdown()


def test_the_window_as_tern_assembles_it_has_every_page_and_one_shutdown_list(qtbot) -> None:
    window = build_window(AppContext())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert list(window.nav.buttons) == ["chat", "library", "compare", "server"]
    assert isinstance(window.pages["library"], LibraryPage) and isinstance(window.pages["compare"], ComparePanel)
    assert isinstance(window.pages["server"], ServerPage)
    assert window.findChild(MetricsPresenter) is not None and not window.status.turn_figures.isVisible()
    for key in ("library", "compare", "server"):
        window.show_page(key)
        assert window.stack.currentWidget() is window.pages[key] and window.nav.buttons[key].isChecked()
    # nothing patched onto the window by the pages: only what MainWindow itself declares
    assert not {"library", "metrics", "metrics_window", "_metrics_close_filter", "_library_loader"} & set(vars(window))
    # one list, stopped in the reverse of the order things were built: pages before the chat's engine
    names = window.shutdown_steps.names()
    assert names.index("the live figures (metrics sampler)") < names.index("the chat engine")
    assert names.index("Compare (its engines and runs)") < names.index("the chat engine")
    assert names.index("the local server (its engines)") < names.index("the chat engine")
    assert names[-1] == "the window's settings listener"
    compare = window.pages["compare"]
    sampler = window.findChild(MetricsPresenter).sampler
    assert window.shutdown() and window.closing
    assert not compare.thread.isRunning() and sampler._thread is None
    assert window.shutdown()  # a second call (closeEvent after aboutToQuit) does nothing more


def test_ctrl_q_closes_the_window_and_stops_everything(qtbot) -> None:
    window = build_window(AppContext())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    compare = window.pages["compare"]
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    assert window.closing and not compare.thread.isRunning()
