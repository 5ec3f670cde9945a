"""The one message bridge: every error, warning or notice a user should see goes through here.

Workers, controllers and crash hooks post a `Notice`; the window's banner area shows it with
its next step as buttons. Posting from another thread is safe (the signal is queued to the GUI
thread). Nothing is shown as a raw traceback: exceptions are turned into words by `describe`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from backend.errors import TernError
from backend.paths import paths

log = logging.getLogger("tern.ui")

ERROR, WARNING, INFO = "error", "warning", "info"


@dataclass
class Notice:
    level: str
    text: str
    hint: str = ""
    actions: list[tuple[str, Callable[[], None]]] = field(default_factory=list)
    key: str = ""  # a notice with the same key replaces the earlier one
    timeout_ms: int = 0  # 0: stays until dismissed


class MessageBridge(QObject):
    posted = Signal(object)  # Notice
    dismissed = Signal(str)  # key

    def post(self, notice: Notice) -> Notice:
        log.log(logging.ERROR if notice.level == ERROR else logging.INFO, "notice (%s): %s %s",
                notice.level, notice.text, notice.hint)
        self.posted.emit(notice)
        return notice

    def error(self, text: str, hint: str = "", actions: list[tuple[str, Callable[[], None]]] | None = None,
              key: str = "") -> Notice:
        return self.post(Notice(ERROR, text, hint, actions or [], key))

    def info(self, text: str, hint: str = "", actions: list[tuple[str, Callable[[], None]]] | None = None,
             key: str = "", timeout_ms: int = 0) -> Notice:
        return self.post(Notice(INFO, text, hint, actions or [], key, timeout_ms))

    def warning(self, text: str, hint: str = "", actions: list[tuple[str, Callable[[], None]]] | None = None,
                key: str = "") -> Notice:
        return self.post(Notice(WARNING, text, hint, actions or [], key))

    def exception(self, exc: BaseException, doing: str,
                  actions: list[tuple[str, Callable[[], None]]] | None = None, key: str = "") -> Notice:
        text, hint = describe(exc, doing)
        if not isinstance(exc, TernError):
            log.error("error while %s", doing, exc_info=exc)
        return self.error(text, hint, actions, key)

    def dismiss(self, key: str) -> None:
        self.dismissed.emit(key)


def log_file_hint() -> str:
    return f"Details are in the log file {paths().logs / 'tern.log'}."


def describe(exc: BaseException, doing: str) -> tuple[str, str]:
    """(message, next step) for any exception, in words a user can act on."""
    if isinstance(exc, TernError):
        return exc.message, exc.hint
    if isinstance(exc, sqlite3.Error):
        return (f"Tern could not save or read your conversations while {doing} ({exc}).",
                f"Check that the disk is not full and that {paths().database} is writable. "
                + log_file_hint())
    if isinstance(exc, PermissionError):
        return f"Permission denied while {doing}: {exc.filename or exc}.", "Check the folder's permissions."
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"A file operation failed while {doing}{where}: {exc.strerror or exc}.", log_file_hint()
    return (f"Something went wrong inside Tern while {doing} ({type(exc).__name__}).",
            "Your conversations are saved. " + log_file_hint())
