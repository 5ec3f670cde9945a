"""Conversation list: new, rename, search, delete with undo; a restart restores list, conversation, layout."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from app.context import AppContext
from tests.gui.conftest import REPLY_MS, TINY, register_tiny, type_and_send
from ui.conversations import ConversationListModel, IdRole


def send_and_wait(qtbot, w, text: str) -> None:
    with qtbot.waitSignal(w.chat.controller.reply_finished, timeout=REPLY_MS):
        type_and_send(qtbot, w, text)


def test_new_rename_search_delete_and_undo(qtbot, chat_window) -> None:
    w = chat_window
    w.chat.extra_params = {"max_tokens": 2}
    send_and_wait(qtbot, w, "Apples are red")
    first = w.chat.cid
    qtbot.keyClick(w, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)  # Ctrl+N
    assert w.chat.cid != first and not w.chat.view.widgets and w.chat.view.empty.isVisible()
    send_and_wait(qtbot, w, "Bananas are yellow")
    second = w.chat.cid
    panel = w.chat.conversations
    assert panel.titles() == ["Bananas are yellow", "Apples are red"]
    # Ctrl+N on an empty conversation does not pile up empty ones
    qtbot.keyClick(w, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    third = w.chat.cid
    qtbot.keyClick(w, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert w.chat.cid == third and len(w.ctx.store.conversations()) == 3

    # rename in place (F2), as a person would
    panel.list.setFocus()
    panel.list.setCurrentIndex(panel.model.index(panel.model.row_of(first)))
    qtbot.keyClick(panel.list, Qt.Key.Key_F2)
    editor = panel.list.findChild(QLineEdit)
    assert editor is not None and editor.isVisible()
    editor.selectAll()
    qtbot.keyClicks(editor, "Fruit colours")
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # the view commits on its next turn of the event loop
    qtbot.waitUntil(lambda: w.ctx.store.conversation(first).title == "Fruit colours", timeout=3000)
    assert "Fruit colours" in panel.titles() and w.windowTitle() == "Fruit colours — Tern"

    # search matches titles and message text
    qtbot.keyClicks(panel.search, "yellow")
    qtbot.waitUntil(lambda: panel.ids() == [second], timeout=3000)
    panel.search.clear()
    qtbot.waitUntil(lambda: len(panel.ids()) == 2, timeout=3000)  # the empty third one went when it was left
    assert third not in panel.ids()

    # delete (the Delete key on the list), then undo from the banner
    w.chat.open_conversation(first)
    panel.list.setFocus()
    qtbot.keyClick(panel.list, Qt.Key.Key_Delete)
    assert first not in panel.ids() and first not in [c.id for c in w.ctx.store.conversations()]
    assert w.chat.cid != first
    banner = next(b for b in w.notices.banners() if b.notice.key == f"deleted-{first}")
    assert "Fruit colours" in banner.text_label.text()
    undo = next(b for b in banner.buttons if b.text() == "Undo")
    qtbot.mouseClick(undo, Qt.MouseButton.LeftButton)
    assert first in panel.ids() and w.chat.cid == first
    assert [m.content for m in w.ctx.store.messages(first)][0] == "Apples are red"


def test_deleted_conversations_are_purged_at_the_next_start(qtbot, open_window, tiny_models) -> None:
    ctx = AppContext()
    keep = ctx.store.create_conversation("Keep me")
    gone = ctx.store.create_conversation("Delete me")
    ctx.store.delete_conversation(gone.id)
    w = open_window(ctx, wait_ready=False)
    assert w.chat.conversations.ids() == [keep.id]
    assert len(ctx.store.db.execute("SELECT id FROM conversations").fetchall()) == 1


def test_restart_restores_the_list_the_last_conversation_and_the_layout(qtbot, open_window,
                                                                        tiny_models) -> None:
    ctx = AppContext()
    register_tiny(ctx, tiny_models)
    ctx.settings.update(last_model=TINY)
    w = open_window(ctx)
    w.chat.extra_params = {"max_tokens": 3}
    send_and_wait(qtbot, w, "The first conversation")
    first = w.chat.cid
    w.chat.new_conversation()
    send_and_wait(qtbot, w, "The second conversation")
    w.chat.open_conversation(first)  # the one to come back to
    w.resize(780, 540)  # within the offscreen screen (800×600), which restoreGeometry respects
    w.chat.header.options_button.setChecked(True)
    w.chat.splitter.setSizes([300, 500, 280])
    sizes = w.chat.splitter.sizes()
    w.close()  # saves the window state, closes the engine
    assert w.chat.controller.thread.isFinished()

    ctx2 = AppContext()
    w2 = open_window(ctx2)  # the last model loads again too
    assert w2.chat.conversations.titles() == ["The second conversation", "The first conversation"]
    assert w2.chat.cid == first
    assert [m.text for m in w2.chat.view.widgets.values()][0] == "The first conversation"
    assert (w2.width(), w2.height()) == (780, 540)
    assert w2.chat.options.isVisible() and w2.chat.splitter.sizes() == sizes
    assert w2.chat.controller.choice is not None and w2.chat.controller.choice.spec == TINY


def test_the_list_model_is_a_well_behaved_qt_model(qtmodeltester) -> None:
    ctx = AppContext()
    for title in ("One", "Two", "Three"):
        ctx.store.create_conversation(title)
    model = ConversationListModel(ctx.store)
    model.refresh()
    qtmodeltester.check(model)
    assert [model.index(i).data(IdRole) for i in range(3)] == [c.id for c in ctx.store.conversations()]
