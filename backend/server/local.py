"""The server as one object: models, energy meter, request log, the ASGI app and uvicorn.

`serve()` runs it in the calling thread until Ctrl+C (`tern serve`); `start()` / `stop()` run it
on a thread of its own (the app's "Local server" switch). Either way the socket is bound first,
so a port in use is a clear error before anything starts, and every engine process is closed
when it stops. Stopping cancels the turns in progress first, so open streams end at once with
a "server is stopping" error rather than holding the shutdown up.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

import uvicorn

from backend.server.config import ServerConfig, ServerConfigError
from backend.server.requestlog import RequestLog

log = logging.getLogger("tern.server")
GRACE_S = 3  # open connections get this long to finish after the turns were stopped
# Named, not "auto": pure-Python h11 and asyncio (no uvloop/httptools to bundle), no websockets, no
# lifespan (engines are closed here, after uvicorn returns). The bundle lists the modules these name.
UVICORN_PARTS = {"http": "h11", "ws": "none", "loop": "asyncio", "lifespan": "off"}


class LocalServer:
    def __init__(self, config: ServerConfig, store: Any = None, energy: Any = None) -> None:
        config.check()
        self.config = config
        self.requests = RequestLog()
        self.state = "stopped"  # stopped | starting | running | stopping | failed
        self.error = ""
        self.port: int | None = None
        self._store = store
        self._energy = energy
        self._pool: Any = None
        self._energy_now: Any = None  # the meter in use (made here unless one was given)
        self._uvicorn: _Uvicorn | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._state_listeners: list[Callable[[str, str], None]] = []

    @property
    def url(self) -> str:
        """The base URL for OpenAI clients (with the real port once listening)."""
        return self.config.base_url(self.port)

    @property
    def pool(self) -> Any:
        return self._pool

    def energy_label(self) -> Any:
        """The power source behind the J/token figures (a PowerLabel; "unavailable" with the reason)."""
        from backend.bench.energy import PowerLabel

        if self._energy_now is None:
            return PowerLabel("none", "", "unavailable", "the server is not running")
        return self._energy_now.label()

    def on_state(self, fn: Callable[[str, str], None]) -> None:
        """Call `fn(state, detail)` on every change of state (from the thread that changes it)."""
        self._state_listeners.append(fn)

    # -- running ----------------------------------------------------------------------------
    def serve(self, ready: Callable[[LocalServer], None] | None = None) -> None:
        """Serve in this thread until stopped (Ctrl+C in the main thread), then close every engine.

        `ready(self)` is called once the server listens."""
        sock = self._bind()
        try:
            self._setup()
            assert self._uvicorn is not None
            self._uvicorn.ready = lambda: self._listening(ready)
            self._uvicorn.run(sockets=[sock])
        except BaseException as e:
            if not isinstance(e, KeyboardInterrupt | SystemExit):
                self.error = f"{type(e).__name__}: {e}"
            raise
        finally:
            sock.close()
            self._teardown(failed=self.error)

    def start(self, timeout: float = 30.0) -> str:
        """Serve on a new thread; returns the base URL once it listens (raises if it could not start)."""
        if self._thread is not None and self._thread.is_alive():
            return self.url
        self.error = ""
        self._started.clear()
        self._set("starting", "")
        try:
            sock = self._bind()
            self._setup()
        except BaseException as e:
            self._teardown(failed=str(e))
            raise
        assert self._uvicorn is not None
        self._uvicorn.ready = lambda: self._listening(None)
        server = self._uvicorn

        def run() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as e:  # noqa: BLE001 - reported through the state
                self.error = f"{type(e).__name__}: {e}"
                log.exception("the local server stopped with an error")
            finally:
                sock.close()
                self._started.set()
                self._teardown(failed=self.error)

        self._thread = threading.Thread(target=run, name="local-server", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            self.error = f"it did not start listening within {timeout:.0f} s"
        if self.error or self.state != "running":
            self.stop()  # ends the thread (and with it every engine) if it is still there
            raise ServerConfigError(f"The server could not start: {self.error or 'it stopped at once'}.")
        return self.url

    def _listening(self, ready: Callable[[LocalServer], None] | None) -> None:
        self._set("running", self.url)
        self._started.set()
        if ready is not None:
            ready(self)

    def stop(self, timeout: float = 15.0) -> bool:
        """Stop serving and close every engine; True when it all ended within `timeout`."""
        thread = self._thread
        if thread is None:
            return True
        self._set("stopping", "")
        self._request_exit()
        thread.join(timeout)
        self._thread = None
        return not thread.is_alive()

    # -- parts ------------------------------------------------------------------------------
    def _bind(self) -> socket.socket:
        host, port = self.config.host.strip("[]"), self.config.port
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
            family, _, _, _, address = infos[0]
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as e:
            raise ServerConfigError(f"Cannot listen on {self.config.host}: {e}.",
                                    "Use an address of this computer, e.g. 127.0.0.1.") from e
        try:
            if sys.platform != "win32":  # on Windows SO_REUSEADDR would let two servers share the port
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
        except OSError as e:
            sock.close()
            what = "is in use by another program" if getattr(e, "errno", None) in (48, 98, 10048) else \
                f"cannot be used ({e.strerror or e})"
            raise ServerConfigError(f"Port {port} on {self.config.host} {what}.",
                                    "Choose another with --port, or stop the program using it.") from e
        self.port = sock.getsockname()[1]
        return sock

    def _setup(self) -> None:
        from backend.models.registry import Registry
        from backend.paths import paths
        from backend.server.app import Parts, create_app
        from backend.server.energy import ServerEnergy
        from backend.server.pool import ModelPool
        from backend.store import Store

        store = self._store or Store(paths().database)
        energy = self._energy_now = self._energy or ServerEnergy.start(self.config.sampler_hz,
                                                                        self.config.watts_per_core)
        self._pool = pool = ModelPool(Registry(store), self.config, energy)
        app = create_app(Parts(self.config, pool, energy, self.requests))
        config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False,
                                timeout_graceful_shutdown=GRACE_S, server_header=False, **UVICORN_PARTS)
        self._uvicorn = _Uvicorn(config, pool.stop)
        if self.config.default_model:
            from backend.server.errors import ApiError

            try:
                pool.preload(self.config.default_model)
            except ApiError as e:  # an unknown model, or one that cannot fit: say so before listening
                raise ServerConfigError(f"Cannot serve --model {self.config.default_model}: {e.message}") from e

    def _request_exit(self) -> None:
        if self._pool is not None:
            self._pool.stop()
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True

    def _teardown(self, failed: str = "") -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._energy_now is not None and self._energy_now is not self._energy:
            self._energy_now.close()  # made here: its sampler thread ends with the server
        self._energy_now = None
        self._uvicorn = None
        self._set("failed" if failed else "stopped", failed)

    def _set(self, state: str, detail: str) -> None:
        self.state = state
        for fn in list(self._state_listeners):
            try:
                fn(state, detail)
            except Exception:  # noqa: BLE001 - a listener must not stop the server
                log.exception("server state listener failed")


class _Uvicorn(uvicorn.Server):
    """uvicorn's Server, stopping the turns in progress first when asked to exit (Ctrl+C, SIGTERM),
    and saying when it listens."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_exit = on_exit
        self.ready: Callable[[], None] | None = None

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.on_exit()
        super().handle_exit(sig, frame)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.ready is not None:
            self.ready()
