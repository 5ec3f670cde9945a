from __future__ import annotations

from pathlib import Path

import pytest

from backend.chat.session import ChatSession, can_continue, default_params, title_from
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
    assert turn.spec.reply_id == turn.reply.id and turn.spec.policy == "truncate_middle"
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


def finish(store: Store, mid: int, text: str, stats: dict | None = None, status: str = COMPLETE) -> None:
    store.update_message(mid, content=text, status=status, stats=stats)


def test_regenerate_keeps_the_earlier_reply_as_a_version(store: Store) -> None:
    s = ChatSession(store)
    cid = s.new_conversation().id
    t1 = s.begin_turn(cid, "first", None)
    finish(store, t1.reply.id, "A", {"output_tokens": 1})
    t2 = s.begin_turn(cid, "second", "m1")
    finish(store, t2.reply.id, "B", {"output_tokens": 1})
    regen = s.begin_regenerate(cid, "m2")
    assert regen.reply.id == t2.reply.id and regen.user is None and regen.removed == []
    assert [m["content"] for m in regen.messages] == ["first", "A", "second"]
    finish(store, regen.reply.id, "B2")
    m = store.message(t2.reply.id)
    assert m.content == "B2" and m.version_count == 2 and m.version_pos == 1 and m.model == "m2"
    assert [v["content"] for v in m.all_versions()] == ["B", "B2"]
    # ‹ 1/2 ›: the earlier version is shown again, and goes to the model as context
    shown = s.show_version(m.id, 0)
    assert shown.content == "B" and shown.version_pos == 0 and shown.model == "m1"
    assert s.engine_messages(cid)[-1] == {"role": "assistant", "content": "B"}
    # regenerating again keeps both
    s.begin_regenerate(cid, "m3")
    finish(store, m.id, "B3")
    assert [v["content"] for v in store.message(m.id).all_versions()] == ["B", "B2", "B3"]
    assert len(store.messages(cid)) == 4


def test_edit_replaces_what_came_after(store: Store) -> None:
    s = ChatSession(store)
    cid = s.new_conversation().id
    t1 = s.begin_turn(cid, "first", None)
    finish(store, t1.reply.id, "A")
    t2 = s.begin_turn(cid, "second", None)
    finish(store, t2.reply.id, "B")
    edit = s.begin_edit(cid, t1.user.id, "first, better", None)  # type: ignore[union-attr]
    assert set(edit.removed) >= {t1.user.id, t1.reply.id, t2.user.id}  # type: ignore[union-attr]
    assert [(m.role, m.content) for m in store.messages(cid)] == [("user", "first, better"),
                                                                  ("assistant", "")]
    assert store.conversation(cid).title == "first, better"
    with pytest.raises(ValueError):
        s.begin_edit(cid, edit.reply.id, "not a user message", None)


def test_delete_a_message_and_put_it_back(store: Store) -> None:
    s = ChatSession(store)
    cid = s.new_conversation().id
    t1 = s.begin_turn(cid, "first", None)
    finish(store, t1.reply.id, "A")
    gone = s.delete_message(cid, t1.user.id)  # type: ignore[union-attr]
    assert gone is not None and [m.content for m in store.messages(cid)] == ["A"]
    store.restore_message(gone)
    assert [(m.id, m.content) for m in store.messages(cid)] == [(t1.user.id, "first"), (t1.reply.id, "A")]


def test_only_a_cut_off_last_reply_can_be_continued(store: Store) -> None:
    s = ChatSession(store)
    cid = s.new_conversation().id
    t1 = s.begin_turn(cid, "first", None)
    finish(store, t1.reply.id, "A", {"stop_reason": "eos"})
    assert not can_continue(store.message(t1.reply.id))
    with pytest.raises(ValueError):
        s.begin_continue(cid, t1.reply.id, None)
    finish(store, t1.reply.id, "A", {"stop_reason": "length"})
    assert can_continue(store.message(t1.reply.id))
    cont = s.begin_continue(cid, t1.reply.id, None)
    assert cont.spec.prefix == "A" and cont.messages == [{"role": "user", "content": "first"}]
    assert store.message(t1.reply.id).status == STREAMING
    finish(store, t1.reply.id, "A", None, CANCELLED)
    assert can_continue(store.message(t1.reply.id))


def test_the_context_policy_is_kept_per_conversation(store: Store) -> None:
    s = ChatSession(store)
    a, b = s.new_conversation().id, s.new_conversation().id
    s.set_options(a, policy="rolling")
    s.set_options(b, policy="nonsense")
    assert s.policy(a) == "rolling" and s.policy(b) == "truncate_middle"
    assert Store(store.path).conversation(a).context_policy == "rolling"


def test_a_store_from_before_policies_and_versions_is_migrated(tmp_path: Path) -> None:
    import sqlite3

    from backend.store import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("INSERT INTO conversations (title, created_at, updated_at) VALUES ('Old', 0, 0)")
    db.execute("INSERT INTO messages (conversation_id, role, content, created_at, updated_at)"
               " VALUES (1, 'assistant', 'kept', 0, 0)")
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()
    store = Store(path)
    assert store.schema_version == len(MIGRATIONS)
    assert store.conversation(1).context_policy == "truncate_middle"
    m = store.messages(1)[0]
    assert m.content == "kept" and m.version_count == 1
