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
