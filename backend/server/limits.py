"""A size limit on request bodies, enforced before the body is read.

A declared Content-Length over the limit is answered 413 at once, without reading a byte of the
body. A body without a length (chunked) is counted as it arrives, and reading stops with 413 as
soon as it passes the limit, so nothing larger than the limit is ever held in memory.
"""

from __future__ import annotations

from typing import Any

from backend.server.errors import bad_request, too_large


class BodyLimit:
    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
        if declared is not None:
            if not declared.strip().isdigit():
                await bad_request("The Content-Length header is not a number.", code="bad_header").response()(
                    scope, receive, send)
                return
            if int(declared) > self.max_bytes:
                await too_large(self.max_bytes).response()(scope, receive, send)
                return
        seen = 0

        async def counted() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise too_large(self.max_bytes)  # the app's ApiError handler answers 413
            return message

        await self.app(scope, counted, send)
