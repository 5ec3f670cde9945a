"""Where the Hub is and who we are to it, read from the environment at each call.

huggingface_hub reads HF_ENDPOINT, HF_HOME, HF_HUB_CACHE and HF_HUB_OFFLINE once, when it is
imported; Tern reads them every time (settings and tests change them while running) and passes
them explicitly (`endpoint=`, `cache_dir=`, `token=`) so both agree with the environment of now.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import constants as _hf_constants

# Tern sends no telemetry. This also stops huggingface_hub from fetching its "agent harness"
# registry from the endpoint it saw at import time (which may not be HF_ENDPOINT of now) and
# from caching it under the HF_HOME of import time. Read on every request, so it applies even
# when huggingface_hub was imported first.
_hf_constants.HF_HUB_DISABLE_TELEMETRY = True

DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUE = {"1", "on", "yes", "true"}


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


def hf_home() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "huggingface"
    return Path(os.path.expandvars(os.environ.get("HF_HOME", str(default)))).expanduser()


def cache_dir() -> Path:
    """The Hugging Face hub cache (HF_HUB_CACHE, else HF_HOME/hub), shared with other tools."""
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return Path(os.path.expandvars(explicit)).expanduser()
    return hf_home() / "hub"


def offline() -> bool:
    return (os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or "").lower() in _TRUE


def resolve_token(token: str | None = None) -> str | None:
    """The token to send: the explicit one, else HF_TOKEN, else the token file `hf auth login` wrote.

    Never logged: callers keep it out of messages; `describe_token` says only where it came from.
    """
    if token:
        return token.strip() or None
    env = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if env and env.strip():
        return env.strip()
    path = Path(os.environ.get("HF_TOKEN_PATH") or hf_home() / "token")
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text or None


def describe_token(token: str | None) -> str:
    """Where the token comes from, for logs and --json (never the token itself)."""
    if token:
        return "given by the caller"
    if os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN"):
        return "HF_TOKEN"
    return "token file" if resolve_token(None) else "none"


@dataclass(frozen=True)
class HubEnv:
    """A snapshot of the settings one operation uses from start to end."""

    endpoint: str
    cache_dir: Path
    token: str | None
    offline: bool

    @classmethod
    def current(cls, token: str | None = None) -> HubEnv:
        return cls(endpoint(), cache_dir(), resolve_token(token), offline())

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def __repr__(self) -> str:  # keep the token out of reprs, tracebacks and logs
        return (f"HubEnv(endpoint={self.endpoint!r}, cache_dir={str(self.cache_dir)!r}, "
                f"token={'set' if self.token else 'none'}, offline={self.offline})")
