"""Library page, models on this computer: derive F16 with progress, import by button and by drop, remove with
the space freed, a quarantined download offered again."""

from __future__ import annotations

import shutil

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton, QToolButton

from app.context import AppContext
from backend import units
from backend.hub.env import cache_dir
from tests.gui.test_library_fixtures import (
    DERIVE_MS,
    NET_MS,
    TQ2,
    banner,
    click,
    open_library,
    picker_items,
    register,
    row,
)
from tests.support import gguf_files, hub_repos
from ui.library.page import LOCAL

__all__ = ["open_library"]


def test_make_fp16_variant_shows_progress_and_completes_the_pair(qtbot, open_library, tiny_models):
    ctx = AppContext()
    register(ctx, tiny_models)
    w, page = open_library(ctx)
    assert page.stack.currentIndex() == LOCAL
    card = page.local.cards["tiny"]
    assert card.make_f16 is not None and card.compare is None
    assert "Make TQ1_0 variant" in [a.text() for a in card.menu.actions()]  # TQ2_0 ⇄ TQ1_0 is offered too
    seen = []
    page.actions.derive_progress.connect(lambda _m, p: seen.append(p))
    with qtbot.waitSignal(page.actions.derived, timeout=DERIVE_MS) as made:
        click(qtbot, card.make_f16)
        assert card.derive_box.isVisible() and "Making the F16 variant" in card.derive_text.text()
        assert not card.make_f16.isEnabled()  # one derivation at a time
    assert made.args[1].encoding == "F16"
    phases = [p.phase for p in seen if p is not None]
    assert "convert" in phases and phases[-1] == "done"
    card = page.local.cards["tiny"]
    assert [r.variant.encoding for r in card.variant_rows] == ["TQ2_0", "F16"]
    assert "derived on this computer from" in card.variant_rows[1].provenance.full
    assert card.make_f16 is None and card.compare is not None and not card.derive_box.isVisible()
    assert any(t.startswith("tiny · F16") for t in picker_items(w))
    assert [b.text() for b in banner(w, "Made tiny:F16").buttons][0] == "Chat with it"


def test_cancelling_a_derivation_keeps_nothing(qtbot, open_library, tiny_models):
    ctx = AppContext()
    register(ctx, tiny_models)
    w, page = open_library(ctx)
    card = page.local.cards["tiny"]
    with qtbot.waitSignal(page.actions.derive_failed, timeout=DERIVE_MS) as failed:
        click(qtbot, card.make_f16)
        click(qtbot, card.derive_cancel)
    assert type(failed.args[1]).__name__ == "DeriveCancelled"
    assert "nothing was kept" in banner(w, "Stopped making").notice.text
    assert [v.encoding for v in ctx.registry.find("tiny").variants] == ["TQ2_0"]
    derived = w.ctx.paths.models / "derived"
    assert not derived.exists() or not any(derived.iterdir())  # no half-written file either
    assert page.local.cards["tiny"].make_f16.isEnabled()


def _drag(page, paths) -> tuple[QDragEnterEvent, QDropEvent]:
    """The events a file manager's drag sends (the mime data is kept on the page: events don't own it)."""
    md = page._test_mime = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(60, 60), Qt.DropAction.CopyAction, md, buttons, mods)
    drop = QDropEvent(QPointF(60, 60), Qt.DropAction.CopyAction, md, buttons, mods)
    return enter, drop


def test_import_by_button_and_by_drop(qtbot, open_library, tiny_models, tmp_path):
    w, page = open_library()
    mine = shutil.copyfile(tiny_models["tq1_0"], tmp_path / "my-model-TQ1_0.gguf")
    click(qtbot, page.import_button)
    dialog = page.file_dialog
    assert dialog.isVisible()
    with qtbot.waitSignal(page.actions.imported, timeout=NET_MS):
        dialog.selectFile(str(mine))
        dialog.accept()
    assert page.stack.currentIndex() == LOCAL
    [v] = page.local.cards["my-model"].variant_rows
    assert v.variant.encoding == "TQ1_0" and f"imported from {mine}" in v.provenance.full
    assert any(t.startswith("my-model · TQ1_0") for t in picker_items(w))

    dropped = shutil.copyfile(tiny_models["tq2_0"], tmp_path / "dropped-TQ2_0.gguf")
    enter, drop = _drag(page, [dropped])
    QApplication.sendEvent(page, enter)
    assert enter.isAccepted() and page.overlay.isVisible()  # "Drop GGUF files to add them"
    with qtbot.waitSignal(page.actions.imported, timeout=NET_MS):
        QApplication.sendEvent(page, drop)
    assert not page.overlay.isVisible() and "dropped" in page.local.cards
    assert banner(w, "Added dropped:TQ2_0").buttons[0].text() == "Chat with it"


