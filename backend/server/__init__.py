"""The local OpenAI-compatible server: `tern serve` and the app's "Local server" switch.

An ASGI app (Starlette) served by uvicorn, on the turn runner (backend.chat): a request names a
local model (`name` or `name:ENCODING`, never a path); the first request for a model starts its
engine process (`ModelEngine`), each model's requests take turns in arrival order, a bounded
number of them waiting, and each reply is a `Turn` — streamed, stopped at a stop sequence,
cancelled by its request id, and measured the way the app measures it (the engine's own clock and
counters, energy with its power label).

Modules: config (what the server is told at start), errors (OpenAI's error shape), auth (API key),
limits (request body size), params (request bodies → typed turns), lane (one model's engine and
the requests admitted to it), pool (models by name, RAM fit, loading), energy (a turn's energy
with its label), shapes (OpenAI response objects), respond (one request's turn: JSON or SSE,
cancelled when the client leaves), requestlog (what was served, for the console and the app),
app (routes and middleware), local (uvicorn, run here or on a thread).

Nothing here imports starlette or uvicorn at package import: the window imports this package.
"""

from __future__ import annotations

from backend.server.config import DEFAULT_HOST, DEFAULT_PORT, ServerConfig, ServerConfigError
from backend.server.requestlog import RequestLog, RequestRecord

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "RequestLog", "RequestRecord", "ServerConfig", "ServerConfigError"]
