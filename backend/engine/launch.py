"""How an engine process is started: its command, its environment, and how long it may stay silent."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# An engine that sends nothing and uses no CPU for this long is declared hung and ended
# (TERN_ENGINE_HANG_S overrides it; tests use a few seconds). Prompt evaluation and decoding
# always use CPU, so a working engine is never mistaken for a hung one, however slow.
HANG_AFTER_S = 20.0
# Variables the engine must not inherit: it never talks to the Hub, so it gets no token or Hub setting.
_PRIVATE_ENV = ("HF_", "HUGGING_FACE_", "HUGGINGFACE_")


def hang_after_s() -> float:
    try:
        value = float(os.environ.get("TERN_ENGINE_HANG_S", HANG_AFTER_S))
    except ValueError:
        return HANG_AFTER_S
    return value if value > 0 else HANG_AFTER_S


def engine_env() -> dict[str, str]:
    """The environment an engine process starts with: Tern's, without Hub tokens and settings."""
    root = str(Path(__file__).resolve().parents[2])
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_PRIVATE_ENV)}
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("GGML_NO_BACKTRACE", "1")  # ggml would otherwise run gdb on abort: slow and noisy
    return env


def worker_command() -> list[str]:
    """How to start a worker: the same executable in worker mode when frozen, else `-m`."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "--engine-worker"]
    return [sys.executable, "-m", "backend.engine.worker"]
