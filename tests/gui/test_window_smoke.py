from __future__ import annotations

from pathlib import Path

from app.context import AppContext
from app.gui import model_lines
from ui.main_window import MainWindow


def test_window_opens_and_names_the_models(qtbot, tiny_models: dict[str, Path]) -> None:
    ctx = AppContext()
    for enc, path in tiny_models.items():
        ctx.registry.add_variant("tiny", path, enc, "synthetic", model_fields={"synthetic": 1})
    window = MainWindow(model_lines(ctx))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    items = [window.models.item(i).text() for i in range(window.models.count())]
    assert len(items) == 3 and all("tiny" in t and "random weights" in t for t in items)
    assert {"TQ2_0", "TQ1_0", "F16"} == {t.split("·")[1].strip() for t in items}
