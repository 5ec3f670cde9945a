"""`tern serve`: the local OpenAI-compatible server, until Ctrl+C.

Prints the base URL an OpenAI client takes (stdout), then one line per request with its figures
(stderr). Ctrl+C stops the turns in progress, closes every engine process and exits 0.
"""

from __future__ import annotations

import argparse
import os
import sys

from backend.server.config import DEFAULT_HOST, DEFAULT_PORT, MAX_QUEUE

ORDER = 40
KEY_ENV = "TERN_API_KEY"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="serve your local models over an OpenAI-compatible HTTP API",
                       description="Serve local models over an OpenAI-compatible API (/v1/chat/completions, "
                       "/v1/completions, /v1/models). Listens on 127.0.0.1 only unless --host says otherwise; "
                       "any other address needs an API key.")
    p.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST}: this "
                   "computer only; 0.0.0.0 or a LAN address needs --api-key)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT}; 0: any free)")
    p.add_argument("--api-key", metavar="KEY", default=None,
                   help=f"require `Authorization: Bearer KEY` (also read from ${KEY_ENV}, which keeps it out of ps)")
    p.add_argument("--model", metavar="NAME", default="",
                   help="load this model at start (`name` or `name:ENCODING`); used when a request names none")
    p.add_argument("--ctx", type=int, default=0, help="context length per model, in tokens (default: from settings)")
    p.add_argument("--threads", type=int, default=-1, help="CPU threads per model (default: from settings; "
                   "0: physical cores)")
    p.add_argument("--max-queue", type=int, default=MAX_QUEUE, metavar="N",
                   help=f"requests that may wait for one model beyond the one it runs (default {MAX_QUEUE}); "
                   "more get 503")
    p.add_argument("--cors-origin", metavar="ORIGIN", nargs="+", default=[],
                   help="browser origins allowed to call the API, e.g. http://localhost:3000 (none by default)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.context import AppContext
    from backend.server import ServerConfig
    from backend.server.local import LocalServer

    ctx = AppContext()
    settings = ctx.settings
    config = ServerConfig(
        host=args.host, port=args.port, api_key=args.api_key or os.environ.get(KEY_ENV, ""),
        cors_origins=tuple(args.cors_origin), default_model=args.model, n_ctx=args.ctx or settings.n_ctx,
        n_threads=settings.threads if args.threads < 0 else args.threads, sampler_hz=settings.sampler_hz,
        watts_per_core=settings.cpu_watts_per_core, max_queue=args.max_queue,
    )
    server = LocalServer(config, store=ctx.store)  # checks the configuration: a clear error, nothing started
    server.requests.subscribe(lambda record: print(record.line(), file=sys.stderr, flush=True))
    try:
        server.serve(ready=_announce)
    except KeyboardInterrupt:
        pass
    print("Stopped; every engine process is closed.", file=sys.stderr, flush=True)
    return 0


def _announce(server: object) -> None:
    from backend.server.local import LocalServer

    assert isinstance(server, LocalServer)
    c = server.config
    print(f"Tern is serving an OpenAI-compatible API at {server.url}", flush=True)
    out = sys.stderr
    refs = [ref for ref, _ in server.pool.listing()] if server.pool is not None else []
    print(f"  models: {', '.join(r.spec for r in refs) or 'none yet — `tern demo` makes one'}", file=out)
    print(f"  key: {'required (Authorization: Bearer …)' if c.api_key else 'none (this computer only)'}"
          f" · CORS: {', '.join(c.cors_origins) or 'off'} · context {c.n_ctx:,} tokens", file=out)
    label = server.energy_label()
    print(f"  energy: {label.describe()}", file=out)
    if c.default_model:
        print(f"  loading {c.default_model}…", file=out)
    print("  Ctrl+C stops it.", file=out, flush=True)
