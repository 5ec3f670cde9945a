"""The ASGI app: routes, middleware and error handlers (Starlette).

Middleware, outermost first: CORS (only when origins are named), the body size limit, the API
key gate. Every error leaves in OpenAI's error shape. Blocking work (the registry, file checks,
closing an engine to make room) runs on worker threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from backend.chat.runner import TurnSpec
from backend.server.auth import ApiKeyGate
from backend.server.config import ServerConfig
from backend.server.errors import ApiError
from backend.server.lane import Job
from backend.server.limits import BodyLimit
from backend.server.params import TurnRequest, load_json, parse_chat, parse_completion
from backend.server.pool import ModelPool
from backend.server.requestlog import RequestLog, RequestRecord
from backend.server.respond import TurnResponse

log = logging.getLogger("tern.server")


@dataclass
class Parts:
    """What the routes work with."""

    config: ServerConfig
    pool: ModelPool
    energy: Any
    requests: RequestLog


def create_app(parts: Parts) -> Starlette:
    middleware = []
    if parts.config.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        middleware.append(Middleware(CORSMiddleware, allow_origins=list(parts.config.cors_origins),
                                     allow_methods=["GET", "POST", "OPTIONS"],
                                     allow_headers=["authorization", "content-type"]))
    middleware.append(Middleware(BodyLimit, max_bytes=parts.config.max_body_bytes))
    middleware.append(Middleware(ApiKeyGate, api_key=parts.config.api_key))
    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/completions", completions, methods=["POST"]),
    ]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={
        ApiError: _api_error, HTTPException: _http_error, Exception: _internal_error})
    app.state.parts = parts
    return app


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def models(request: Request) -> JSONResponse:
    parts: Parts = request.app.state.parts
    listing = await anyio.to_thread.run_sync(parts.pool.listing)
    data = []
    for ref, state in listing:  # read on a worker thread, the file's time too: the event loop never waits on disk
        created = state.pop("created")
        data.append({"id": ref.spec, "object": "model", "created": created, "owned_by": "local",
                     "tern": {"name": ref.name, "encoding": ref.encoding, "file_bytes": ref.file_bytes,
                              "synthetic": ref.synthetic, "chat": ref.chat, **state}})
    return JSONResponse({"object": "list", "data": data})


async def chat_completions(request: Request) -> Any:
    return await _turn(request, parse_chat)


async def completions(request: Request) -> Any:
    return await _turn(request, parse_completion)


async def _turn(request: Request, parse: Any) -> Any:
    parts: Parts = request.app.state.parts
    endpoint = request.url.path
    req: TurnRequest | None = None
    try:
        req = parse(load_json(await request.body()))
        ref, lane = parts.pool.recent(req.model) or await anyio.to_thread.run_sync(parts.pool.resolve, req.model)
        spec = TurnSpec(req.messages or [], req.engine_params(parts.config.n_ctx), policy=req.context_policy,
                        prompt=req.prompt, stops=req.stop)
        job = Job(spec, asyncio.get_running_loop())
        lane.submit(job)
    except ApiError as e:
        parts.requests.add(RequestRecord(endpoint, req.model if req else "", e.status, "error",
                                         bool(req and req.stream), message=e.message))
        raise
    return TurnResponse(job, ref, req, endpoint, parts.energy, parts.requests)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    what = {404: f"There is no {request.url.path} here. The API lives under /v1 (see GET /v1/models).",
            405: f"{request.method} is not allowed on {request.url.path}."}.get(exc.status_code, str(exc.detail))
    return ApiError(exc.status_code, what, code="not_found" if exc.status_code == 404 else None).response()


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("request %s %s failed", request.method, request.url.path, exc_info=exc)
    return ApiError(500, f"The server failed while answering ({type(exc).__name__}).", code="internal_error").response()
