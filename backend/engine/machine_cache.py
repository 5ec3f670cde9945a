"""Figures measured once per machine (and per model file) and kept: a small JSON file per kind of figure.

The key of a machine is its CPU as the OS names it with its logical and physical core counts — a
figure measured on one CPU says nothing about another. The key of a model file is its name, size and
modification time (hashing a multi-GB file to look a figure up would cost seconds; a file that
changes gets a new key). Writes are atomic (a temporary file renamed over the old one) and
serialized within the process; a damaged or foreign file reads as empty and is replaced on the next
write, so a bad cache costs a re-measurement, never a crash.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from backend.engine import hardware
from backend.paths import paths

log = logging.getLogger("tern.engine")
_LOCK = threading.Lock()
VERSION = 1


@functools.cache
def cpu_key() -> str:
    """This machine's CPU as cache entries are filed under (read once: it cannot change while Tern runs)."""
    return f"{hardware.cpu_name()} | {hardware.logical_cpus()} logical | {hardware.physical_cores()} cores"


def file_key(path: str | Path) -> str:
    """`name|size|mtime_ns` of a model file (raises OSError when it cannot be read)."""
    p = Path(path)
    st = p.stat()
    return f"{p.name}|{st.st_size}|{st.st_mtime_ns}"


class JsonCache:
    """{cpu key: {key: value}} in one JSON file under the data dir."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def path(self) -> Path:
        return paths().data / self.name

    def _read(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            log.warning("%s is unreadable (%s); its figures will be measured again", self.path, e)
            return {}
        if not isinstance(doc, dict) or doc.get("version") != VERSION or not isinstance(doc.get("machines"), dict):
            return {}
        return doc["machines"]

    def get(self, key: str) -> dict[str, Any] | None:
        with _LOCK:
            entry = self._read().get(cpu_key(), {}).get(key)
        return entry if isinstance(entry, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        with _LOCK:
            machines = self._read()
            mine = machines.get(cpu_key())
            if not isinstance(mine, dict):
                mine = machines[cpu_key()] = {}
            mine[key] = value
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"version": VERSION, "machines": machines}, indent=1), encoding="utf-8")
            os.replace(tmp, self.path)

