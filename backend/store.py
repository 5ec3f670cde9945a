"""Tern's one SQLite database: conversations and messages, local models, benchmark runs.

WAL mode, foreign keys on, a versioned schema migrated forward at open. Each thread gets its
own connection (sqlite3 connections must not cross threads). Conversations and messages are
handled here; the model registry (`backend.models.registry`) and benchmark history
(`backend.bench.history`) keep their queries next to their own logic and share this connection.

A database that cannot be written (read-only, a full disk) does not stop Tern: the store moves to an
in-memory copy and `saving_off` says why (`backend.store_connection`). Opening checks the file first
and moves a damaged one aside (`backend.store_open.open_store`).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.store_connection import (
    LOW_DISK_BYTES,
    MemoryConnection,
    connect_file,
    explain,
    memory_copy,
    storage_failure,
)

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        model TEXT,
        system_prompt TEXT NOT NULL DEFAULT '',
        params_json TEXT NOT NULL DEFAULT '{}',
        deleted_at REAL
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        content TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'complete',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        model TEXT,
        stats_json TEXT
    );
    CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
    CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        family TEXT,
        repo TEXT,
        n_params INTEGER,
        chat INTEGER,
        license TEXT,
        synthetic INTEGER NOT NULL DEFAULT 0,
        added_at REAL NOT NULL
    );
    CREATE TABLE variants (
        id INTEGER PRIMARY KEY,
        model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        encoding TEXT NOT NULL,
        path TEXT NOT NULL UNIQUE,
        file_bytes INTEGER NOT NULL,
        sha256 TEXT,
        source TEXT NOT NULL,
        source_repo TEXT,
        source_file TEXT,
        derived_from_path TEXT,
        derived_from_sha256 TEXT,
        verified INTEGER NOT NULL DEFAULT 0,
        complete INTEGER NOT NULL DEFAULT 1,
        quarantined INTEGER NOT NULL DEFAULT 0,
        added_at REAL NOT NULL,
        info_json TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE bench_runs (
        id INTEGER PRIMARY KEY,
        created_at REAL NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        label TEXT,
        fingerprint_json TEXT NOT NULL DEFAULT '{}',
        config_json TEXT NOT NULL DEFAULT '{}',
        summary_json TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE bench_samples (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES bench_runs(id) ON DELETE CASCADE,
        side TEXT NOT NULL,
        iteration INTEGER NOT NULL,
        prompt_index INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL,
        stats_json TEXT NOT NULL DEFAULT '{}',
        energy_json TEXT NOT NULL DEFAULT '{}'
    );
    """,
    # 2: a context policy per conversation; earlier versions of a reply kept when it is regenerated
    """
    ALTER TABLE conversations ADD COLUMN context_policy TEXT NOT NULL DEFAULT 'truncate_middle';
    ALTER TABLE messages ADD COLUMN versions_json TEXT;
    ALTER TABLE messages ADD COLUMN version_pos INTEGER NOT NULL DEFAULT 0
    """,
]


# Message states. A reply is written while it streams ("streaming"); one left "streaming" when
# Tern starts was cut off by a crash or a kill, and becomes "interrupted".
STREAMING, COMPLETE, INTERRUPTED, CANCELLED, FAILED = "streaming", "complete", "interrupted", "cancelled", "error"


@dataclass
class Conversation:
    id: int
    title: str
    created_at: float
    updated_at: float
    model: str | None
    system_prompt: str
    params: dict[str, Any]
    context_policy: str = "truncate_middle"  # backend.chat.context.POLICIES


@dataclass
class Message:
    id: int
    conversation_id: int
    role: str
    content: str
    status: str
    created_at: float
    model: str | None
    stats: dict[str, Any] | None
    # A regenerated reply keeps its other versions: `versions` holds them (content, status, stats,
    # model, created_at) and the one in the columns above sits at `version_pos` among all of them.
    versions: list[dict[str, Any]] | None = None
    version_pos: int = 0

    @property
    def version_count(self) -> int:
        return 1 + len(self.versions or [])

    def all_versions(self) -> list[dict[str, Any]]:
        """Every version in order, the shown one included."""
        mine = {"content": self.content, "status": self.status, "stats": self.stats, "model": self.model,
                "created_at": self.created_at}
        others = list(self.versions or [])
        pos = max(0, min(self.version_pos, len(others)))
        return [*others[:pos], mine, *others[pos:]]


