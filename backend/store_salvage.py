"""Copy what can still be read from a damaged database into a fresh one, row by row.

Tables are read in the order a person cares about — conversations, then their messages, then models and
their variants, then benchmark runs and their samples — each in rowid order. A damaged page makes the
read fail for the rows it holds; the reader then looks for the first rowid after the damage that can be
read again (a doubling step, then a binary search), so one bad page costs the rows on that page and no
more. Rows that come back but are not what the schema needs (wrong types, broken JSON) are left out too.
Ids are kept, so messages stay with their conversations; messages whose conversation was lost are kept
under a stand-in conversation titled "Recovered messages".
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.store import Store
from backend.store_connection import open_read_only

log = logging.getLogger("tern.store")
TABLES = ("conversations", "messages", "models", "variants", "bench_runs", "bench_samples")
LABELS = {"conversations": "conversation", "messages": "message", "models": "model", "variants": "model file",
          "bench_runs": "benchmark run", "bench_samples": "benchmark sample"}
ROWID_MAX = 2**63 - 1
BATCH = 256


@dataclass
class SalvageReport:
    recovered: dict[str, int] = field(default_factory=dict)
    damaged: set[str] = field(default_factory=set)  # tables with rows that could not be read
    placeholders: int = 0  # stand-in conversations made for orphaned messages

    @property
    def total(self) -> int:
        return sum(self.recovered.values())

    def describe(self) -> str:
        parts = [_count(self.recovered.get(t, 0), LABELS[t]) for t in TABLES if t != "bench_samples"]
        text = ", ".join(parts)
        if self.damaged:
            text += " (some " + " and ".join(LABELS[t] + "s" for t in TABLES if t in self.damaged) + " were unreadable)"
        return text


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def salvage(old: Path, new: Store) -> SalvageReport:
    """Copy every readable row of `old` into `new` (which has the current schema); never raises for damage."""
    report = SalvageReport()
    src = open_read_only(old)
    if src is None:
        return report
    try:
        for table in TABLES:
            _copy_table(src, new, table, report)
    finally:
        src.close()
    log.info("salvaged from %s: %s", old, report.describe())
    return report


def _copy_table(src: sqlite3.Connection, new: Store, table: str, report: SalvageReport) -> None:
    columns = _columns(new.db, table)
    try:
        have = {r[1] for r in src.execute(f"PRAGMA table_info({table})")}
    except sqlite3.Error:
        have = set()
    wanted = [c for c in columns if c in have] if have else list(columns)
    if not wanted or "id" not in wanted:
        return
    with new.transaction():
        count = _copy_rows(src, new, table, wanted, columns, report)
    report.recovered[table] = count


def _copy_rows(src: sqlite3.Connection, new: Store, table: str, wanted: list[str],
               columns: dict[str, tuple[str, bool]], report: SalvageReport) -> int:
    sql = f"INSERT INTO {table} ({', '.join(wanted)}) VALUES ({', '.join('?' * len(wanted))})"
    count = 0
    for values in _readable_rows(src, table, wanted, report):
        row = dict(zip(wanted, values, strict=True))
        if not _fits(row, columns):
            report.damaged.add(table)
            continue
        try:
            _insert(new, table, sql, row, report)
        except sqlite3.Error as e:  # a constraint the damaged row breaks (a variant of a lost model…)
            log.info("salvage: %s row %s left out (%s)", table, row.get("id"), e)
            report.damaged.add(table)
            continue
        count += 1
    return count


def _insert(new: Store, table: str, sql: str, row: dict[str, Any], report: SalvageReport) -> None:
    if table == "messages":
        cid = row.get("conversation_id")
        exists = new.db.execute("SELECT 1 FROM conversations WHERE id = ?", (cid,)).fetchone()
        if exists is None and isinstance(cid, int):
            when = row.get("created_at") or 0.0
            new.db.execute("INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
                           (cid, "Recovered messages", when, when))
            report.placeholders += 1
    new.db.execute(sql, tuple(row.values()))


def _readable_rows(src: sqlite3.Connection, table: str, cols: list[str], report: SalvageReport) -> Iterator[tuple]:
    """Rows in rowid order, stepping over the ranges a damaged page makes unreadable."""
    select = f"SELECT rowid, {', '.join(cols)} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?"
    after = -ROWID_MAX - 1
    while True:
        try:
            rows = src.execute(select, (after, BATCH)).fetchall()
        except sqlite3.Error:
            rows = []
            try:  # the damage may lie further on than this batch's first row
                rows = src.execute(select, (after, 1)).fetchall()
            except sqlite3.Error:
                report.damaged.add(table)
                resume = _first_readable_after(src, table, after)
                if resume is None:
                    return
                after = resume
                continue
        if not rows:
            return
        for row in rows:
            yield tuple(row[1:])
        after = rows[-1][0]


def _first_readable_after(src: sqlite3.Connection, table: str, after: int) -> int | None:
    """The smallest x > `after` from which `rowid > x` reads again (the end of the damaged range)."""
    probe = f"SELECT rowid FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT 1"

    def readable(x: int) -> bool:
        try:
            src.execute(probe, (x,)).fetchall()
            return True
        except sqlite3.Error:
            return False

    bad, step = after, 1
    while True:
        x = min(after + step, ROWID_MAX)
        if readable(x):
            good = x
            break
        bad = x
        if x == ROWID_MAX:
            return None
        step *= 2
    while good - bad > 1:
        mid = (bad + good) // 2
        if readable(mid):
            good = mid
        else:
            bad = mid
    return good


def _columns(db: sqlite3.Connection, table: str) -> dict[str, tuple[str, bool]]:
    """Column -> (declared type, NOT NULL) in the current schema."""
    return {r[1]: (str(r[2]).upper(), bool(r[3])) for r in db.execute(f"PRAGMA table_info({table})").fetchall()}


def _fits(row: dict[str, Any], columns: dict[str, tuple[str, bool]]) -> bool:
    """Is the row what the schema and the app expect (types, NOT NULL, parseable JSON)?"""
    for name, value in row.items():
        declared, not_null = columns[name]
        if value is None:
            if not_null or name == "id":
                return False
            continue
        if declared == "INTEGER" and (not isinstance(value, int) or isinstance(value, bool)):
            return False
        if declared == "REAL" and not isinstance(value, int | float):
            return False
        if declared == "TEXT" and not isinstance(value, str):
            return False
        if name.endswith("_json"):
            try:
                json.loads(value)
            except ValueError:
                return False
    return True
