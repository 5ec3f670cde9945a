"""Reading small sysfs files through an injectable reader, so tests can fake trees and errors.

Every Linux power reader takes a root path and a `Reader`. Tests build fake trees under a temp
dir and inject errors (CI runs as root, so chmod alone cannot make a file unreadable there).
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

Reader = Callable[[Path], str]


def read_text(path: Path) -> str:
    """The stripped contents of one sysfs attribute."""
    with open(path, encoding="ascii", errors="replace") as f:
        return f.read().strip()


def read_int(reader: Reader, path: Path) -> int:
    text = reader(path)
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{path} holds {text!r}, not a number") from None


def is_denied(e: OSError) -> bool:
    return isinstance(e, PermissionError) or e.errno in (errno.EACCES, errno.EPERM)


def optional_text(reader: Reader, path: Path) -> str | None:
    """A file's text, or None when it does not exist (attributes vary between drivers)."""
    try:
        return reader(path)
    except FileNotFoundError:
        return None