class Store:
    def __init__(self, path: str | Path) -> None:
        """Open (creating and migrating) the database at `path`.

        Raises sqlite3.DatabaseError for a damaged file and RuntimeError for one from a newer Tern; a file
        that cannot be written gives an in-memory store with `saving_off` set instead.
        """
        self._setup(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            self.fall_back_to_memory(f"its folder cannot be created ({e.strerror})")
        self._migrate()

    @classmethod
    def in_memory(cls, path: str | Path, reason: str) -> Store:
        """An empty store that saves nothing (the file at `path` is left alone), saying `reason`."""
        store = cls.__new__(cls)
        store._setup(path)
        store.fall_back_to_memory(reason, copy=False)
        store._migrate()
        return store

    def _setup(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.RLock()  # transactions; and every statement once in memory
        self._memory: MemoryConnection | None = None
        self.saving_off: str | None = None  # why changes are not being saved, or None
        self.notices: list[str] = []  # things to tell the user once (a damaged database moved aside…)
        self._saving_off_listeners: list[Callable[[str], None]] = []

    @property
    def db(self) -> sqlite3.Connection:
        if self._memory is not None:
            return self._memory
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = connect_file(self.path, self)
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA foreign_keys=ON")
                conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.Error as e:
                reason = storage_failure(e)
                if reason is None:
                    raise
                return self.fall_back_to_memory(explain(reason, self.path))
            self._local.conn = conn
        return conn

    def fall_back_to_memory(self, reason: str, copy: bool = True) -> sqlite3.Connection:
        """Stop writing to the file: from now on every thread uses an in-memory copy of what it holds (or, with
        `copy` False, an empty database). Happens once; safe from any thread."""
        with self._lock:
            if self._memory is not None:
                return self._memory
            conn, how = memory_copy(self.path if copy else None, self._lock)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys=ON")
            self._memory = conn
            self.saving_off = f"{reason} ({self.path})"
            if how == "unreadable":
                self.saving_off += "; what it held could not be read either"
        for fn in list(self._saving_off_listeners):
            fn(self.saving_off)
        return conn

    def on_saving_off(self, fn: Callable[[str], None]) -> None:
        """Call `fn(reason)` (from whichever thread hit the failure) if saving stops after this point."""
        self._saving_off_listeners.append(fn)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection to the file (the in-memory copy lives as long as the store)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def check_writable(self) -> None:
        """Find out now, not at the first save, whether the file can be written; if not, go to memory.

        Rewriting the schema version with its own value, then rolling back, writes nothing to the file but
        is refused by a read-only one; a disk with (almost) no space left would refuse the next page written,
        so it counts as full already.
        """
        with self._lock:
            if self._memory is not None:
                return
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(f"PRAGMA user_version={int(db.execute('PRAGMA user_version').fetchone()[0])}")
            finally:
                db.execute("ROLLBACK")
        try:
            free = shutil.disk_usage(self.path.parent).free
        except OSError:
            return
        if free < LOW_DISK_BYTES:
            self.fall_back_to_memory("the disk is full")

    def quick_check(self) -> list[str]:
        """SQLite's quick integrity check: [] when the file is sound, else what is wrong (first few problems)."""
        rows = [r[0] for r in self.db.execute("PRAGMA quick_check(5)").fetchall()]
        return [] if rows == ["ok"] else rows

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        with self.transaction() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > len(MIGRATIONS):
                raise RuntimeError(
                    f"The database {self.path} was written by a newer Tern (schema {version}); update Tern."
                )
            for i, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in filter(str.strip, script.split(";")):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version={i}")

    # -- conversations ------------------------------------------------------------------------
    def create_conversation(self, title: str = "New chat", model: str | None = None,
                            system_prompt: str = "", params: dict[str, Any] | None = None) -> Conversation:
        now = time.time()
        cur = self.db.execute(
            "INSERT INTO conversations (title, created_at, updated_at, model, system_prompt, params_json)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (title, now, now, model, system_prompt, json.dumps(params or {})),
        )
        return self.conversation(int(cur.lastrowid))  # type: ignore[arg-type]

    def conversation(self, cid: int) -> Conversation:
        row = self.db.execute("SELECT * FROM conversations WHERE id = ?", (cid,)).fetchone()
        if row is None:
            raise KeyError(cid)
        return _conversation(row)

    def conversations(self, search: str = "") -> list[Conversation]:
        """Live conversations, most recently active first; `search` matches titles and messages."""
        if search:
            like = f"%{search}%"
            rows = self.db.execute(
                "SELECT * FROM conversations c WHERE deleted_at IS NULL AND (title LIKE ? OR EXISTS"
                " (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.content LIKE ?))"
                " ORDER BY updated_at DESC, id DESC",
                (like, like),
            )
        else:
            rows = self.db.execute(
                "SELECT * FROM conversations WHERE deleted_at IS NULL ORDER BY updated_at DESC, id DESC"
            )
        return [_conversation(r) for r in rows]

    def update_conversation(self, cid: int, **fields: Any) -> None:
        allowed = {"title", "model", "system_prompt", "params", "context_policy"}
        sets, values = [], []
        for key, value in fields.items():
            if key not in allowed:
                raise ValueError(key)
            if key == "params":
                key, value = "params_json", json.dumps(value)
            sets.append(f"{key} = ?")
            values.append(value)
        if sets:
            self.db.execute(f"UPDATE conversations SET {', '.join(sets)} WHERE id = ?", (*values, cid))

    def touch(self, cid: int) -> None:
        self.db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (time.time(), cid))

    def delete_conversation(self, cid: int) -> None:
        """Soft delete, so the window can offer Undo; `purge_deleted` removes for good."""
        self.db.execute("UPDATE conversations SET deleted_at = ? WHERE id = ?", (time.time(), cid))

    def restore_conversation(self, cid: int) -> None:
        self.db.execute("UPDATE conversations SET deleted_at = NULL WHERE id = ?", (cid,))

    def purge_deleted(self, older_than_s: float = 0.0) -> int:
        cur = self.db.execute(
            "DELETE FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at <= ?",
            (time.time() - older_than_s,),
        )
        return cur.rowcount

    # -- messages -----------------------------------------------------------------------------
    def add_message(self, cid: int, role: str, content: str, status: str = COMPLETE,
                    model: str | None = None, stats: dict[str, Any] | None = None) -> Message:
        now = time.time()
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO messages (conversation_id, role, content, status, created_at, updated_at, model,"
                " stats_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (cid, role, content, status, now, now, model, json.dumps(stats) if stats else None),
            )
            db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, cid))
        return self.message(int(cur.lastrowid))  # type: ignore[arg-type]

    def message(self, mid: int) -> Message:
        row = self.db.execute("SELECT * FROM messages WHERE id = ?", (mid,)).fetchone()
        if row is None:
            raise KeyError(mid)
        return _message(row)

    def messages(self, cid: int) -> list[Message]:
        rows = self.db.execute("SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (cid,))
        return [_message(r) for r in rows]

    def update_message(self, mid: int, content: str | None = None, status: str | None = None,
                       stats: dict[str, Any] | None = None, model: str | None = None) -> None:
        sets, values = ["updated_at = ?"], [time.time()]
        if model is not None:
            sets.append("model = ?")
            values.append(model)
        if content is not None:
            sets.append("content = ?")
            values.append(content)
        if status is not None:
            sets.append("status = ?")
            values.append(status)
        if stats is not None:
            sets.append("stats_json = ?")
            values.append(json.dumps(stats))
        self.db.execute(f"UPDATE messages SET {', '.join(sets)} WHERE id = ?", (*values, mid))

    def set_versions(self, mid: int, shown: dict[str, Any], others: list[dict[str, Any]], pos: int) -> None:
        """Show version `shown` of reply `mid`, keeping `others` around it (`pos`: where `shown` sits)."""
        stats = shown.get("stats")
        self.db.execute(
            "UPDATE messages SET content = ?, status = ?, stats_json = ?, model = ?, created_at = ?,"
            " versions_json = ?, version_pos = ?, updated_at = ? WHERE id = ?",
            (shown.get("content", ""), shown.get("status", COMPLETE), json.dumps(stats) if stats else None,
             shown.get("model"), shown.get("created_at", time.time()), json.dumps(others) if others else None,
             pos, time.time(), mid),
        )

    def delete_message(self, mid: int) -> Message | None:
        """Delete one message; returns it (for Undo: `restore_message`), or None if it was not there."""
        try:
            msg = self.message(mid)
        except KeyError:
            return None
        self.db.execute("DELETE FROM messages WHERE id = ?", (mid,))
        return msg

    def restore_message(self, m: Message) -> Message:
        """Put a deleted message back where it was (its id, when no later message took it)."""
        taken = self.db.execute("SELECT 1 FROM messages WHERE id = ?", (m.id,)).fetchone() is not None
        cur = self.db.execute(
            "INSERT INTO messages (id, conversation_id, role, content, status, created_at, updated_at, model,"
            " stats_json, versions_json, version_pos) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (None if taken else m.id, m.conversation_id, m.role, m.content, m.status, m.created_at, time.time(),
             m.model, json.dumps(m.stats) if m.stats else None, json.dumps(m.versions) if m.versions else None,
             m.version_pos),
        )
        return self.message(int(cur.lastrowid))  # type: ignore[arg-type]

    def delete_messages_from(self, cid: int, mid: int) -> None:
        """Delete message `mid` and every later one (edit-and-resend, regenerate)."""
        self.db.execute("DELETE FROM messages WHERE conversation_id = ? AND id >= ?", (cid, mid))

    def mark_interrupted(self) -> int:
        """At start-up: replies still 'streaming' were cut off by a crash or a kill."""
        cur = self.db.execute("UPDATE messages SET status = ? WHERE status = ?", (INTERRUPTED, STREAMING))
        return cur.rowcount


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(row["id"], row["title"], row["created_at"], row["updated_at"], row["model"],
                        row["system_prompt"], json.loads(row["params_json"] or "{}"), row["context_policy"])


def _message(row: sqlite3.Row) -> Message:
    stats = json.loads(row["stats_json"]) if row["stats_json"] else None
    versions = json.loads(row["versions_json"]) if row["versions_json"] else None
    return Message(row["id"], row["conversation_id"], row["role"], row["content"], row["status"],
                   row["created_at"], row["model"], stats, versions, int(row["version_pos"] or 0))
