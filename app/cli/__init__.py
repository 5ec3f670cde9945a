"""Subcommands of `tern`. Every module here with a `register(subparsers)` function is one command,
named as its module (`generate.py` is `tern generate`)."""

from __future__ import annotations

import argparse
import importlib
import pkgutil


def register_all(subparsers: argparse._SubParsersAction, only: str | None = None) -> None:  # type: ignore[type-arg]
    """Register every command, or only `only` when it names one: each command module imports its
    own backend (the Hub client, numpy, gguf…), and a command should not wait for the others'."""
    names = [m.name for m in pkgutil.iter_modules(__path__)]
    if only in names:
        names = [only]
    modules = [importlib.import_module(f"{__name__}.{name}") for name in names]
    for module in sorted(modules, key=lambda m: getattr(m, "ORDER", 50)):
        if hasattr(module, "register"):
            module.register(subparsers)
