"""What the window and its pages are given by the composition root (app/gui.py), as plain protocols.

`ui` never imports `app`: the composition root passes its objects in, and these protocols say which
parts of them the widgets use — the settings (typed values, change listeners), Tern's locations,
the store and model registry, where the Hugging Face token is kept, and the name and version shown
in the window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from backend.models.registry import Registry
from backend.paths import Paths
from backend.store import Store


class SettingsLike(Protocol):
    """app.settings.Settings as the widgets see it."""

    threads: int
    n_ctx: int
    theme: str
    offline: bool
    keep_source: bool
    sampler_hz: float
    cpu_watts_per_core: float
    last_model: str
    last_conversation: int
    ui_state: dict[str, Any]

    def update(self, **changes: Any) -> None: ...

    def subscribe(self, fn: Callable[[Any], None]) -> None: ...

    def unsubscribe(self, fn: Callable[[Any], None]) -> None: ...


class TokenStore(Protocol):
    """Where the Hugging Face token is kept (app.secrets): never in the settings file or the log."""

    def storage(self) -> str: ...

    def location(self) -> str | None: ...

    def get_hf_token(self) -> str | None: ...

    def set_hf_token(self, token: str | None) -> str: ...


class Context(Protocol):
    """The objects a Tern process shares (app.context.AppContext)."""

    paths: Paths

    @property
    def settings(self) -> SettingsLike: ...

    @property
    def store(self) -> Store: ...

    @property
    def registry(self) -> Registry: ...


@dataclass(frozen=True)
class About:
    """The application's name and version, as the title bar and the benchmark records show them."""

    name: str
    version: str
