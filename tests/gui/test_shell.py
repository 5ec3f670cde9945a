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
