"""Sending, streaming, stopping, regenerating and editing, on the real engine and the real store."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt

from backend.store import CANCELLED, COMPLETE, STREAMING
from tests.gui.conftest import REPLY_MS, type_and_send


def reply_widgets(window):
    return [w for w in window.chat.view.widgets.values() if w.role == "assistant"]


def test_a_message_streams_into_the_view_and_the_store(qtbot, chat_window) -> None:
    w = chat_window
    c = w.chat.controller
    w.chat.extra_params = {"max_tokens": 24, "seed": 3, "ignore_eos": True}
    batches: list[tuple[str, int, int]] = []
    c.reply_tokens.connect(lambda text, offset, n: batches.append((text, offset, n)))
    with qtbot.waitSignal(c.reply_finished, timeout=REPLY_MS) as done:
        type_and_send(qtbot, w, "Hello there")
        assert w.chat.composer.busy and w.chat.composer.button.accessibleName() == "Stop reply"
    mid, status, stats = done.args
    assert status == COMPLETE and stats["output_tokens"] == 24 and sum(n for _, _, n in batches) == 24
    assert len(batches) <= 24  # one signal per batch of tokens, never one per token and more
    tokens = [text for text, _, _ in batches]
    assert [offset for _, offset, _ in batches] == [sum(len(t) for t in tokens[:i]) for i in range(len(tokens))]

    msgs = w.ctx.store.messages(w.chat.cid)
    assert [(m.role, m.status) for m in msgs] == [("user", COMPLETE), ("assistant", COMPLETE)]
    assert msgs[0].content == "Hello there"
    assert msgs[1].id == mid and msgs[1].content == "".join(tokens)
    assert msgs[1].stats["decode_tps"] == stats["decode_tps"]
    view = w.chat.view.widgets[mid]
    assert view.text == msgs[1].content  # what is shown (and copied) is what was stored
    assert view.body.segments
    qtbot.waitUntil(lambda: all(s.isVisible() for s in view.body.segments), timeout=2000)  # shown next turn
    assert "tok/s" in view.footer.text() and "24 tokens" in view.footer.text()
    assert not w.chat.composer.busy and w.chat.composer.input.toPlainText() == ""
    # the list shows the conversation under the first words of the message, and the status line the figures
    assert w.chat.conversations.titles()[0] == "Hello there"
    assert "tok/s" in w.status.turn_figures.labels["decode"].text()


def test_the_reply_is_on_disk_while_it_streams(qtbot, long_chat_window) -> None:
    """About once a second the growing reply is written, status "streaming"; so a kill loses at most ~1 s."""
    w = long_chat_window
    c = w.chat.controller
    w.chat.extra_params = {"max_tokens": 100_000, "ignore_eos": True}
    type_and_send(qtbot, w, "Tell me a long story")
    mid = c.turn.reply.id
    store = w.ctx.store
    qtbot.waitUntil(lambda: len(store.message(mid).content) > 0, timeout=20_000)
    saved = store.message(mid)
    assert saved.status == STREAMING
    first = len(saved.content)
    qtbot.waitUntil(lambda: len(store.message(mid).content) > first, timeout=15_000)  # and again, later
    with qtbot.waitSignal(c.reply_finished, timeout=10_000):
        w.chat.stop()
    assert store.message(mid).status == CANCELLED


def test_esc_stops_a_reply_mid_stream_and_the_partial_reply_stays(qtbot, long_chat_window) -> None:
    w = long_chat_window
    c = w.chat.controller
    w.chat.extra_params = {"max_tokens": 100_000, "ignore_eos": True}
    type_and_send(qtbot, w, "Go on and on")
    qtbot.waitUntil(lambda: w.chat.view._received >= 5, timeout=20_000)
    with qtbot.waitSignal(c.reply_finished, timeout=10_000) as done:
        t0 = time.perf_counter()
        qtbot.keyClick(w.chat.composer.input, Qt.Key.Key_Escape)
    elapsed = time.perf_counter() - t0
    mid, status, stats = done.args
    assert status == CANCELLED and stats["stop_reason"] == "cancelled"
    assert elapsed < 3.0, f"stopping took {elapsed:.2f} s"
    stored = w.ctx.store.message(mid)
    assert stored.status == CANCELLED and stored.content and stats["output_tokens"] >= 5
    widget = w.chat.view.widgets[mid]
    assert widget.badge.isVisible() and widget.badge.text().startswith("Stopped")
    assert "stopped by you" in widget.footer.text()
    # the Stop button is the Send button again, and the next message can be sent
    assert w.chat.composer.button.accessibleName() == "Send message"
    w.chat.extra_params = {"max_tokens": 3}
    with qtbot.waitSignal(c.reply_finished, timeout=REPLY_MS):
        type_and_send(qtbot, w, "Short one")
    assert len(reply_widgets(w)) == 2


def test_the_stop_button_stops_too(qtbot, long_chat_window) -> None:
    w = long_chat_window
    w.chat.extra_params = {"max_tokens": 100_000, "ignore_eos": True}
    type_and_send(qtbot, w, "Stream")
    qtbot.waitUntil(lambda: w.chat.view._received >= 2, timeout=20_000)
    with qtbot.waitSignal(w.chat.controller.reply_finished, timeout=10_000) as done:
        qtbot.mouseClick(w.chat.composer.button, Qt.MouseButton.LeftButton)
    assert done.args[1] == CANCELLED


def test_regenerate_keeps_the_earlier_reply_and_flips_between_them(qtbot, chat_window) -> None:
    w = chat_window
    c = w.chat.controller
    w.chat.extra_params = {"max_tokens": 8, "ignore_eos": True, "seed": 1}
    with qtbot.waitSignal(c.reply_finished, timeout=REPLY_MS) as first:
        type_and_send(qtbot, w, "Say something")
    mid = first.args[0]
    widget = w.chat.view.widgets[mid]
    old_text = widget.text
    assert widget.regenerate_button.isVisible() and widget.regenerate_button.isEnabled()
    assert not widget.version_label.isVisible()  # one version: no ‹ 1/1 ›
    w.chat.extra_params = {"max_tokens": 8, "ignore_eos": True, "seed": 2}
    with qtbot.waitSignal(c.reply_finished, timeout=REPLY_MS) as second:
        qtbot.mouseClick(widget.regenerate_button, Qt.MouseButton.LeftButton)
    assert second.args[0] == mid  # the same reply, in a new version
    replies = reply_widgets(w)
    assert replies == [widget] and widget.text != old_text
    assert widget.version_label.isVisible() and widget.version_label.text() == "2/2"
    assert widget.prev_button.isEnabled() and not widget.next_button.isEnabled()
    new_text = widget.text
    qtbot.mouseClick(widget.prev_button, Qt.MouseButton.LeftButton)  # ‹
    assert widget.text == old_text and widget.version_label.text() == "1/2"
    msgs = w.ctx.store.messages(w.chat.cid)
    assert [m.role for m in msgs] == ["user", "assistant"] and msgs[1].content == old_text
    assert [v["content"] for v in msgs[1].all_versions()] == [old_text, new_text]
    qtbot.mouseClick(widget.next_button, Qt.MouseButton.LeftButton)  # ›
    assert widget.text == new_text and w.ctx.store.message(mid).content == new_text
    # reopening the conversation shows the same version and the same switcher
    cid = w.chat.cid
    w.chat.open_conversation(w.ctx.store.create_conversation("Other").id)
    w.chat.open_conversation(cid)
    again = w.chat.view.widgets[mid]
    assert again.text == new_text and again.version_label.text() == "2/2"


def test_edit_a_message_and_send_it_again(qtbot, chat_window) -> None:
    w = chat_window
    c = w.chat.controller
    w.chat.extra_params = {"max_tokens": 4, "ignore_eos": True}
    for text in ("First question", "Second question"):
        with qtbot.waitSignal(c.reply_finished, timeout=REPLY_MS):
            type_and_send(qtbot, w, text)
    first_user = next(x for x in w.chat.view.widgets.values() if x.role == "user")
    qtbot.mouseClick(first_user.edit_button, Qt.MouseButton.LeftButton)
    assert first_user.editor_box.isVisible() and first_user.editor.toPlainText() == "First question"
    first_user.editor.setPlainText("A better first question")
    with qtbot.waitSignal(c.reply_finished, timeout=REPLY_MS):
        qtbot.mouseClick(first_user.resend_button, Qt.MouseButton.LeftButton)
    msgs = w.ctx.store.messages(w.chat.cid)
    assert [(m.role, m.content if m.role == "user" else "") for m in msgs] == [
        ("user", "A better first question"), ("assistant", "")]
    shown = [x for x in w.chat.view.widgets.values()]
    assert [x.role for x in shown] == ["user", "assistant"] and shown[0].text == "A better first question"
    # the edit replaced the auto title too
    assert w.chat.conversations.titles()[0] == "A better first question"


def test_shift_enter_makes_a_new_line_and_enter_sends(qtbot, chat_window) -> None:
    w = chat_window
    w.chat.extra_params = {"max_tokens": 2}
    box = w.chat.composer.input
    box.setFocus()
    qtbot.keyClicks(box, "line one")
    qtbot.keyClick(box, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(box, "line two")
    assert box.toPlainText() == "line one\nline two" and not w.chat.controller.busy
    with qtbot.waitSignal(w.chat.controller.reply_finished, timeout=REPLY_MS):
        qtbot.keyClick(box, Qt.Key.Key_Return)
    assert w.ctx.store.messages(w.chat.cid)[0].content == "line one\nline two"


def test_copy_a_message(qtbot, chat_window) -> None:
    from PySide6.QtGui import QGuiApplication

    w = chat_window
    w.chat.extra_params = {"max_tokens": 6, "ignore_eos": True}
    with qtbot.waitSignal(w.chat.controller.reply_finished, timeout=REPLY_MS) as done:
        type_and_send(qtbot, w, "Copy me")
    reply = w.chat.view.widgets[done.args[0]]
    qtbot.mouseClick(reply.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == w.ctx.store.message(done.args[0]).content
    user = next(x for x in w.chat.view.widgets.values() if x.role == "user")
    qtbot.mouseClick(user.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "Copy me"


def test_a_reply_keeps_streaming_while_another_conversation_is_open(qtbot, long_chat_window) -> None:
    w = long_chat_window
    c = w.chat.controller
    w.chat.extra_params = {"max_tokens": 100_000, "ignore_eos": True}
    type_and_send(qtbot, w, "Long answer please")
    first, mid = w.chat.cid, c.turn.reply.id
    qtbot.waitUntil(lambda: w.chat.view._received >= 3, timeout=20_000)
    other = w.ctx.store.create_conversation("Elsewhere")
    w.chat.conversations.refresh()
    w.chat.open_conversation(other.id)  # the reply goes on, off screen
    assert mid not in w.chat.view.widgets and c.busy
    received = w.chat.view._received
    qtbot.waitUntil(lambda: w.chat.view._received > received + 3, timeout=20_000)
    w.chat.open_conversation(first)  # back: the reply shows everything so far and keeps growing
    widget = w.chat.view.widgets[mid]
    assert widget.status == STREAMING
    shown = len(widget.text)
    assert shown >= len(w.ctx.store.message(mid).content)  # more than the last save, not less
    qtbot.waitUntil(lambda: len(widget.text) > shown, timeout=20_000)
    with qtbot.waitSignal(c.reply_finished, timeout=10_000):
        w.chat.stop()
    assert widget.text == w.ctx.store.message(mid).content and w.ctx.store.message(mid).status == CANCELLED
