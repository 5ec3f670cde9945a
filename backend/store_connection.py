"""How the store talks to SQLite, and how it keeps working when the database file cannot be written.

Normally each thread has its own connection to the file (`FileConnection`). When a write fails because
the file cannot be written — a read-only file or folder, a full disk, an I/O error — the store switches,
once, to an in-memory copy of what the file held (`MemoryConnection`, one connection shared by every
thread behind a lock). The statement that failed, and the transaction it was part of, are replayed there,
so the caller never sees the failure: Tern keeps working with saving off, and says so (`Store.saving_off`).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backend.store import Store

# SQLite result codes meaning "this file cannot be written now" (not "this file is damaged").
_REASONS = {
    "SQLITE_FULL": "the disk is full",
    "SQLITE_READONLY": "the database or its folder is read-only",
    "SQLITE_CANTOPEN": "the database file cannot be opened for writing",
    "SQLITE_PERM": "Tern is not allowed to write the database",
    "SQLITE_IOERR": "the disk reported an error while writing",
}


def storage_failure(e: BaseException) -> str | None:
    """Why `e` means the database cannot be written, in a person's words; None if it means something else."""
    name = getattr(e, "sqlite_errorname", "") or ""
    for prefix, reason in _REASONS.items():
        if name == prefix or name.startswith(prefix + "_"):
            return reason
    text = str(e).lower()
    if "disk is full" in text or "readonly database" in text or "read-only file system" in text:
        return "the disk is full" if "full" in text else "the database or its folder is read-only"
    return None


LOW_DISK_BYTES = 64 * 1024  # less free space than this and the next save would fail: call the disk full


def explain(reason: str, path: Path) -> str:
    """Say more exactly why `path` cannot be written, from the file system (SQLite's codes overlap)."""
    folder = path.parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "the disk holding the database is mounted read-only"
        if shutil.disk_usage(folder).free < LOW_DISK_BYTES:
            return "the disk is full"
        if not os.access(folder, os.W_OK):
            return "the database's folder is read-only"
        if path.exists() and not os.access(path, os.W_OK):
            return "the database file is read-only"
    except (OSError, AttributeError):  # no statvfs on Windows: SQLite's reason stands
        pass
    return reason


class FileConnection(sqlite3.Connection):
    """A connection to the database file that hands over to the in-memory copy when the file cannot be written."""

    owner: Store | None = None
    retired = False  # the store has moved to memory: every statement goes there
    tx_log: list[tuple[str, Any]] | None = None  # statements of the open transaction, for a replay

    def execute(self, sql: str, parameters: Any = (), /) -> Any:  # type: ignore[override]
        if self.retired and self.owner is not None:
            return self.owner.db.execute(sql, parameters)
        try:
            cursor = super().execute(sql, parameters)
        except sqlite3.Error as e:
            reason = storage_failure(e)
            if reason is None or self.owner is None:
                raise
            return self._hand_over(sql, parameters, reason)
        verb = sql.lstrip()[:8].upper()
        if verb.startswith("BEGIN"):
            self.tx_log = [(sql, parameters)]
        elif verb.startswith(("COMMIT", "ROLLBACK", "END")):
            self.tx_log = None
        elif self.tx_log is not None:
            self.tx_log.append((sql, parameters))
        return cursor

    def _hand_over(self, sql: str, parameters: Any, reason: str) -> Any:
        assert self.owner is not None
        replay, self.tx_log = self.tx_log, None
        if replay is not None:
            try:
                super().execute("ROLLBACK")
            except sqlite3.Error:
                pass
        self.retired = True
        memory = self.owner.fall_back_to_memory(explain(reason, self.owner.path))
        for statement, params in replay or []:
            memory.execute(statement, params)
        return memory.execute(sql, parameters)


class Rows:
    """A statement's result read in full while the shared connection was locked (no cursor outlives the lock)."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._rows = cursor.fetchall()
        self.lastrowid = cursor.lastrowid
        self.rowcount = cursor.rowcount
        self.description = cursor.description

    def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Any:
        return iter(self.fetchall())


class MemoryConnection(sqlite3.Connection):
    """The in-memory copy: one connection for every thread, each statement run and read under one lock."""

    lock: threading.RLock

    def execute(self, sql: str, parameters: Any = (), /) -> Any:  # type: ignore[override]
        with self.lock:
            return Rows(super().execute(sql, parameters))


def connect_file(path: Path, owner: Store) -> FileConnection:
    conn = sqlite3.connect(path, timeout=10, isolation_level=None, factory=FileConnection, check_same_thread=True)
    conn.owner = owner
    return conn


def memory_copy(path: Path | None, lock: threading.RLock) -> tuple[MemoryConnection, str]:
    """An in-memory database holding what `path` holds (if it can be read); also says how the copy went."""
    conn = sqlite3.connect(":memory:", isolation_level=None, factory=MemoryConnection, check_same_thread=False)
    conn.lock = lock
    if path is None or not path.exists():
        return conn, "empty"
    src = open_read_only(path)
    if src is None:
        return conn, "unreadable"
    try:
        src.backup(conn)
        return conn, "copied"
    except sqlite3.Error:
        return conn, "unreadable"
    finally:
        src.close()


def open_read_only(path: Path) -> sqlite3.Connection | None:
    """`path` opened for reading only and checked readable; None when SQLite cannot read it."""
    for query in ("mode=ro", "mode=ro&immutable=1"):  # immutable: a read-only folder cannot hold the -shm file
        try:
            conn = sqlite3.connect(f"{path.absolute().as_uri()}?{query}", uri=True)
        except sqlite3.Error:
            continue
        try:
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            return conn
        except sqlite3.Error:
            conn.close()
    return None
