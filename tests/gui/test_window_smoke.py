from __future__ import annotations

from pathlib import Path

from app.context import AppContext
from ui.main_window import MainWindow


def test_window_opens_and_lists_the_models_with_encoding_size_and_label(qtbot,
                                                                        tiny_models: dict[str, Path]) -> None:
    ctx = AppContext()
    for enc, path in tiny_models.items():
        ctx.registry.add_variant("tiny", path, enc, "synthetic", model_fields={"synthetic": 1})
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.restore()
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

    window = MainWindow(AppContext())
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


def test_pages_added_by_others_join_the_rail_and_replace_the_stand_in(qtbot) -> None:
    from PySide6.QtWidgets import QLabel

    window = MainWindow(AppContext())
    qtbot.addWidget(window)
    assert "compare" not in window.nav.buttons  # no placeholder for a page that does not exist
    compare = QLabel("compare page")
    window.add_page("compare", "Compare", compare, "compare", "Ternary vs FP16")
    library = QLabel("the real library")
    window.add_page("library", "Library", library, "library")
    window.show_page("library")
    assert window.stack.currentWidget() is library and window.nav.buttons["library"].isChecked()
    window.show_page("compare")
    assert window.stack.currentWidget() is compare
    assert window.nav.buttons["compare"].toolTip() == "Ternary vs FP16"
    assert list(window.nav.buttons) == ["chat", "library", "compare"]
    window.shutdown()