def test_bad_files_are_refused_with_a_reason(qtbot, open_library, tiny_models, tmp_path):
    w, page = open_library()
    broken = gguf_files.truncated_in_header(tiny_models["tq2_0"], tmp_path / "broken-TQ2_0.gguf")
    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    enter, drop = _drag(page, [broken, text])
    QApplication.sendEvent(page, enter)
    with qtbot.waitSignal(page.actions.import_failed, timeout=NET_MS):
        QApplication.sendEvent(page, drop)
    assert "notes.txt is not a GGUF file" in banner(w, "notes.txt").notice.text
    b = banner(w, "broken-TQ2_0.gguf")
    assert b.notice.level == "error" and "Traceback" not in b.notice.text + b.notice.hint
    assert w.ctx.registry.models() == [] and not page.local.cards


def test_remove_asks_first_showing_the_space_freed(qtbot, open_library, local_hub):
    w, page = open_library()
    with qtbot.waitSignal(page.downloads.finished, timeout=NET_MS) as done:
        click(qtbot, row(page, hub_repos.TERNARY, TQ2).action)
    size = done.args[1].variant.file_bytes
    click(qtbot, page.tab_local)
    trash = next(
        b
        for b in page.local.cards["tiny"].findChildren(QToolButton)
        if b.accessibleName() == "Remove tiny:TQ2_0"
    )
    click(qtbot, trash)
    box: QMessageBox = page.remove_box
    assert box.isVisible() and f"frees {units.size(size)}" in box.informativeText()
    click(qtbot, box.button(QMessageBox.StandardButton.Cancel))  # changed my mind: nothing happens
    assert "tiny" in page.local.cards and w.ctx.registry.find("tiny") is not None

    click(qtbot, trash)
    with qtbot.waitSignal(page.actions.removed, timeout=NET_MS) as removed:
        click(qtbot, page.remove_box.remove_button)
    assert removed.args[1].freed_bytes == size
    assert f"Removed tiny:TQ2_0: {units.size(size)} freed" in banner(w, "Removed").notice.text
    assert not page.local.cards and page.local.empty.isVisible()
    assert not any("tiny" in t for t in picker_items(w))
    assert not [p for p in cache_dir().rglob("*") if p.is_file() and p.stat().st_size == size]
    assert row(page, hub_repos.TERNARY, TQ2).action.text() == "Download"


def test_a_quarantined_download_is_shown_and_offered_again(qtbot, open_library, local_hub):
    local_hub.wrong_sha(hub_repos.TERNARY, TQ2)
    w, page = open_library()
    with qtbot.waitSignal(page.downloads.failed, timeout=NET_MS) as failed:
        click(qtbot, row(page, hub_repos.TERNARY, TQ2).action)
    assert type(failed.args[1]).__name__ == "ChecksumMismatch"
    assert "failed verification" in banner(w, "failed verification").notice.text
    click(qtbot, page.tab_local)
    [v] = page.local.cards["tiny"].variant_rows
    assert v.variant.quarantined and "quarantined" in v.provenance.full
    again = next(b for b in v.findChildren(QPushButton) if b.text() == "Download again")
    assert not any(t.startswith("tiny") for t in picker_items(w))  # never loadable
    local_hub.reset()
    with qtbot.waitSignal(page.downloads.finished, timeout=NET_MS):
        click(qtbot, again)
    [v] = page.local.cards["tiny"].variant_rows
    assert v.variant.verified and not v.variant.quarantined


def test_the_pages_join_the_window_after_it_shows_and_a_page_asked_for_meanwhile_opens(qtbot, open_window):
    """`tern` shows the window first and adds the other pages when their imports are done (app/gui.py)."""
    from app.gui import add_pages_when_loaded

    w = open_window(wait_ready=False, pages=False)
    assert "library" not in w.pages and w.current_page() == "welcome"
    click(qtbot, w.welcome.library_button)  # "Open the Library" before the page exists: nothing breaks
    assert w.current_page() == "welcome"
    add_pages_when_loaded(w, w.ctx, 0.0)
    qtbot.waitUntil(lambda: "library" in w.pages, timeout=NET_MS)
    page = w.pages["library"]
    try:
        assert list(w.nav.buttons) == ["chat", "library", "compare", "server"]
        assert w.current_page() == "library"  # the click was remembered
        click(qtbot, w.nav.buttons["chat"])
        click(qtbot, w.welcome.library_button)
        assert w.current_page() == "library" and page.stack.currentIndex() == page.stack.indexOf(
            page.discover
        )
        suggested = [c for c in page.discover.catalog_cards if c.property("highlight") == "true"]
        assert [c.entry.chat for c in suggested] == [True]  # the welcome page's suggestion, highlighted
    finally:
        assert page.shutdown()
