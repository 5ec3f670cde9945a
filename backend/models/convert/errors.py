"""Errors of the converter: what cannot be converted, and why, naming the repo or file."""

from __future__ import annotations

from backend.errors import TernError
from backend.text import printable


def clean(text: object, limit: int = 200) -> str:
    """A string from a file, safe to print (backend.text.printable: escape sequences, control characters and
    bidirectional overrides removed), its length bounded."""
    s = printable(str(text))
    return s if len(s) <= limit else s[: limit - 1] + "…"


class ConvertError(TernError):
    """A source that cannot be converted. `source` names the repo or file; `reason` says why."""

    code = "not_convertible"

    def __init__(self, source: object, reason: str, hint: str = "", code: str | None = None) -> None:
        super().__init__(f"Cannot convert {clean(source)}: {reason}.", hint)
        self.source = clean(source)
        self.reason = reason
        if code:
            self.code = code


class ConvertCancelled(TernError):
    code = "cancelled"
