"""The objects a Tern process shares: locations, settings, the store and the model registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from app.settings import Settings
from backend.models.registry import Registry
from backend.paths import Paths, paths
from backend.store import Store


@dataclass
class AppContext:
    paths: Paths = field(default_factory=lambda: paths().ensure())

    @cached_property
    def settings(self) -> Settings:
        return Settings.load(self.paths.settings_file)

    @cached_property
    def store(self) -> Store:
        return Store(self.paths.database)

    @cached_property
    def registry(self) -> Registry:
        return Registry(self.store)
