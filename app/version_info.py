"""`tern --version [--verbose]`: Tern's version and, verbosely, what its llama.cpp build can do."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

from app import __version__


def _dist_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def version_text(verbose: bool = False) -> str:
    lines = [f"tern {__version__}"]
    if not verbose:
        return lines[0]
    from backend.engine.build_info import build_info

    info = build_info()
    lines += [
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}"
        + (" (frozen bundle)" if getattr(sys, "frozen", False) else ""),
        f"llama-cpp-python {_dist_version('llama-cpp-python')}, PySide6 {_dist_version('PySide6-Essentials')}",
        f"CPU: {info['cpu']}",
        f"llama.cpp CPU backend: {info['backend']}",
        f"SIMD in this build: {info['simd'] or 'none reported'}",
        f"Fast ternary kernels (TQ1_0/TQ2_0): {info['ternary_fast_note']}",
    ]
    return "\n".join(lines)
