"""EngineClient: the parent's handle on one engine worker process.

All calls except `cancel()` block, so callers run them off the GUI thread. `cancel()` may be
called from any thread. A worker that dies turns the pending call into `EngineCrashed`, with
the exit status and the last lines the worker wrote to stderr; the parent carries on and may
`start()` a new worker.
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from backend.engine.protocol import Done, ModelInfo, Token, TurnStats, decode, encode
from backend.errors import TernError
from backend.models.checks import preflight

log = logging.getLogger("tern.engine")
_EXIT = "_exit"


class EngineError(TernError):
    def __init__(self, message: str, code: str = "engine_error", hint: str = "") -> None:
        super().__init__(message, hint)
        self.code = code


class EngineCrashed(EngineError):
    def __init__(self, exit_status: int | None, stderr_tail: list[str], during: str) -> None:
        self.exit_status = exit_status
        self.stderr_tail = stderr_tail
        last = _last_words(stderr_tail)
        detail = f" Its last words: {last.strip()}" if last else ""
        super().__init__(
            f"The engine stopped unexpectedly while {during} ({describe_exit(exit_status)}).{detail}",
            code="crashed",
            hint="Your conversation is safe. Reload the model to continue.",
        )


def _last_words(lines: list[str]) -> str:
    """The most telling stderr line: an assertion or error if there is one, else the last line."""
    for line in reversed(lines):
        if any(k in line for k in ("GGML_ASSERT", "GGML_ABORT", "error", "Error", "fatal", "abort")):
            return re.sub(r"\S*[/\\](\S+\.(?:c|cc|cpp|h):\d+)", r"\1", line)
    return next((s for s in reversed(lines) if s.strip()), "")


def describe_exit(status: int | None) -> str:
    if status is None:
        return "exit status unknown"
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        extra = " — llama.cpp aborted" if name == "SIGABRT" else ""
        return f"killed by {name}{extra}"
    return f"exit status {status}"


def worker_command() -> list[str]:
    """How to start a worker: the same executable in worker mode when frozen, else `-m`."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "--engine-worker"]
    return [sys.executable, "-m", "backend.engine.worker"]


