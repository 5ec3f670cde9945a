"""Import one of packaging/'s stand-alone scripts (build_wheel.py, engine_check.py) as a module for a test."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_script(monkeypatch: pytest.MonkeyPatch, path: Path, name: str) -> ModuleType:
    """`path` run as module `name`, registered in sys.modules for this test only (dataclasses need it)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module
