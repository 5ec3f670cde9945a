"""The first model to suggest on the welcome page: the smallest chat-tuned model in the catalog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Suggestion:
    entry_id: str
    title: str
    size_text: str  # as the Hub lists the download
    encoding: str
    ram_need_bytes: int | None  # an estimate (listed size + KV cache + runtime), None when unknown
    ram_verdict: str | None  # "fits" | "tight" | "won't fit" in the RAM available now

    def text(self) -> str:
        ram = ""
        if self.ram_need_bytes is not None:
            ram = (f", needs ≈ {self.ram_need_bytes / 1024**3:.1f} GiB of RAM (estimate) — "
                   f"{self.ram_verdict} on this computer")
        return (f"Smallest chat model in the catalog: {self.title} — {self.size_text} download "
                f"({self.encoding}){ram}.")


def smallest_chat_model(catalog: Any) -> Suggestion | None:
    """Among chat-tuned entries, the smallest download, preferring ones checked to run here."""
    candidates = [e for e in catalog.entries if e.chat and e.weights_bytes() is not None]
    if not candidates:
        return None
    best = min(candidates, key=lambda e: (e.runs != "yes", e.weights_bytes()))
    fit = best.ram()
    f = best.default_file
    return Suggestion(best.id, best.title, f.size_text, f.encoding,
                      fit.need_bytes if fit else None, fit.verdict if fit else None)


def suggest() -> Suggestion | None:
    """Read the bundled catalog (imports the Hub client: ~0.5 s, so call it off the GUI thread)."""
    from backend.hub.catalog import load_catalog

    return smallest_chat_model(load_catalog())
