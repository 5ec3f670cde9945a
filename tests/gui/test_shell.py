"""The window around the pages: the status line's words, the theme from Settings, the conversation list's
housekeeping — in the window as `tern` assembles it, with the real engine where a model is involved."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from app.context import AppContext
from tests.gui.conftest import REPLY_MS, TINY, register_tiny, type_and_send
from ui import theme


def test_one_thread_is_singular_in_the_status_line(qtbot, open_window, tiny_models: dict[str, Path]) -> None:
    ctx = AppContext()
    register_tiny(ctx, tiny_models)
    ctx.settings.update(last_model=TINY, threads=1)
    w = open_window(ctx)
    text = w.status.state.text()
    assert "1 thread  ·" in text and "threads" not in text, text


def test_a_theme_picked_in_settings_shows_at_once_and_cancel_puts_the_old_one_back(qtbot, open_window) -> None:
    ctx = AppContext()
    ctx.settings.update(theme="light")
    w = open_window(ctx, wait_ready=False)
    window_colour = lambda: QApplication.palette().color(QPalette.ColorRole.Window).name()  # noqa: E731
    assert window_colour() == theme.LIGHT.window
    dialog = w.open_settings()
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    assert window_colour() == theme.DARK.window and theme.current().name == "dark"  # before Save
    assert ctx.settings.theme == "light"
    dialog.reject()
    assert window_colour() == theme.LIGHT.window and ctx.settings.theme == "light"
    dialog = w.open_settings()
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.accept()
    assert ctx.settings.theme == "dark" and window_colour() == theme.DARK.window


def test_a_new_chat_left_empty_is_not_kept(qtbot, chat_window) -> None:
    w = chat_window
    store = w.ctx.store
    w.chat.extra_params = {"max_tokens": 2}
    with qtbot.waitSignal(w.chat.controller.reply_finished, timeout=REPLY_MS):
        type_and_send(qtbot, w, "Apples are red")
    kept = w.chat.cid
    for _ in range(3):  # New chat, then back to the conversation with messages: three times over
        w.new_chat()
        empty = w.chat.cid
        assert empty != kept and empty in w.chat.conversations.ids()
        w.chat.open_conversation(kept)
        assert empty not in w.chat.conversations.ids()
    assert [c.id for c in store.conversations()] == [kept]
    # a new chat given a system prompt is kept, although it has no message yet
    w.new_chat()
    prompted = w.chat.cid
    store.update_conversation(prompted, system_prompt="Answer in French.")
    w.chat.open_conversation(kept)
    assert prompted in w.chat.conversations.ids()


def test_at_800_by_500_the_live_figures_and_power_badge_fit_and_the_engine_status_gives_way(
        qtbot, open_window, tiny_models: dict[str, Path]) -> None:
    from PySide6.QtCore import QPoint

    from ui.metrics.status_readout import StatusReadout

    ctx = AppContext()
    name = "bitnet-b1.58-2B-4T-instruct-converted-on-this-laptop"  # a real model's name is this long
    ctx.registry.add_variant(name, tiny_models["tq2_0"], "tq2_0", "synthetic", model_fields={"synthetic": 1})
    ctx.settings.update(last_model=f"{name}:TQ2_0")
    w = open_window(ctx)
    w.resize(800, 500)
    qtbot.waitUntil(lambda: w.status.width() == 800, timeout=3000)
    readout = w.status.findChild(StatusReadout)
    qtbot.waitUntil(lambda: readout.available == w.status.figures_room(), timeout=3000)
    qtbot.wait(100)
    for part in (readout.ram, readout.tps, readout.power, readout.badge):
        right = part.mapTo(w.status, QPoint(part.width(), 0)).x()
        assert part.isVisible() and right <= w.status.width(), (part.accessibleName(), right, w.status.width())
        assert part.width() >= part.sizeHint().width(), part.accessibleName()  # drawn whole, not cut
    state = w.status.state
    assert "TQ2_0 loaded" in state.text() and state.text() in state.toolTip()
    shown = state.displayed()
    assert shown == state.text() or shown.endswith("…")
    assert state.fontMetrics().horizontalAdvance(shown) <= state.contentsRect().width()


def test_long_live_figures_take_fewer_words_in_a_narrow_window_and_all_of_them_in_a_wide_one(
        qtbot, open_window) -> None:
    from PySide6.QtCore import QPoint

    from backend.metrics.snapshot import PowerState
    from ui.metrics.presenter import MetricsPresenter
    from ui.metrics.readout import Figure, Readout
    from ui.metrics.status_readout import StatusReadout

    w = open_window(AppContext(), wait_ready=False)
    presenter = w.findChild(MetricsPresenter)
    presenter.shutdown()
    presenter.updated.disconnect()  # the figures below are the test's, not this machine's
    readout = w.status.findChild(StatusReadout)
    estimate = PowerState(True, "Estimated · CPU time × 15 W/core (your figure) — not a measurement",
                          key="estimate", measured=False)
    ram = Figure("1,535 MiB", "now")
    r = Readout(ram, Figure("1,611 MiB", "peak"), ram, ram, Figure("840 ms", "t"), Figure("95.2 tok/s", "p"),
                Figure("18.7 tok/s", "d"), Figure("53.5 ms", "m"), Figure("2.0 cores", "c"),
                Figure("12.3 W", "w"), Figure("28.0 mJ/token", "j"), Figure("—", "e"), estimate, "10 Hz",
                running=True)
    for size, narrow in (((1400, 800), False), ((800, 500), True)):
        w.resize(*size)
        qtbot.waitUntil(lambda s=size: w.status.width() == s[0], timeout=3000)
        qtbot.waitUntil(lambda: readout.available == w.status.figures_room(), timeout=3000)  # it was told
        readout.show_readout(r)
        qtbot.waitUntil(lambda: readout.width() >= readout.sizeHint().width(), timeout=3000)  # laid out
        assert readout.narrow is narrow
        for part in (readout.ram, readout.tps, readout.power, readout.badge):
            right = part.mapTo(w.status, QPoint(part.width(), 0)).x()
            assert right <= w.status.width() and part.width() >= part.sizeHint().width(), part.accessibleName()
        assert ("peak 1,611 MiB" in readout.ram.text()) is not narrow and "1,611 MiB" in readout.ram.toolTip()
        assert ("28.0 mJ/token" in readout.power.text()) is not narrow and "28.0 mJ/token" in readout.power.toolTip()
        assert readout.badge.text() == ("Estimated" if narrow else "Estimated — not a measurement")


def test_at_800_by_500_the_welcome_page_scrolls_instead_of_drawing_its_words_over_each_other(
        qtbot, open_window) -> None:
    from PySide6.QtWidgets import QLabel

    w = open_window(AppContext(), wait_ready=False)
    w.resize(800, 500)
    qtbot.waitUntil(lambda: w.width() == 800, timeout=3000)
    qtbot.wait(100)
    assert w.current_page() == "welcome"
    labels = [lab for lab in w.welcome.findChildren(QLabel) if lab.isVisible() and lab.wordWrap() and lab.text()]
    assert labels
    for lab in labels:  # every wrapped line has the height its text needs at its width
        assert lab.height() >= lab.heightForWidth(lab.width()), (lab.text()[:40], lab.height())
    assert "random weights" in w.welcome.demo_card.text.text()
    assert w.welcome.scroll.verticalScrollBar().maximum() > 0  # the rest is a scroll away


def test_at_800x500_the_conversation_settings_fit_without_sideways_scrolling(qtbot, chat_window) -> None:
    """Bug 6: a small window with the settings open squeezed the chat to a strip and cut the spin boxes."""
    from PySide6.QtWidgets import QScrollArea

    w = chat_window
    w.resize(800, 500)
    page = w.chat
    page.header.options_button.setChecked(True)
    qtbot.waitUntil(lambda: page.options.isVisible())
    qtbot.wait(50)  # let the layout settle
    scroll = page.options.findChild(QScrollArea)
    body = scroll.widget()
    assert body.width() <= scroll.viewport().width()  # nothing hides to the right
    for spin in page.options.spins.values():
        assert spin.geometry().right() <= body.width(), spin.accessibleName()
        assert spin.visibleRegion().boundingRect().width() == spin.width(), spin.accessibleName()
    chat_area = page.view.width()
    assert chat_area >= 400, f"the chat got {chat_area} px"
    assert not page.conversations.isVisible()  # the list stepped aside for the settings
    page.header.options_button.setChecked(False)
    assert page.conversations.isVisible()  # and comes back when they close
    w.resize(1280, 800)
    page.header.options_button.setChecked(True)
    assert page.conversations.isVisible() and page.options.isVisible()  # room for all three