class EngineClient:
    def __init__(self, name: str = "engine", command: list[str] | None = None) -> None:
        self.name = name
        self.command = command or worker_command()
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: ModelInfo | None = None
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        self._write_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._threads: list[threading.Thread] = []
        self._current: int | None = None

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 60.0) -> None:
        if self.alive:
            return
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.setdefault("GGML_NO_BACKTRACE", "1")  # ggml would otherwise run gdb on abort: slow and noisy
        self._events = queue.Queue()
        self._stderr.clear()
        self.info = None
        flags = subprocess.CREATE_NO_WINDOW if sys.platform == "win32" else 0
        self.proc = subprocess.Popen(
            self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, creationflags=flags,
        )
        self._threads = [
            threading.Thread(target=self._read_stdout, args=(self.proc,), daemon=True, name=f"{self.name}-out"),
            threading.Thread(target=self._read_stderr, args=(self.proc,), daemon=True, name=f"{self.name}-err"),
        ]
        for t in self._threads:
            t.start()
        self._wait(None, {"ready"}, "starting", timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Shut the worker down (gracefully, then by force) and free its memory."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                self._send({"op": "cancel"})
                self._send({"op": "shutdown"})
                proc.stdin.close()  # type: ignore[union-attr]
            except (OSError, ValueError):
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        for t in self._threads:
            t.join(timeout)
        for stream in (proc.stdout, proc.stderr, proc.stdin):
            if stream:
                stream.close()
        self.proc = None
        self.info = None

    def __enter__(self) -> EngineClient:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- operations -------------------------------------------------------------------------
    def load(self, path: str | Path, n_ctx: int = 2048, n_threads: int | None = None,
             n_batch: int | None = None, check: bool = True) -> ModelInfo:
        """Load a model (after checking the file, so llama.cpp never sees a bad one)."""
        if check:
            preflight(path, n_ctx)
        self.start()
        rid = self._request({"op": "load", "path": str(Path(path).expanduser()), "n_ctx": n_ctx,
                             "n_threads": n_threads, "n_batch": n_batch})
        ev = self._wait(rid, {"loaded"}, f"loading {Path(path).name}")
        self.info = ModelInfo.from_dict(ev["info"])
        return self.info

    def unload(self) -> None:
        if not self.alive:
            return
        rid = self._request({"op": "unload"})
        self._wait(rid, {"unloaded"}, "unloading the model")
        self.info = None

    def ping(self) -> dict[str, Any]:
        rid = self._request({"op": "ping"})
        return self._wait(rid, {"pong"}, "answering a ping")

    def generate(self, messages: list[dict[str, Any]] | None = None, params: dict[str, Any] | None = None,
                 prompt: str | None = None) -> Iterator[Token | Done]:
        """Stream a reply: Token events, then one Done with the turn's stats.

        Leaving the loop early cancels the reply and waits for the worker to be ready again.
        """
        req: dict[str, Any] = {"op": "generate", "params": params or {}}
        if prompt is not None:
            req["prompt"] = prompt
        else:
            req["messages"] = messages or []
        rid = self._request(req)
        self._current = rid
        finished = False
        try:
            while True:
                try:
                    ev = self._next(rid, "generating a reply")
                except EngineError:
                    finished = True  # the worker answered with an error (or died): nothing more will come
                    raise
                if ev["ev"] == "tokens":
                    for text, index, t_ns in ev["items"]:
                        yield Token(text, index, t_ns)
                elif ev["ev"] == "done":
                    finished = True
                    yield Done(TurnStats.from_dict(ev["stats"]), ev.get("tail", ""))
                    return
        finally:
            self._current = None
            if not finished and self.alive:
                self.cancel()
                try:
                    self._wait(rid, {"done"}, "stopping a reply", timeout=30)
                except EngineError:
                    pass

    def cancel(self) -> None:
        """Stop the reply being generated (thread-safe; the worker stops within one token)."""
        if self.alive:
            try:
                self._send({"op": "cancel"})
            except (OSError, ValueError):
                pass

    # -- plumbing ---------------------------------------------------------------------------
    def _send(self, obj: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        with self._write_lock:
            self.proc.stdin.write(encode(obj))
            self.proc.stdin.flush()

    def _request(self, obj: dict[str, Any]) -> int:
        if not self.alive:
            raise EngineError("The engine is not running.", code="not_running", hint="Load a model first.")
        rid = next(self._ids)
        try:
            self._send({**obj, "id": rid})
        except (BrokenPipeError, OSError, ValueError):
            self._raise_crash(f"receiving a request ({obj['op']})")
        return rid

    def _next(self, rid: int | None, during: str, timeout: float | None = None) -> dict[str, Any]:
        """The next event for request `rid`; stale events from earlier requests are dropped."""
        while True:
            try:
                ev = self._events.get(timeout=timeout)
            except queue.Empty:
                raise EngineError(f"The engine did not answer in time while {during}.", code="timeout") from None
            if ev["ev"] == _EXIT:
                self._events.put(ev)  # later calls must see it too
                self._raise_crash(during)
            if ev.get("id") is None and ev["ev"] == "error":
                log.warning("engine error without request id: %s", ev.get("message"))
                continue
            if rid is not None and ev.get("id") != rid:
                continue
            if ev["ev"] == "error":
                raise EngineError(str(ev.get("message")), code=str(ev.get("code", "engine_error")))
            return ev

    def _wait(self, rid: int | None, kinds: set[str], during: str, timeout: float | None = None) -> dict[str, Any]:
        while True:
            ev = self._next(rid, during, timeout)
            if ev["ev"] in kinds:
                return ev

    def _raise_crash(self, during: str) -> None:
        proc = self.proc
        status = None
        if proc is not None:
            try:
                status = proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                status = proc.wait(5)
            for t in self._threads:
                t.join(2)
        self.info = None
        raise EngineCrashed(status, list(self._stderr), during)

    def _read_stdout(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                self._events.put(decode(line))
            except ValueError:
                self._stderr.append(line.decode("utf-8", "replace").rstrip())
        self._events.put({"ev": _EXIT})

    def _read_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            self._stderr.append(line)
            log.debug("[%s %s] %s", self.name, proc.pid, line)
