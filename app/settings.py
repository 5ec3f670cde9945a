"""Typed settings, stored as JSON in the user config dir. Unknown or bad values fall back to defaults."""

from __future__ import annotations

import copy
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from backend.paths import paths

log = logging.getLogger("tern.settings")
THEMES = ("system", "light", "dark")


@dataclass
class Settings:
    threads: int = 0  # 0: physical cores
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

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        path = path or paths().settings_file
        s = cls()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return s
        except (OSError, ValueError) as e:
            log.warning("settings file %s is unreadable (%s); using defaults", path, e)
            return s
        for f in fields(cls):
            if f.name.startswith("_") or f.name not in raw:
                continue
            value, default = raw[f.name], getattr(s, f.name)
            if isinstance(default, bool) != isinstance(value, bool) or not isinstance(value, type(default) | int):
                log.warning("setting %s has a bad value %r; using the default", f.name, value)
                continue
            setattr(s, f.name, type(default)(value) if not isinstance(default, dict) else value)
        if s.theme not in THEMES:
            s.theme = "system"
        s.threads = max(0, s.threads)
        s.n_ctx = min(max(256, s.n_ctx), 131072)
        return s

    def to_dict(self) -> dict[str, Any]:
        # not dataclasses.asdict: it would deep-copy the listeners (bound methods of windows) too
        return {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self) if not f.name.startswith("_")}

    def save(self, path: Path | None = None) -> None:
        path = path or paths().settings_file
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")
        os.replace(tmp, path)

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
