from __future__ import annotations

from pathlib import Path

import pytest

from backend.chat.session import ChatSession, ReplyRecorder, default_params, title_from
from backend.store import CANCELLED, COMPLETE, FAILED, INTERRUPTED, STREAMING, Store


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "t.sqlite3")


def test_titles_come_from_the_first_line_cut_at_a_word() -> None:
    assert title_from("  \n# How do ternary weights work?\nmore") == "How do ternary weights work?"
    long = title_from("Please explain in great detail how the key-value cache grows with context length")
    assert long.endswith("…") and len(long) <= 49 and not long[:-1].endswith(" ")
    assert title_from("   ") == "New chat"


def test_a_turn_stores_the_user_message_and_a_streaming_reply(store: Store) -> None:
    s = ChatSession(store)
    conv = s.new_conversation("tiny · TQ2_0")
    s.set_options(conv.id, "Be brief.", {**default_params(), "temperature": 0.2, "bogus": 1})
    turn = s.begin_turn(conv.id, "Hello there", "tiny · TQ2_0", extra={"ignore_eos": True})
    assert turn.user is not None and turn.user.content == "Hello there"
    assert turn.reply.status == STREAMING and turn.reply.model == "tiny · TQ2_0"
    assert turn.messages == [{"role": "system", "content": "Be brief."},
                             {"role": "user", "content": "Hello there"}]
    assert turn.params["temperature"] == 0.2 and turn.params["ignore_eos"] is True
    assert "bogus" not in turn.params
    assert store.conversation(conv.id).title == "Hello there"


def test_history_sent_to_the_engine_skips_failed_and_empty_replies(store: Store) -> None:
    s = ChatSession(store)
    cid = s.new_conversation().id
    store.add_message(cid, "user", "one")
    store.add_message(cid, "assistant", "partial", status=FAILED)
    store.add_message(cid, "user", "two")
    store.add_message(cid, "assistant", "cut", status=INTERRUPTED)
    store.add_message(cid, "user", "three")
    store.add_message(cid, "assistant", "", status=CANCELLED)
    msgs = s.engine_messages(cid)
    assert [(m["role"], m["content"]) for m in msgs] == [
        ("user", "one"), ("user", "two"), ("assistant", "cut"), ("user", "three")]


def test_regenerate_and_edit_replace_what_came_after(store: Store) -> None:
    s = ChatSession(store)
    cid = s.new_conversation().id
    t1 = s.begin_turn(cid, "first", None)
    ReplyRecorder(store, t1.reply.id).finish(COMPLETE, {"output_tokens": 1}, tail="A")
    t2 = s.begin_turn(cid, "second", None)
    ReplyRecorder(store, t2.reply.id).finish(COMPLETE, None, tail="B")
    regen = s.begin_regenerate(cid, None)
    assert regen.removed == [t2.reply.id] and regen.user is None
    assert [m["content"] for m in regen.messages] == ["first", "A", "second"]
    edit = s.begin_edit(cid, t1.user.id, "first, better", None)  # type: ignore[union-attr]
    assert set(edit.removed) >= {t1.user.id, t1.reply.id, t2.user.id}  # type: ignore[union-attr]
    assert [(m.role, m.content) for m in store.messages(cid)] == [("user", "first, better"),
                                                                  ("assistant", "")]
    assert store.conversation(cid).title == "first, better"
    with pytest.raises(ValueError):
        s.begin_edit(cid, edit.reply.id, "not a user message", None)


def test_the_recorder_writes_about_once_a_second_and_at_the_end(store: Store) -> None:
    s = ChatSession(store)
    cid = s.new_conversation().id
    turn = s.begin_turn(cid, "hi", None)
    now = [0.0]
    rec = ReplyRecorder(store, turn.reply.id, interval_s=1.0, clock=lambda: now[0])
    for i in range(100):  # 100 pieces over 2.5 s
        now[0] = i * 0.025
        rec.add(f"w{i} ")
    assert rec.writes == 2  # at 1.0 s and 2.0 s
    on_disk = store.message(turn.reply.id)
    assert on_disk.status == STREAMING and on_disk.content == "".join(f"w{i} " for i in range(81))
    rec.finish(CANCELLED, {"stop_reason": "cancelled"})
    final = store.message(turn.reply.id)
    assert final.status == CANCELLED and final.content == rec.text
    assert final.stats == {"stop_reason": "cancelled"}
