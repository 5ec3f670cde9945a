"""Tern's version and what its llama.cpp build does on this CPU: `tern --version [--verbose]`, the About box.

`about_rows()` gives the About box its figures as (label, value, how obtained) rows, so the
window and the command line say the same thing: which CPU backend variant is in use (a portable
bundle picks one at start), and whether the fast ternary kernels (AVX2 on x86, NEON on ARM) are
available here. Without them Tern still runs; it says ternary models will be slow.
"""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass

from app import APP_ID, APP_NAME, __version__


def _module_version(name: str) -> str:
    """A package's version from the module itself (works in a frozen bundle without dist-info)."""
    try:
        module = __import__(name)
    except ImportError:
        return "not installed"
    return str(getattr(module, "__version__", "unknown"))


@dataclass(frozen=True)
class AboutRow:
    label: str
    value: str
    source: str  # how the figure was obtained, for a tooltip


def frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def about_rows() -> list[AboutRow]:
    """Everything the About box shows, in order. Loads the llama.cpp CPU backend if not yet loaded."""
    from backend.engine.build_info import build_info
    from backend.paths import paths

    info = build_info()
    loc = paths()
    portable = info["backend_kind"] == "portable"
    return [
        AboutRow("Version", f"{APP_NAME} {__version__}", f"app id {APP_ID}"),
        AboutRow(
            "Runs as",
            ("frozen bundle" if frozen() else "Python package")
            + f", Python {platform.python_version()} on {platform.system()} {platform.machine()}",
            "this process",
        ),
        AboutRow(
            "Libraries",
            f"llama-cpp-python {_module_version('llama_cpp')}, PySide6 {_module_version('PySide6')}",
            "module versions",
        ),
        AboutRow(
            "Engine patches",
            ", ".join(info["patches"]) if info["patches"]
            else "none — a stock llama-cpp-python: BitNet b1.58 2B-4T's ReLU² graph is missing",
            "llama_cpp/tern_engine.json, written by Tern's engine build (packaging/engine)",
        ),
        AboutRow("CPU", info["cpu"], "read from the operating system"),
        AboutRow(
            "llama.cpp CPU backend",
            f"{info['backend']} — portable build" if portable else info["backend"],
            "the variant library loaded at start, chosen by ggml's own CPU scoring"
            if portable
            else "compiled for the CPU that built it",
        ),
        AboutRow(
            "SIMD in this build",
            info["simd"] or "none reported",
            "llama_print_system_info() of the loaded backend",
        ),
        AboutRow(
            "Fast ternary kernels",
            info["ternary_fast_note"],
            "TQ1_0/TQ2_0 kernels need AVX2 on x86 or NEON on ARM; otherwise a scalar fallback runs",
        ),
        AboutRow("Data", str(loc.data), "platformdirs (TERN_HOME overrides)"),
        AboutRow("Settings", str(loc.settings_file), "platformdirs (TERN_HOME overrides)"),
    ]


def ternary_warning() -> str | None:
    """A sentence to show when ternary models will be slow on this CPU, else None."""
    from backend.engine.build_info import build_info

    info = build_info()
    if info["ternary_fast"]:
        return None
    return (
        f"Fast ternary kernels: {info['ternary_fast_note']} ({info['cpu']}). Everything else in Tern works."
    )


def about_text() -> str:
    """The About box as plain text (also `tern --version --verbose`)."""
    return "\n".join(f"{r.label}: {r.value}" for r in about_rows())


def version_text(verbose: bool = False) -> str:
    if not verbose:
        return f"tern {__version__}"
    return about_text()
