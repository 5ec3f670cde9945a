"""A user action on the chat page that reads or writes the store: a failure becomes a message, never a crash."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def store_action(doing: str) -> Callable[[F], F]:
    """A user action that reads or writes the store: a failure becomes a message, never a crash.

    What the user typed stays where it was (the composer is cleared only after a successful send).
    """
    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return fn(self, *args, **kwargs)
            except (sqlite3.Error, OSError) as e:
                self.bridge.exception(e, doing, key="store")
                return None
        return guarded  # type: ignore[return-value]
    return wrap
