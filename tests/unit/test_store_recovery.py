"""A damaged or unwritable database never locks the user out, and nothing in it is deleted.

The damage is real: a page of the messages table overwritten (found with SQLite's dbstat), a file cut
short, random bytes, an empty file. A read-only folder and a full disk are real too (a read-only bind
mount and a filled tmpfs in a private mount namespace: tests/support/confined.py).
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
import textwrap
import time
from pathlib import Path

import pytest

from backend.store import MIGRATIONS, Store
from backend.store_open import open_store
from tests.support import damaged_store
from tests.support.confined import need_namespaces, run_confined

ROOT = Path(__file__).resolve().parents[2]


def moved_aside(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if re.fullmatch(r"t\.sqlite3\.corrupt-\d{8}-\d{6}(-\d+)?", p.name))


def test_one_damaged_page_of_messages_loses_only_that_page(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite3"
    written = damaged_store.filled_store(path)
    pages = damaged_store.leaf_pages(path, "messages")
    assert len(pages) > 10  # the messages table spans many pages: one bad page must not cost them all
    damaged_store.overwrite_page(path, pages[len(pages) // 2])
    damaged_bytes = path.read_bytes()

    store = open_store(path)

    [old] = moved_aside(tmp_path)
    assert old.read_bytes() == damaged_bytes  # moved, not deleted or rewritten
    assert len(store.notices) == 1 and str(old) in store.notices[0] and "damaged" in store.notices[0]
    assert store.saving_off is None and store.quick_check() == []
    conversations = store.conversations()
    assert len(conversations) == written["conversations"]
    kept = sum(len(store.messages(c.id)) for c in conversations)
    per_page = written["messages"] / len(pages)
    assert written["messages"] - 3 * per_page <= kept < written["messages"]
    assert store.db.execute("SELECT count(*) FROM models").fetchone()[0] == 1
    assert store.db.execute("SELECT count(*) FROM bench_runs").fetchone()[0] == 1
    assert f"{kept} messages" in store.notices[0] and "some messages were unreadable" in store.notices[0]
    store.close()
    assert open_store(path).notices == []  # said once: the next start finds a sound database


def test_messages_whose_conversation_was_lost_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite3"
    damaged_store.filled_store(path, conversations=400, messages_each=1)
    pages = damaged_store.leaf_pages(path, "conversations")
    assert len(pages) > 2
    damaged_store.overwrite_page(path, pages[1])
    store = open_store(path)
    kept = [c for c in store.conversations() if c.title.startswith("Conversation ")]
    recovered = [c for c in store.conversations() if c.title == "Recovered messages"]
    assert 300 < len(kept) < 400 and len(kept) + len(recovered) == 400
    assert all(store.messages(c.id) for c in recovered)
    assert sum(len(store.messages(c.id)) for c in store.conversations()) == 400


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_unreadable_files_are_moved_aside_and_a_fresh_store_starts(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "t.sqlite3"
    damaged_store.filled_store(path)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:3000])
    elif damage == "garbage":
        damaged_store.garbage(path)
    else:
        path.write_bytes(b"")  # SQLite would silently treat this as a new, empty database
        an_hour_ago = time.time() - 3600
        os.utime(path, (an_hour_ago, an_hour_ago))
    before = path.read_bytes()
    store = open_store(path)
    [old] = moved_aside(tmp_path)
    assert old.read_bytes() == before
    assert store.conversations() == [] and store.schema_version == len(MIGRATIONS)
    assert len(store.notices) == 1 and str(old) in store.notices[0]
    if damage == "empty":
        assert "empty (0 bytes)" in store.notices[0]


def test_a_newer_tern_s_database_is_left_alone_and_saving_is_off(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite3"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    before = path.read_bytes()
    store = open_store(path)
    assert store.saving_off and "newer Tern" in store.saving_off
    assert store.notices and store.notices[0].startswith("Saving is off")
    store.create_conversation("works anyway")
    assert [c.title for c in store.conversations()] == ["works anyway"]
    assert path.read_bytes() == before and not moved_aside(tmp_path)


def _child(code: str) -> list[str]:
    return [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r})\n" + textwrap.dedent(code)]


def test_read_only_folder_works_in_memory_and_says_why(tmp_path: Path) -> None:
    need_namespaces()
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "t.sqlite3"
    written = damaged_store.filled_store(path)
    before = path.read_bytes()
    r = run_confined(_child(f"""
        from backend.store_open import open_store
        store = open_store({str(path)!r})
        print("OFF:", store.saving_off)
        print("NOTICE:", store.notices)
        print("BEFORE:", len(store.conversations()))
        c = store.create_conversation("unsaved")
        store.add_message(c.id, "user", "hello")
        print("AFTER:", len(store.conversations()), store.messages(c.id)[0].content)
    """), read_only=(folder,))
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert "OFF: the disk holding the database is mounted read-only" in r.stdout
    assert "Saving is off" in r.stdout
    assert f"BEFORE: {written['conversations']}" in r.stdout
    assert f"AFTER: {written['conversations'] + 1} hello" in r.stdout
    assert path.read_bytes() == before


def test_disk_filling_up_mid_session_keeps_everything_working(tmp_path: Path) -> None:
    """Writes succeed, the disk fills, writes go on (in memory) with one notice; the file keeps what was saved.

    The first write to fail is inside a transaction: the transaction is replayed in memory, whole."""
    need_namespaces()
    disk = tmp_path / "disk"
    path = disk / "t.sqlite3"
    r = run_confined(_child(f"""
        import os
        from backend.store_open import open_store
        store = open_store({str(path)!r})
        told = []
        store.on_saving_off(told.append)
        c = store.create_conversation("before the disk filled")
        store.add_message(c.id, "user", "saved")
        with open({str(disk / "filler")!r}, "wb") as f:  # fill the disk to the last byte
            try:
                while True:
                    f.write(b"\\0" * 65536)
                    f.flush()
            except OSError:
                pass
        with store.transaction() as db:  # the first write to fail is part of a transaction: all of it is kept
            db.execute("UPDATE conversations SET title = ? WHERE id = ?", ("renamed", c.id))
            for i in range(20):
                db.execute("INSERT INTO messages (conversation_id, role, content, created_at, updated_at)"
                           " VALUES (?, 'assistant', ?, 0, 0)", (c.id, "x" * 4000))
        for i in range(30):
            store.add_message(c.id, "assistant", "y" * 4000)
        print("TOLD:", told)
        print("COUNT:", len(store.messages(c.id)), store.conversation(c.id).title)
        os.remove({str(disk / "filler")!r})
        again = open_store({str(path)!r})
        print("FILE:", again.quick_check(), [m.content for m in again.messages(c.id)])
    """), full_disk=disk, disk_bytes=1 << 20, fill=False)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert "TOLD: ['the disk is full (" in r.stdout and r.stdout.count("the disk is full") == 1
    assert "COUNT: 51 renamed" in r.stdout
    assert "FILE: [] ['saved']" in r.stdout


def test_full_disk_at_start(tmp_path: Path) -> None:
    need_namespaces()
    disk = tmp_path / "disk"
    r = run_confined(_child(f"""
        from backend.store_open import open_store
        store = open_store({str(disk / "t.sqlite3")!r})
        print("OFF:", store.saving_off)
        store.create_conversation("in memory")
        print("TITLES:", [c.title for c in store.conversations()])
        import os
        print("LEFT:", sorted(os.listdir({str(disk)!r})))
    """), full_disk=disk, disk_bytes=256 << 10)
    assert r.returncode == 0, r.stderr
    assert "OFF: the disk is full" in r.stdout and "TITLES: ['in memory']" in r.stdout
    assert "LEFT: ['filler', 'filler-tail']" in r.stdout  # no empty database left to be taken for a damaged one


def test_the_in_memory_store_is_shared_safely_by_threads(tmp_path: Path) -> None:
    """Once saving is off every thread uses one in-memory connection: concurrent writers and transactions
    must neither fail nor interleave."""
    import threading

    store = Store.in_memory(tmp_path / "t.sqlite3", "the disk is full")
    c = store.create_conversation("shared")
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(100):
                if i % 10 == 0:
                    with store.transaction() as db:
                        db.execute("INSERT INTO messages (conversation_id, role, content, created_at, updated_at)"
                                   " VALUES (?, 'user', ?, 0, 0)", (c.id, f"{n}-{i}-a"))
                        db.execute("INSERT INTO messages (conversation_id, role, content, created_at, updated_at)"
                                   " VALUES (?, 'user', ?, 0, 0)", (c.id, f"{n}-{i}-b"))
                else:
                    store.add_message(c.id, "user", f"{n}-{i}")
                store.messages(c.id)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    contents = [m.content for m in store.messages(c.id)]
    assert len(contents) == 4 * 110
    for n in range(4):  # each transaction's two rows are next to each other: nothing slipped in between
        for i in range(0, 100, 10):
            k = contents.index(f"{n}-{i}-a")
            assert contents[k + 1] == f"{n}-{i}-b"


def test_damaged_store_in_a_read_only_folder_is_salvaged_into_memory(tmp_path: Path) -> None:
    need_namespaces()
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "t.sqlite3"
    written = damaged_store.filled_store(path)
    damaged_store.overwrite_page(path, damaged_store.leaf_pages(path, "messages")[4])
    before = path.read_bytes()
    r = run_confined(_child(f"""
        from backend.store_open import open_store
        store = open_store({str(path)!r})
        print("OFF:", store.saving_off)
        print("KEPT:", len(store.conversations()), sum(len(store.messages(c.id)) for c in store.conversations()))
    """), read_only=(folder,))
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert "OFF: the database is damaged" in r.stdout and "could not be moved aside (Read-only file system)" in r.stdout
    kept = r.stdout.split("KEPT: ")[1].split()
    assert int(kept[0]) == written["conversations"] and written["messages"] * 0.9 < int(kept[1]) < written["messages"]
    assert path.read_bytes() == before and not moved_aside(folder)


def test_an_empty_file_another_tern_is_creating_is_not_called_damaged(tmp_path: Path) -> None:
    """Two Terns starting at once: SQLite makes the file, then writes it; the other must not move it aside."""
    path = tmp_path / "t.sqlite3"
    path.write_bytes(b"")  # just made: what the other process's sqlite3.connect leaves for a moment
    store = open_store(path)
    assert store.notices == [] and not moved_aside(tmp_path) and store.schema_version == len(MIGRATIONS)


def test_a_database_another_tern_already_recovered_is_opened_not_moved_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two Terns find the same damage; the other one moves the file aside and starts a new database first.
    This one must open that new database, not move it aside as if it were the damaged one."""
    path = tmp_path / "t.sqlite3"
    damaged_store.filled_store(path)
    damaged_store.overwrite_page(path, damaged_store.leaf_pages(path, "messages")[3])
    real_check = Store.quick_check

    def check_while_the_other_recovers(self: Store) -> list[str]:
        monkeypatch.setattr(Store, "quick_check", real_check)
        other = open_store(path)  # the other process recovers first and writes to its new database…
        other.create_conversation("made by the other Tern")
        other.close()
        return real_check(self)  # …while this one's check of the old file finds the damage

    monkeypatch.setattr(Store, "quick_check", check_while_the_other_recovers)
    store = open_store(path)
    assert len(moved_aside(tmp_path)) == 1
    assert "made by the other Tern" in [c.title for c in store.conversations()]
