"""Where Tern keeps its files (see backend.paths; re-exported here for the composition root)."""

from backend.paths import Paths, paths

__all__ = ["Paths", "paths"]
