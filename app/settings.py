"""Typed settings, stored as JSON in the user config dir.

A file that is not a JSON object, or a value of the wrong type or out of range, falls back to the
default with a warning, and the file as it was is kept beside the new one (`settings.json.bad-<time>`)
instead of being overwritten when Tern next saves. A settings file that cannot be written (read-only,
a full disk) leaves the settings working in memory; `notices` says so.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from backend.chat.context import MAX_CTX, MIN_CTX
from backend.paths import paths

log = logging.getLogger("tern.settings")
THEMES = ("system", "light", "dark")
MAX_THREADS = max(64, 2 * (os.cpu_count() or 1))  # a stored value past this is damage (the dialog offers fewer)


def _in_range(lo: float, hi: float) -> Callable[[Any], bool]:
    return lambda v: math.isfinite(v) and lo <= v <= hi


# What a stored value must be, beyond its type (the type is the default's).
VALID: dict[str, Callable[[Any], bool]] = {
    "threads": _in_range(0, MAX_THREADS),
    "n_ctx": _in_range(MIN_CTX, MAX_CTX),
    "theme": lambda v: v in THEMES,
    "sampler_hz": _in_range(0.5, 100.0),
    "cpu_watts_per_core": _in_range(0.0, 200.0),
    "last_conversation": _in_range(0, 2**63 - 1),
}


@dataclass
class Settings:
    threads: int = 0  # 0: automatic — the calibration kept for the model on this CPU, else the physical cores
    n_ctx: int = 2048
    theme: str = "system"
    offline: bool = False
    keep_source: bool = False  # keep a converted model's downloaded source (default: removed once verified)
    sampler_hz: float = 10.0
    cpu_watts_per_core: float = 0.0  # 0: from the bundled TDP table
    last_model: str = ""
    last_conversation: int = 0
    ui_state: dict[str, Any] = field(default_factory=dict)

    _listeners: list[Callable[[Settings], None]] = field(default_factory=list, repr=False, compare=False)
    _notices: list[str] = field(default_factory=list, repr=False, compare=False)
    _path: Path | None = field(default=None, repr=False, compare=False)

    @property
    def notices(self) -> list[str]:
        """What to tell the user once about the settings file (replaced values, a file that cannot be saved)."""
        return self._notices

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        path = path or paths().settings_file
        s = cls(_path=path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return s
        except (OSError, ValueError) as e:
            s._set_aside(path, f"it cannot be read ({e})")
            return s
        if not isinstance(raw, dict):
            s._set_aside(path, f"it holds {type(raw).__name__} {json.dumps(raw)[:40]}, not a set of settings")
            return s
        bad = []
        for f in fields(cls):
            if f.name.startswith("_") or f.name not in raw:
                continue
            value, default = raw[f.name], getattr(s, f.name)
            if _fits(value, default) and VALID.get(f.name, lambda _v: True)(value):
                setattr(s, f.name, type(default)(value) if not isinstance(default, dict) else value)
            else:
                bad.append(f"{f.name} = {json.dumps(value)[:40]}")
        if bad:
            s._set_aside(path, "these values are not usable: " + ", ".join(bad), replaced="those values")
        return s

    def _set_aside(self, path: Path, why: str, replaced: str = "all settings") -> None:
        """Warn, and move the file aside so the next save does not overwrite what the user had."""
        kept = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(path, kept)
            where = f" The file as it was is kept as {kept}."
        except OSError as e:
            where = f" It could not be set aside ({e.strerror}); it is left as it is." if path.is_file() else ""
        text = f"The settings file {path} was not used as is: {why}. Defaults are used for {replaced}.{where}"
        log.warning("%s", text)
        self._notices.append(text)

    def to_dict(self) -> dict[str, Any]:
        # not dataclasses.asdict: it would deep-copy the listeners (bound methods of windows) too
        return {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self) if not f.name.startswith("_")}

    def save(self, path: Path | None = None) -> None:
        """Write the settings (atomically); a file that cannot be written is said once, not raised."""
        path = path or self._path or paths().settings_file
        tmp = path.with_suffix(".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as e:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
            text = f"Settings cannot be saved to {path} ({e.strerror or e}); changes last until Tern closes."
            if text not in self._notices:
                log.warning("%s", text)
                self._notices.append(text)

    def update(self, **changes: Any) -> None:
        for k, v in changes.items():
            if k.startswith("_") or not hasattr(self, k):
                raise AttributeError(k)
            setattr(self, k, v)
        self.save()
        for fn in list(self._listeners):
            fn(self)

    def subscribe(self, fn: Callable[[Settings], None]) -> None:
        self._listeners.append(fn)

    def unsubscribe(self, fn: Callable[[Settings], None]) -> None:
        """Stop calling `fn` on changes (a window or page that closes); nothing happens if it was not subscribed."""
        try:
            self._listeners.remove(fn)
        except ValueError:
            pass


def _fits(value: Any, default: Any) -> bool:
    """Is `value` of the default's type (an int is fine for a float; a bool is never a number)?"""
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))
