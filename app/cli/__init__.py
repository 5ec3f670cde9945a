"""Subcommands of `tern`. Every module here with a `register(subparsers)` function is one command."""

from __future__ import annotations

import argparse
import importlib
import pkgutil


def register_all(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    modules = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)]
    for module in sorted(modules, key=lambda m: getattr(m, "ORDER", 50)):
        if hasattr(module, "register"):
            module.register(subparsers)
