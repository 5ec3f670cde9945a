"""Real damaged databases for tests: a filled store, then bytes overwritten where SQLite keeps a table's rows."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from backend.store import Store


def filled_store(path: Path, conversations: int = 6, messages_each: int = 60) -> dict[str, int]:
    """A database with conversations, messages (enough for many pages), a model and a benchmark run.

    Returns the counts written. The store is closed (and checkpointed) so the file holds everything.
    """
    store = Store(path)
    for c in range(conversations):
        conv = store.create_conversation(f"Conversation {c}", model="demo")
        for m in range(messages_each):
            role = "user" if m % 2 == 0 else "assistant"
            store.add_message(conv.id, role, f"message {m} of conversation {c}: " + "words " * 30)
    db = store.db
    db.execute("INSERT INTO models (name, added_at) VALUES ('demo', 0)")
    db.execute("INSERT INTO variants (model_id, encoding, path, file_bytes, source, added_at)"
               " VALUES (1, 'TQ2_0', '/models/demo.gguf', 1000, 'synthetic', 0)")
    db.execute("INSERT INTO bench_runs (created_at, kind, status) VALUES (0, 'pair', 'complete')")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return {"conversations": conversations, "messages": conversations * messages_each, "models": 1, "bench_runs": 1}


def leaf_pages(path: Path, table: str) -> list[int]:
    """Page numbers of `table`'s b-tree leaves (SQLite's dbstat virtual table)."""
    with sqlite3.connect(path) as db:
        return [r[0] for r in db.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno", (table,))]


def overwrite_page(path: Path, pageno: int, seed: int = 3) -> None:
    """Fill one page with random bytes, as a bad sector or a stray write would."""
    with sqlite3.connect(path) as db:
        size = db.execute("PRAGMA page_size").fetchone()[0]
    with open(path, "r+b") as f:
        f.seek((pageno - 1) * size)
        f.write(random.Random(seed).randbytes(size))


def garbage(path: Path, size: int = 40960, seed: int = 5) -> None:
    path.write_bytes(random.Random(seed).randbytes(size))
