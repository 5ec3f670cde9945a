"""The objects a Tern process shares: locations, settings, the store and the model registry.

Nothing here stops Tern from starting: a damaged database is moved aside and a fresh one started, an
unwritable one is used in memory, unusable settings fall back to defaults (`backend.store_open`,
`app.settings`). What the user should hear about that is in `notices()`; a command-line run prints
each one line on stderr as it happens (`announce`), the window shows them in its notice area.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from app.settings import Settings
from backend.errors import TernError
from backend.models.registry import Registry
from backend.paths import Paths, paths
from backend.store import Store
from backend.store_open import open_store, saving_off_advice, saving_off_text

log = logging.getLogger("tern")
# Set by the command line to print notices on stderr (once per process); the window reads notices() instead.
announce: Callable[[str], None] | None = None
_announced: set[str] = set()


class SavingOff(TernError):
    code = "saving_off"


def _paths() -> Paths:
    p = paths()
    try:
        p.ensure()
    except OSError as e:  # a read-only or full disk: the store and settings say what that means for them
        log.warning("cannot create Tern's folders: %s", e)
    return p


@dataclass
class AppContext:
    paths: Paths = field(default_factory=_paths)

    @cached_property
    def settings(self) -> Settings:
        s = Settings.load(self.paths.settings_file)
        _announce(s.notices)
        return s

    @cached_property
    def store(self) -> Store:
        store = open_store(self.paths.database)
        _announce(store.notices)
        store.on_saving_off(lambda reason: _announce([saving_off_text(reason)]))
        return store

    @cached_property
    def registry(self) -> Registry:
        return Registry(self.store)

    def notices(self) -> list[str]:
        """Everything opened so far has to tell the user (the window shows these once at start)."""
        out = list(self.settings.notices)
        if "store" in self.__dict__:
            out += self.store.notices
        return out

    def require_saving(self, doing: str) -> None:
        """Refuse a command whose only point is to record something, when nothing can be recorded."""
        if self.store.saving_off:
            raise SavingOff(f"Cannot {doing}: saving is off — {self.store.saving_off}.",
                            saving_off_advice(self.store.saving_off, "try again"))


def _announce(texts: list[str]) -> None:
    if announce is None:
        return
    for text in texts:
        if text not in _announced:
            _announced.add(text)
            announce(text)
