"""Fixtures shared by every test: an isolated TERN_HOME, no internet, synthetic models."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from backend.models.synth import make_pair
from tests.support.hub_server import hub_server, local_hub  # noqa: F401 - shared fixtures: the local Hub

# Nothing in a test may reach the Hub: point huggingface_hub at a closed local port unless a
# test starts the local Hub server (tests/support/hub_server.py) and sets HF_ENDPOINT itself.
CLOSED_ENDPOINT = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def tern_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "tern-home"
    monkeypatch.setenv("TERN_HOME", str(home))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_ENDPOINT", CLOSED_ENDPOINT)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("TERN_KEYRING", "0")  # never the developer's own keyring; tests/unit/test_secrets.py opts in
    return home


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny synthetic model in F16, TQ2_0 and TQ1_0, all of seed 7 (the same ternary weights)."""
    folder = tmp_path_factory.mktemp("models")
    return make_pair(folder, shape="tiny", seed=7, encodings=("tq2_0", "tq1_0", "f16"))


LONG_CTX = 65536


@pytest.fixture(scope="session")
def long_tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny model with a 64k-token context, TQ2_0 and its F16 variant: a reply with ignore_eos streams
    for seconds on any machine (the 2k context of `tiny` fills in well under a second on a fast one).
    Load with n_ctx=LONG_CTX."""
    from backend.models.synth import SHAPES, make_model

    shape = dataclasses.replace(SHAPES["tiny"], name="tiny-long", n_ctx=LONG_CTX)
    folder = tmp_path_factory.mktemp("long")
    return {enc: make_model(folder / f"tern-synthetic-tiny-long-s7-{enc.upper()}.gguf", shape, enc, seed=7)
            for enc in ("tq2_0", "f16")}


@pytest.fixture()
def long_tiny(long_tiny_models: dict[str, Path]) -> Path:
    return long_tiny_models["tq2_0"]


@pytest.fixture()
def tiny(tiny_models: dict[str, Path]) -> Path:
    return tiny_models["tq2_0"]


@pytest.fixture()
def engine():
    """A started engine worker, always shut down afterwards."""
    from backend.engine import EngineClient

    client = EngineClient("test")
    client.start()
    yield client
    client.close()


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
