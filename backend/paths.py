"""Where Tern keeps its files: platformdirs locations, all overridable with TERN_HOME.

Lives in backend (not app) because backend modules need the data dir too; app re-exports it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_DIR_NAME = "Tern"


@dataclass(frozen=True)
class Paths:
    data: Path
    config: Path
    cache: Path
    logs: Path

    @property
    def database(self) -> Path:
        return self.data / "tern.sqlite3"

    @property
    def models(self) -> Path:
        """Derived variants, imported copies and synthetic models (Hub files stay in the HF cache)."""
        return self.data / "models"

    @property
    def demo(self) -> Path:
        return self.models / "demo"

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.json"

    def ensure(self) -> Paths:
        for p in (self.data, self.config, self.cache, self.logs, self.models):
            p.mkdir(parents=True, exist_ok=True)
        return self


def paths() -> Paths:
    """The current locations; read the environment each time so tests can switch TERN_HOME."""
    home = os.environ.get("TERN_HOME")
    if home:
        root = Path(home).expanduser().resolve()
        return Paths(root / "data", root / "config", root / "cache", root / "logs")
    return Paths(
        Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False)),
        Path(platformdirs.user_config_dir(APP_DIR_NAME, appauthor=False)),
        Path(platformdirs.user_cache_dir(APP_DIR_NAME, appauthor=False)),
        Path(platformdirs.user_log_dir(APP_DIR_NAME, appauthor=False)),
    )
