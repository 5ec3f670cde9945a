"""The request log as a table: one row per request the local server answered, newest first."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from backend import units
from backend.server.requestlog import RequestRecord

COLUMNS = ("Time", "Model", "Request", "Tokens", "TTFT", "Decode", "Energy", "Result")
KEEP = 500
_Index = QModelIndex | QPersistentModelIndex


class RequestLogModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[RequestRecord] = []

    def add(self, record: RequestRecord) -> None:
        self.beginInsertRows(QModelIndex(), 0, 0)
        self.rows.insert(0, record)
        self.endInsertRows()
        if len(self.rows) > KEEP:
            self.beginRemoveRows(QModelIndex(), KEEP, len(self.rows) - 1)
            del self.rows[KEEP:]
            self.endRemoveRows()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        r = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return cells(r)[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip(r)
        if role == Qt.ItemDataRole.TextAlignmentRole and 3 <= index.column() <= 6:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def cells(r: RequestRecord) -> tuple[str, ...]:
    kind = ("chat" if r.endpoint.endswith("chat/completions") else "completion" if r.endpoint.endswith(
        "/completions") else r.endpoint) + (" · stream" if r.stream else "")
    tokens = units.DASH if r.prompt_tokens is None else f"{r.prompt_tokens:,} + {r.completion_tokens or 0:,}"
    result = {"ok": r.finish_reason or "ok", "cancelled": "cancelled"}.get(r.outcome, f"error {r.status}")
    return (time.strftime("%H:%M:%S", time.localtime(r.t)), r.model or units.DASH, kind, tokens, units.ms(r.ttft_ms),
            units.tps(r.decode_tps), units.per_token(r.j_per_token), result)


def tooltip(r: RequestRecord) -> str:
    lines = [f"{r.endpoint} → {r.status or 'no answer (the client left)'}"]
    if r.message:
        lines.append(r.message)
    if r.j_per_token is not None:
        lines.append(f"Energy: {r.energy_label}")
    elif r.energy_reason:
        lines.append(f"Energy per token not measured: {r.energy_reason}")
    return "\n".join(lines)
