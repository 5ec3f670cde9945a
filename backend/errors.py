"""Errors a person can read: what happened, to which file or model, and what to do next."""

from __future__ import annotations


class TernError(Exception):
    """Base for every error Tern shows to a user. `str()` is the full user-facing message."""

    code = "error"

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip() if self.hint else self.message


class ModelFileError(TernError):
    """A model file that cannot be used: missing, not GGUF, truncated, unsupported, too big."""

    def __init__(self, path: object, reason: str, hint: str = "", code: str = "bad_model") -> None:
        super().__init__(f"Cannot use model file {path}: {reason}.", hint)
        self.path = str(path)
        self.reason = reason
        self.code = code
