"""The bundled CPU TDP table (assets/power/cpu_tdp.csv), used only for the labelled estimate."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class TdpEntry:
    model: str
    tdp_w: float
    cores: int

    @property
    def watts_per_core(self) -> float:
        return self.tdp_w / self.cores


def _token(model: str) -> str:
    """The distinctive part of a model name: "Intel Core i7-1165G7" → "i7-1165g7"."""
    m = model.lower()
    for prefix in ("intel core ultra ", "intel core ", "intel ", "amd "):
        if m.startswith(prefix):
            return m[len(prefix) :] if prefix != "intel core ultra " else "ultra " + m[len(prefix) :]
    return m


@lru_cache(maxsize=1)
def table() -> tuple[TdpEntry, ...]:
    text = resources.files("assets.power").joinpath("cpu_tdp.csv").read_text(encoding="utf-8")
    rows = csv.reader(line for line in io.StringIO(text) if line.strip() and not line.startswith("#"))
    return tuple(TdpEntry(r[0].strip(), float(r[1]), int(r[2])) for r in rows)


def lookup(cpu_name: str) -> TdpEntry | None:
    """The table entry whose model token appears in `cpu_name` as a whole word (longest match wins)."""
    name = " " + re.sub(r"[^a-z0-9-]+", " ", cpu_name.lower().replace("(r)", "").replace("(tm)", "")) + " "
    best: TdpEntry | None = None
    for entry in table():
        token = " " + re.sub(r"[^a-z0-9-]+", " ", _token(entry.model)) + " "
        if token in name and (best is None or len(entry.model) > len(best.model)):
            best = entry
    return best
