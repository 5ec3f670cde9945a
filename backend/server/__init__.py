"""The local OpenAI-compatible server: `tern serve` and the app's "Local server" switch.

An ASGI app (Starlette) served by uvicorn. A request names a local model (`name` or
`name:ENCODING`, never a path); the first request for a model starts its engine process, and
each model's requests run one at a time, in order, in a bounded queue. Replies are measured the
way the app measures them (the engine's own clock and counters, energy with its power label).

Modules: config (what the server is told at start), errors (OpenAI's error shape), auth (API key),
limits (request body size), params (request bodies → typed turns), stops (stop sequences),
turns (the one adapter onto the engine), lane (one model's queue and engine), pool (models by
name, RAM fit, loading), energy (a turn's energy with its label), shapes (OpenAI response
objects), respond (one request's turn: JSON or SSE, cancelled when the client leaves),
requestlog (what was served, for the console and the app), app (routes and middleware),
local (uvicorn, run here or on a thread).

Nothing here imports starlette or uvicorn at package import: the window imports this package.
"""

from __future__ import annotations

from backend.server.config import DEFAULT_HOST, DEFAULT_PORT, ServerConfig, ServerConfigError
from backend.server.requestlog import RequestLog, RequestRecord

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "RequestLog", "RequestRecord", "ServerConfig", "ServerConfigError"]
