"""The Compare page in the main window as `tern` assembles it: in step with the window's models, stopped with it."""

from __future__ import annotations

import shutil
from pathlib import Path

from app.context import AppContext
from app.gui import build_window


def test_compare_page_joins_the_window_and_stops_with_it(qtbot, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    ctx = AppContext()
    for enc in ("tq2_0", "f16"):
        ctx.registry.add_variant("tiny", tiny_models[enc], enc, "synthetic", model_fields={"synthetic": 1})
    window = build_window(ctx)
    qtbot.addWidget(window)
    panel = window.pages["compare"]
    window.show()
    qtbot.waitExposed(window)
    window.show_page("compare")
    assert window.current_page() == "compare"
    qtbot.waitUntil(lambda: panel.prepared is not None and panel.prepared.pair is not None, timeout=10_000)
    assert panel.model.currentText().startswith("tiny · TQ2_0")
    # a model added elsewhere in the window shows up in the picker
    ctx.registry.add_variant("tiny", tiny_models["tq1_0"], "tq1_0", "synthetic")
    window.models_changed.emit()
    assert any("TQ1_0" in panel.model.itemText(i) for i in range(panel.model.count()))
    # the library's Compare button picks a model by name
    other = tmp_path / "other-TQ2_0.gguf"
    shutil.copyfile(tiny_models["tq2_0"], other)
    ctx.registry.add_variant("other", other, "tq2_0", "synthetic")
    assert panel.select_model("other") and str(panel.model.currentData()).startswith("other:")
    assert not panel.select_model("no-such-model")
    window.close()
    qtbot.waitUntil(lambda: not panel.thread.isRunning(), timeout=10_000)
    window.shutdown()
