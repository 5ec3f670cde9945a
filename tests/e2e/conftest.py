"""Fixtures for the e2e tests of `tern serve`: a Tern home with tiny models registered, and servers on it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.conftest import CLOSED_ENDPOINT
from tests.support import gguf_files
from tests.support.serve import Serve, register

API_KEY = "test-key-0123456789"


@pytest.fixture(scope="module")
def serve_home(tmp_path_factory: pytest.TempPathFactory, tiny_models: dict[str, Path],
               long_tiny_models: dict[str, Path]) -> Path:
    """A Tern home whose registry holds `tiny` (TQ2_0, F16), `long` (64k context) and `huge` (a sparse
    file larger than this machine's RAM)."""
    home = tmp_path_factory.mktemp("serve-home")
    register(home, "tiny", {"tq2_0": tiny_models["tq2_0"], "f16": tiny_models["f16"]})
    register(home, "long", {"tq2_0": long_tiny_models["tq2_0"]})
    huge = gguf_files.larger_than_ram(tiny_models["tq2_0"], home / "huge-TQ2_0.gguf",
                                      2 * psutil.virtual_memory().total)
    register(home, "huge", {"tq2_0": huge})
    return home


def serve_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TERN_"))}
    env.update(TERN_HOME=str(home), HF_HOME=str(home / "hf"), HF_ENDPOINT=CLOSED_ENDPOINT,
               HF_HUB_DISABLE_TELEMETRY="1")
    return env


@pytest.fixture(scope="module")
def server(serve_home: Path) -> Iterator[Serve]:
    """`tern serve` with no key, on 127.0.0.1, a 64k context (the tiny model keeps its own 2k)."""
    s = Serve.start("--ctx", "65536", env=serve_env(serve_home))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def strict_server(serve_home: Path) -> Iterator[Serve]:
    """`tern serve` with an API key, no queue (one request per model at a time) and one CORS origin."""
    s = Serve.start("--api-key", API_KEY, "--max-queue", "0", "--ctx", "65536",
                    "--cors-origin", "http://localhost:3000", env=serve_env(serve_home))
    yield s
    s.stop()
