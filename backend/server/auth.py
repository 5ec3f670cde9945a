"""The API key gate: every /v1 request carries `Authorization: Bearer KEY` when a key is set.

The key is compared in constant time (hmac.compare_digest), so response timing says nothing
about how much of a guess was right. `/health` stays open: it tells only that the server is up.
"""

from __future__ import annotations

import hmac
from typing import Any

from backend.server.errors import unauthorized

OPEN_PATHS = frozenset({"/health"})


class ApiKeyGate:
    """Pure ASGI middleware (it runs before the body is read, so a caller without the key sends nothing)."""

    def __init__(self, app: Any, api_key: str) -> None:
        self.app = app
        self._key = api_key.encode("utf-8")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self._key or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        problem = self.problem(scope)
        if problem:
            await unauthorized(problem).response()(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def problem(self, scope: dict[str, Any]) -> str:
        """Why this request may not pass ("" when it may)."""
        header = next((v for k, v in scope.get("headers", []) if k == b"authorization"), None)
        if header is None:
            return "This server needs an API key: send it as `Authorization: Bearer KEY`."
        scheme, _, given = header.partition(b" ")
        if scheme.lower() != b"bearer" or not given.strip():
            return "The Authorization header must read `Bearer KEY`."
        if not hmac.compare_digest(given.strip(), self._key):
            return "Incorrect API key."
        return ""
