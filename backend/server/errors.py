"""Errors in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}` with the right status.

400 a malformed body or parameter, 401 a missing or wrong API key, 404 an unknown model or path,
413 a body over the size limit, 500 an engine failure, 503 a model that is loading or busy beyond
its queue, or that does not fit in RAM. Messages name what was wrong and what to do.
"""

from __future__ import annotations

from typing import Any

_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    500: "server_error",
    503: "server_error",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, param: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}

    @property
    def type(self) -> str:
        return _TYPES.get(self.status, "server_error" if self.status >= 500 else "invalid_request_error")

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> Any:
        from starlette.responses import JSONResponse

        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def bad_request(message: str, param: str | None = None, code: str = "invalid_value") -> ApiError:
    return ApiError(400, message, code=code, param=param)


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message, code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})


def too_large(limit: int) -> ApiError:
    return ApiError(413, f"The request body is larger than this server accepts ({limit:,} bytes).",
                    code="request_too_large")


def unavailable(message: str, code: str, retry_after_s: int | None = None) -> ApiError:
    headers = {"Retry-After": str(retry_after_s)} if retry_after_s else None
    return ApiError(503, message, code=code, headers=headers)
