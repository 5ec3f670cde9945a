"""Shared printing for CLI commands: human units and JSON lines."""

from __future__ import annotations

import json
import sys
from typing import Any


def emit_json(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def mib(n: float | None) -> str:
    return "—" if n is None else f"{n / 1024**2:,.0f} MiB"


def size(n: float | None) -> str:
    if n is None:
        return "—"
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= div:
            return f"{n / div:,.2f} {unit}"
    return f"{n:,.0f} B"


def num(v: float | None, fmt: str = "{:.1f}", unit: str = "") -> str:
    return "—" if v is None else fmt.format(v) + unit
