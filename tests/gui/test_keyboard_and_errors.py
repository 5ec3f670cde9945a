"""Keyboard shortcuts, and errors reaching the window as words with a next step (crash hooks, Qt messages)."""

from __future__ import annotations

import logging
import sqlite3
import threading

import pytest
from PySide6.QtCore import Qt, QtMsgType
from PySide6.QtWidgets import QApplication

from ui.crash_hooks import CrashHooks, qt_message_handler
from ui.messages import MessageBridge
from ui.settings_dialog import SettingsDialog


def test_ctrl_n_ctrl_l_and_ctrl_comma(qtbot, chat_window) -> None:
    w = chat_window
    w.chat.conversations.search.setFocus()
    qtbot.keyClick(w, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is w.chat.composer.input
    w.show_page("library")
    qtbot.keyClick(w, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert w.current_page() == "chat" and w.chat.cid > 0
    assert QApplication.focusWidget() is w.chat.composer.input
    qtbot.keyClick(w, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    dialog = w.findChild(SettingsDialog)
    assert dialog is not None and dialog.isVisible()
    dialog.reject()


def test_sending_without_a_model_says_what_to_do(qtbot, open_window) -> None:
    from app.context import AppContext

    ctx = AppContext()
    ctx.store.create_conversation("Old chat")  # not a first run, but no model
    w = open_window(ctx, wait_ready=False)
    assert w.current_page() == "chat"
    w.chat.composer.input.setPlainText("Hello?")
    w.chat.send("Hello?")
    banner = next(b for b in w.notices.banners() if b.notice.key == "not-ready")
    text = banner.text_label.text()
    assert text.startswith("No model is loaded.") and "Library" in text
    assert w.chat.composer.input.toPlainText() == "Hello?"  # nothing the user typed is lost


def test_a_model_that_cannot_load_is_explained(qtbot, open_window, tmp_path, tiny_models) -> None:
    from app.context import AppContext
    from tests.support.gguf_files import truncated_in_data

    bad = truncated_in_data(tiny_models["tq2_0"], tmp_path / "bad.gguf")
    ctx = AppContext()
    ctx.registry.add_variant("broken", bad, "tq2_0", "imported")
    ctx.settings.update(last_model="broken:TQ2_0")
    w = open_window(ctx, wait_ready=False)
    qtbot.waitUntil(lambda: any(b.notice.key == "engine" for b in w.notices.banners()), timeout=15_000)
    banner = next(b for b in w.notices.banners() if b.notice.key == "engine")
    text = banner.text_label.text()
    assert "bad.gguf" in text and "truncated" in text and "Traceback" not in text
    assert [b.text() for b in banner.buttons] == ["Try again"]
    assert w.chat.header.state.text() == "Not loaded"


def test_uncaught_exceptions_become_a_message_and_a_log_line(qtbot, caplog: pytest.LogCaptureFixture) -> None:
    bridge = MessageBridge()
    posted: list = []
    bridge.posted.connect(posted.append)
    hooks = CrashHooks(bridge).install()
    try:
        with caplog.at_level(logging.ERROR, logger="tern.crash"):
            def boom() -> None:
                raise sqlite3.OperationalError("database is locked")

            t = threading.Thread(target=boom, name="worker-x")
            t.start()
            t.join()
            qtbot.waitUntil(lambda: bool(posted), timeout=3000)  # queued to the GUI thread
            import sys

            try:
                raise KeyError("conversation 42")
            except KeyError as e:
                sys.excepthook(type(e), e, e.__traceback__)
    finally:
        hooks.uninstall()
    assert "could not save or read your conversations" in posted[0].text and posted[0].hint
    assert "Something went wrong inside Tern" in posted[1].text and "log file" in posted[1].hint
    assert any("worker-x" in r.getMessage() for r in caplog.records)
    assert all("Traceback" not in n.text for n in posted)


def test_qt_messages_go_to_the_log(caplog: pytest.LogCaptureFixture) -> None:
    from PySide6.QtCore import QMessageLogContext

    with caplog.at_level(logging.WARNING, logger="tern.qt"):
        qt_message_handler(QtMsgType.QtWarningMsg, QMessageLogContext(), "a Qt warning")
    assert [r.getMessage() for r in caplog.records] == ["a Qt warning"]


def test_a_store_that_refuses_writes_keeps_the_chat_working_and_says_saving_is_off(qtbot, chat_window) -> None:
    w = chat_window
    w.chat.extra_params = {"max_tokens": 2}
    w.ctx.store.db.execute("PRAGMA query_only = ON")  # SQLite itself refuses every write now
    box = w.chat.composer.input
    box.setPlainText("Please keep this")
    with qtbot.waitSignal(w.chat.controller.reply_finished, timeout=60_000):
        qtbot.keyClick(box, Qt.Key.Key_Return)
    banner = next(b for b in w.notices.banners() if b.notice.key == "saving-off")
    text = banner.text_label.text()
    assert text.startswith("Saving is off: the database or its folder is read-only") and "Traceback" not in text
    assert not any(b.notice.key == "store" for b in w.notices.banners())  # no error: the chat went on
    assert w.ctx.store.messages(w.chat.cid)[0].content == "Please keep this"
