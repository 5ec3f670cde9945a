"""Who Tern is to the Hub: the token's sources, in order, and that it never shows up in text."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backend.hub.env import HubEnv, cache_dir, describe_token, resolve_token


def test_token_comes_from_the_caller_then_hf_token_then_the_token_file(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_token(None) is None and describe_token(None) == "none"
    token_file = Path(os.environ["HF_HOME"]) / "token"
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text("hf_from_file\n")
    assert resolve_token(None) == "hf_from_file" and describe_token(None) == "token file"
    monkeypatch.setenv("HF_TOKEN", "hf_from_env")
    assert resolve_token(None) == "hf_from_env" and describe_token(None) == "HF_TOKEN"
    assert resolve_token("hf_given") == "hf_given" and describe_token("hf_given") == "given by the caller"


def test_the_token_never_appears_in_reprs() -> None:
    env = HubEnv.current("hf_secret_value")
    assert env.token == "hf_secret_value" and env.auth_headers() == {"Authorization": "Bearer hf_secret_value"}
    assert "hf_secret_value" not in repr(env) and "token=set" in repr(env)


def test_cache_follows_hf_home_and_hf_hub_cache_as_they_are_now(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    assert cache_dir() == Path(os.environ["HF_HOME"]) / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert cache_dir() == tmp_path / "elsewhere"
