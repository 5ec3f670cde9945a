"""What an LM Studio or Jan user expects of a chat: delete a message, continue a cut-off reply, search the
model picker, load options, Eject — on the real engine, through the widgets' accessible names."""

from __future__ import annotations

from pathlib import Path

import psutil
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QComboBox, QSpinBox

from app.context import AppContext
from backend.engine.hardware import logical_cpus
from backend.store import CANCELLED, COMPLETE
from tests.gui.conftest import LOAD_MS, REPLY_MS, TINY, register_tiny, type_and_send


def buttons(widget, name: str) -> list[QAbstractButton]:
    return [b for b in widget.findChildren(QAbstractButton) if b.accessibleName() == name and b.isVisible()]


def test_delete_a_message_and_undo(qtbot, chat_window) -> None:
    w = chat_window
    c = w.chat.controller
    w.chat.extra_params = {"max_tokens": 4, "ignore_eos": True}
    for text in ("first", "second"):
        with qtbot.waitSignal(c.reply_finished, timeout=REPLY_MS):
            type_and_send(qtbot, w, text)
    store = w.ctx.store
    first_user = store.messages(w.chat.cid)[0]
    widget = w.chat.view.widgets[first_user.id]
    qtbot.mouseClick(buttons(widget, "Delete message")[0], Qt.MouseButton.LeftButton)
    assert first_user.id not in w.chat.view.widgets
    assert [m.content for m in store.messages(w.chat.cid) if m.role == "user"] == ["second"]
    banner = next(b for b in w.notices.banners() if b.notice.key == f"deleted-message-{first_user.id}")
    undo = next(b for b in banner.buttons if b.text() == "Undo")
    qtbot.mouseClick(undo, Qt.MouseButton.LeftButton)
    msgs = store.messages(w.chat.cid)
    assert msgs[0].id == first_user.id and msgs[0].content == "first" and len(msgs) == 4
    assert list(w.chat.view.widgets)[0] == first_user.id  # back in its place on screen too
    # a reply can go too, and the next reply is written without it
    last_reply = msgs[-1]
    qtbot.mouseClick(buttons(w.chat.view.widgets[last_reply.id], "Delete reply")[0], Qt.MouseButton.LeftButton)
    assert last_reply.id not in [m.id for m in store.messages(w.chat.cid)]


def test_continue_a_reply_that_hit_its_token_limit(qtbot, chat_window) -> None:
    w = chat_window
    c = w.chat.controller
    w.chat.extra_params = {"max_tokens": 6, "ignore_eos": True, "temperature": 0}
    with qtbot.waitSignal(c.reply_finished, timeout=REPLY_MS) as done:
        type_and_send(qtbot, w, "Write a lot")
    mid = done.args[0]
    widget = w.chat.view.widgets[mid]
    first = widget.text
    assert "token limit reached" in widget.footer.text()
    cont = buttons(widget, "Continue reply")
    assert cont and cont[0].isEnabled()
    with qtbot.waitSignal(c.reply_finished, timeout=REPLY_MS) as more:
        qtbot.mouseClick(cont[0], Qt.MouseButton.LeftButton)
    assert more.args[0] == mid and more.args[1] == COMPLETE
    stored = w.ctx.store.message(mid)
    assert stored.content.startswith(first) and len(stored.content) > len(first)
    assert widget.text == stored.content  # the same reply, grown in place
    assert len([x for x in w.chat.view.widgets.values() if x.role == "assistant"]) == 1


def test_a_stopped_reply_can_be_continued(qtbot, long_chat_window) -> None:
    w = long_chat_window
    c = w.chat.controller
    w.chat.extra_params = {"max_tokens": 100_000, "ignore_eos": True}
    type_and_send(qtbot, w, "Go")
    qtbot.waitUntil(lambda: w.chat.view._received >= 5, timeout=20_000)
    with qtbot.waitSignal(c.reply_finished, timeout=10_000) as done:
        w.chat.stop()
    mid = done.args[0]
    assert done.args[1] == CANCELLED
    before = w.ctx.store.message(mid).content
    w.chat.extra_params = {"max_tokens": 5, "ignore_eos": True}
    with qtbot.waitSignal(c.reply_finished, timeout=REPLY_MS):
        qtbot.mouseClick(buttons(w.chat.view.widgets[mid], "Continue reply")[0], Qt.MouseButton.LeftButton)
    after = w.ctx.store.message(mid)
    assert after.content.startswith(before) and after.status == COMPLETE and after.stats["continued"]


def test_the_model_picker_searches_and_ejects(qtbot, open_window, tiny_models: dict[str, Path]) -> None:
    ctx = AppContext()
    register_tiny(ctx, tiny_models, ("tq2_0", "tq1_0", "f16"))
    ctx.settings.update(last_model=TINY)
    w = open_window(ctx)
    c = w.chat.controller
    picker = w.chat.header.picker
    assert picker.accessibleName() == "Model" and picker.isEditable()
    completer = picker.completer()
    completer.setCompletionPrefix("tq1")  # typing "tq1" in the picker
    matches = [completer.completionModel().index(i, 0).data() for i in range(completer.completionCount())]
    assert len(matches) == 1 and "TQ1_0" in matches[0]
    with qtbot.waitSignal(c.engine_started, timeout=LOAD_MS):
        completer.activated.emit(matches[0])  # choosing the match
    assert c.choice.spec == "tiny:TQ1_0"
    pid = c.engine_pid
    eject = buttons(w.chat.header, "Eject model")[0]
    with qtbot.waitSignal(c.engine_stopped, timeout=5000):
        qtbot.mouseClick(eject, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE,
                    timeout=10_000)  # the engine process is gone: its memory is back
    assert c.choice is None and not c.ready and not eject.isEnabled()
    assert w.chat.composer.input.placeholderText() == "Choose a model to start…"
    assert w.chat.header.picker.currentText() == "Choose a model…"


def test_load_options_set_context_and_threads_for_this_load(qtbot, chat_window) -> None:
    w = chat_window
    c = w.chat.controller
    qtbot.mouseClick(buttons(w.chat.header, "Load options")[0], Qt.MouseButton.LeftButton)
    popup = w.chat.header.load_options
    assert popup.isVisible()
    ctx_spin = next(s for s in popup.findChildren(QSpinBox) if s.accessibleName() == "Context length for this load")
    threads = next(s for s in popup.findChildren(QSpinBox) if s.accessibleName() == "Threads for this load")
    assert threads.maximum() == logical_cpus()  # never more threads than the computer runs at once
    ctx_spin.setValue(1024)
    threads.setValue(1)
    with qtbot.waitSignal(c.engine_started, timeout=LOAD_MS) as started:
        qtbot.mouseClick(buttons(popup, "Load with these settings")[0], Qt.MouseButton.LeftButton)
    info = started.args[1]
    assert info["n_ctx"] == 1024 and info["n_threads"] == 1
    assert w.settings.n_ctx == 2048  # Settings keep their defaults: this load only
    assert "1,024-token context" in w.status.state.text()
    assert not popup.isVisible() and isinstance(w.chat.header.picker, QComboBox)
