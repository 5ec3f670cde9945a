"""Open Tern's database so that a damaged or unwritable file never locks the user out.

- A damaged file (SQLite's quick check fails, it is not a database at all, or it is empty) is moved
  aside as `tern.sqlite3.corrupt-<time>` with its -wal/-shm files, never deleted. Tern starts a fresh
  database and copies into it what it can still read, row by row (`backend.store_salvage`), then tells
  the user once where the old file is.
- A file that cannot be written (read-only, a full disk), or one written by a newer Tern, gives a store
  that works in memory and says why saving is off.
The messages for the user are in `Store.notices`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

from backend.store import Store
from backend.store_salvage import salvage

log = logging.getLogger("tern.store")
SIDE_FILES = ("-wal", "-shm")
NEW_FILE_S = 30.0  # an empty database file younger than this is being created, not damaged


def open_store(path: str | Path, _again: bool = True) -> Store:
    path = Path(path)
    existed = path.exists()
    identity = _identity(path)
    damage = _damage(path)
    if damage is None:
        try:
            store = Store(path)
        except RuntimeError:  # written by a newer Tern: keep its file as it is, work in memory
            return _saving_off(Store.in_memory(path, "the database was written by a newer Tern; update Tern to use "
                                                     "it"))
        except sqlite3.DatabaseError as e:
            damage = f"SQLite cannot read it ({e})"
        else:
            try:  # on the file, or on the in-memory copy of an unwritable one (a copy keeps the damage)
                problems = store.quick_check()
            except sqlite3.DatabaseError as e:
                problems = [str(e)]
            if not problems:
                store.check_writable()
                if store.saving_off is not None:
                    if not existed:
                        _remove_empty(path)  # SQLite created it and could not write a byte: nothing to keep
                    return _saving_off(store)
                return store
            store.close()
            damage = f"SQLite's integrity check found damage ({_first_problem(problems)})"
    if _again and _identity(path) != identity:  # another Tern process recovered it meanwhile: open theirs
        return open_store(path, _again=False)
    return _recover(path, damage)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _first_problem(problems: list[str]) -> str:
    """SQLite's first complaint on one short line ("Page 7216: btreeInitPage() returns error code 11")."""
    lines = [ln.strip() for p in problems for ln in p.splitlines() if ln.strip() and not ln.startswith("***")]
    first = lines[0] if lines else "unknown damage"
    more = f" and {len(lines) - 1} more" if len(lines) > 1 else ""
    return (first[:100] + "…" if len(first) > 100 else first) + more


def _damage(path: Path) -> str | None:
    """A reason to call the file damaged before SQLite is asked (SQLite would silently reuse an empty file).

    An empty file only just made is another Tern process creating the database (SQLite makes the file,
    then writes it): that one is left to SQLite.
    """
    try:
        st = path.stat()
    except OSError:
        return None
    if st.st_size == 0 and time.time() - st.st_mtime > NEW_FILE_S:
        return "it was empty (0 bytes): its content was lost before Tern started"
    return None


def _recover(path: Path, damage: str) -> Store:
    log.error("database %s is damaged: %s", path, damage)
    try:
        moved = move_aside(path)
    except OSError as e:
        store = Store.in_memory(path, f"the database is damaged ({damage}) and could not be moved aside "
                                      f"({e.strerror})")
        salvage(path, store)
        return _saving_off(store)
    store = Store(path)
    report = salvage(moved, store)
    what = f"what could be read was recovered: {report.describe()}" if report.total else "nothing in it could be read"
    store.notices.append(
        f"Tern's database was damaged — {damage}. It was moved aside, not deleted: {moved}. A new database was "
        f"started and {what}."
    )
    log.warning("%s", store.notices[-1])
    return _saving_off(store) if store.saving_off else store


def _remove_empty(path: Path) -> None:
    for p in (path, *(path.with_name(path.name + s) for s in SIDE_FILES)):
        try:
            if p.is_file() and p.stat().st_size == 0:
                p.unlink()
        except OSError:
            pass


def move_aside(path: Path) -> Path:
    """Rename the database and its -wal/-shm files to `<name>.corrupt-<time>` (raises OSError)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 2
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    if path.exists():
        os.replace(path, target)
    for suffix in SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    return target


def _saving_off(store: Store) -> Store:
    if store.saving_off and not any(n.startswith("Saving is off") for n in store.notices):
        store.notices.append(saving_off_text(store.saving_off))
    return store


def saving_off_text(reason: str) -> str:
    todo = saving_off_advice(reason, "restart Tern")
    return (f"Saving is off: {reason}. Tern works, but conversations and changes made now are not kept after it "
            f"closes.{' ' + todo if todo else ''}")


def saving_off_advice(reason: str, then: str) -> str:
    """What to do about `reason` (Store.saving_off), then `then`; "" when nothing here helps (a newer Tern's
    database)."""
    if "full" in reason:
        return f"Free some disk space, then {then}."
    if "newer Tern" in reason:
        return ""
    return f"Make the folder writable (or the disk read-write), then {then}."
