"""What the local server is told at start: where it listens, who may call it, and its limits.

Safe by default: it listens on 127.0.0.1 only. Listening on any other address exposes the models
to the network, so it needs an API key; `check()` refuses to start without one.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from backend.chat.context import MIN_CTX
from backend.errors import TernError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
MAX_BODY_BYTES = 8 * 1024**2  # a long conversation is a few hundred kB of JSON
MAX_QUEUE = 16  # requests waiting for one model's engine, beyond the one it is running
MIN_KEY_CHARS = 8
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")


class ServerConfigError(TernError):
    code = "server_config"


def is_loopback(host: str) -> bool:
    """Only this computer can reach `host`: localhost or a loopback address (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


@dataclass(frozen=True)
class ServerConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT  # 0: any free port (the real one is in LocalServer.url)
    api_key: str = ""  # empty: no key needed (only allowed on a loopback address)
    cors_origins: tuple[str, ...] = ()  # browser origins allowed to call the API; none by default
    default_model: str = ""  # loaded at start, and used when a request names no model
    n_ctx: int = 2048
    n_threads: int = 0  # 0: physical cores
    max_body_bytes: int = MAX_BODY_BYTES
    max_queue: int = MAX_QUEUE
    sampler_hz: float = 10.0  # the power sampler behind the energy figures
    watts_per_core: float = 0.0  # the CPU-time estimate's figure (0: Tern's TDP table)

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def check(self) -> None:
        """Refuse a configuration that is unsafe or cannot work, saying what to change."""
        if not 0 <= self.port <= 65535:
            raise ServerConfigError(f"Port {self.port} is not a TCP port.", "Use a number from 1 to 65535.")
        if self.api_key:
            if len(self.api_key) < MIN_KEY_CHARS or any(c.isspace() or not c.isprintable() for c in self.api_key):
                raise ServerConfigError(
                    f"The API key must be at least {MIN_KEY_CHARS} printable characters without spaces.",
                    "Pick a longer key, e.g. `python -c \"import secrets; print(secrets.token_urlsafe(24))\"`.",
                )
        elif not self.loopback:
            raise ServerConfigError(
                f"Refusing to listen on {self.host} without an API key: any computer that can reach this one "
                "could use your models.",
                "Give a key with --api-key KEY (or TERN_API_KEY), or listen on 127.0.0.1 only.",
            )
        for origin in self.cors_origins:
            if origin != "*" and not _ORIGIN.match(origin):
                raise ServerConfigError(
                    f"{origin!r} is not a browser origin.", "Write it as scheme://host[:port], e.g. http://localhost:3000."
                )
        if self.n_ctx < MIN_CTX:
            raise ServerConfigError(f"A context of {self.n_ctx} tokens is too short.", f"Use --ctx {MIN_CTX} or more.")
        if self.max_queue < 0:
            raise ServerConfigError(f"A queue of {self.max_queue} requests is not possible.", "Use 0 or more.")
        if self.n_threads < 0:
            raise ServerConfigError(f"{self.n_threads} threads is not a thread count.", "Use 0 for physical cores.")

    def base_url(self, port: int | None = None) -> str:
        """The URL an OpenAI client takes as its base_url (an IPv6 address in brackets)."""
        host = self.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port if port is None else port}/v1"
