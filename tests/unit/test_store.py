from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from backend.store import COMPLETE, INTERRUPTED, MIGRATIONS, STREAMING, Store


def test_conversation_and_messages_round_trip(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.sqlite3")
    c = store.create_conversation("First", model="demo", params={"temperature": 0.2})
    store.add_message(c.id, "user", "Hello")
    reply = store.add_message(c.id, "assistant", "", status=STREAMING)
    store.update_message(reply.id, content="Hi there", status=COMPLETE, stats={"output_tokens": 2})
    reopened = Store(tmp_path / "t.sqlite3")
    msgs = reopened.messages(c.id)
    assert [(m.role, m.content, m.status) for m in msgs] == [
        ("user", "Hello", COMPLETE), ("assistant", "Hi there", COMPLETE)]
    assert msgs[1].stats == {"output_tokens": 2}
    assert reopened.conversation(c.id).params == {"temperature": 0.2}


def test_reply_cut_off_by_a_crash_is_marked_interrupted(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.sqlite3")
    c = store.create_conversation()
    m = store.add_message(c.id, "assistant", "half a rep", status=STREAMING)
    store.close()
    again = Store(tmp_path / "t.sqlite3")
    assert again.mark_interrupted() == 1
    assert again.message(m.id).status == INTERRUPTED and again.message(m.id).content == "half a rep"


def test_delete_undo_and_purge(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.sqlite3")
    a, b = store.create_conversation("Alpha"), store.create_conversation("Beta")
    store.add_message(b.id, "user", "needle in here")
    store.delete_conversation(a.id)
    assert [c.title for c in store.conversations()] == ["Beta"]
    store.restore_conversation(a.id)
    assert {c.title for c in store.conversations()} == {"Alpha", "Beta"}
    assert [c.title for c in store.conversations("needle")] == ["Beta"]
    store.delete_conversation(a.id)
    assert store.purge_deleted() == 1
    with pytest.raises(KeyError):
        store.conversation(a.id)


def test_edit_and_resend_drops_later_messages(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.sqlite3")
    c = store.create_conversation()
    first = store.add_message(c.id, "user", "one")
    store.add_message(c.id, "assistant", "two")
    store.add_message(c.id, "user", "three")
    store.delete_messages_from(c.id, first.id + 1)
    assert [m.content for m in store.messages(c.id)] == ["one"]


def test_schema_is_versioned_and_newer_databases_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite3"
    assert Store(path).schema_version == len(MIGRATIONS)
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    with pytest.raises(RuntimeError, match="newer Tern"):
        Store(path)


def test_wal_mode(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.sqlite3")
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
