"""The bundle carries the uvicorn modules the server asks for by name (import analysis cannot see them)."""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn.config

from backend.server.local import UVICORN_PARTS

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "packaging"))
import bundle_contents  # noqa: E402


def test_every_uvicorn_part_the_server_names_is_bundled() -> None:
    tables = {"http": uvicorn.config.HTTP_PROTOCOLS, "loop": uvicorn.config.LOOP_FACTORIES,
              "lifespan": uvicorn.config.LIFESPAN}
    needed = {tables[k][v].split(":")[0] for k, v in UVICORN_PARTS.items() if k in tables}
    assert needed <= set(bundle_contents.hiddenimports()), needed - set(bundle_contents.hiddenimports())
    assert UVICORN_PARTS["ws"] == "none"  # no websockets library to bundle


def test_the_openai_client_stays_out_of_the_bundle() -> None:
    assert "openai" in bundle_contents.EXCLUDES
