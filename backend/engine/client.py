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
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from backend.engine import hardware
from backend.engine.errors import EngineCrashed, EngineError, EngineHung
from backend.engine.launch import engine_env, hang_after_s, worker_command
from backend.engine.protocol import Done, ModelInfo, Token, TokenBatch, TurnStats, decode, encode
from backend.models.checks import preflight

__all__ = ["EngineClient", "EngineCrashed", "EngineError", "EngineHung", "engine_env", "worker_command"]

log = logging.getLogger("tern.engine")
_EXIT = "_exit"
class EngineClient:
    def __init__(self, name: str = "engine", command: list[str] | None = None,
                 hang_after: float | None = None) -> None:
        self.name = name
        self.command = command or worker_command()
        self.hang_after = hang_after if hang_after is not None else hang_after_s()
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
        env = engine_env()
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
                self._send({"op": "cancel"})  # no id: whatever runs
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
             n_batch: int | None = None, check: bool = True, n_threads_batch: int | None = None) -> ModelInfo:
        """Load a model (after checking the file, so llama.cpp never sees a bad one). `n_threads` runs
        decode steps, `n_threads_batch` prompt batches (default: the same)."""
        if check:
            preflight(path, n_ctx)
        self.start()
        n = hardware.bound_threads(n_threads)
        rid = self._request({"op": "load", "path": str(Path(path).expanduser()), "n_ctx": n_ctx, "n_threads": n,
                             "n_threads_batch": hardware.bound_threads(n_threads_batch or n), "n_batch": n_batch})
        ev = self._wait(rid, {"loaded"}, f"loading {Path(path).name}")
        self.info = ModelInfo.from_dict(ev["info"])
        return self.info

    def unload(self) -> None:
        if not self.alive:
            return
        rid = self._request({"op": "unload"})
        self._wait(rid, {"unloaded"}, "unloading the model")
        self.info = None

    def set_threads(self, n_threads: int, n_threads_batch: int) -> None:
        """Threads for decode steps and for prompt batches of the loaded model, from now on."""
        rid = self._request({"op": "set_threads", "n_threads": n_threads, "n_threads_batch": n_threads_batch})
        ev = self._wait(rid, {"threads_set"}, "setting threads")
        if self.info is not None:
            self.info.n_threads, self.info.n_threads_batch = int(ev["n_threads"]), int(ev["n_threads_batch"])

    def calibrate(self, rid: int | None = None, candidates: list[int] | None = None,
                  progress: Callable[[int, int, str], None] | None = None) -> dict[str, Any] | None:
        """Time the loaded model at several thread counts (backend/engine/calibrate.py): the figures, or
        None when `cancel(rid)` stopped it (take `rid` from `reserve_id()` to cancel from another thread)."""
        rid = self._request({"op": "calibrate", "candidates": candidates}, rid)
        while True:
            ev = self._wait(rid, {"calibrating", "calibrated"}, "measuring threads")
            if ev["ev"] == "calibrated":
                return None if ev.get("cancelled") else dict(ev["result"])
            if progress is not None:
                progress(int(ev["done"]), int(ev["total"]), str(ev["what"]))

    def bandwidth(self, threads: int, nbytes: int | None = None) -> dict[str, Any]:
        """The machine's streaming read test, run in this engine process (no model needed)."""
        self.start()
        rid = self._request({"op": "bandwidth", "threads": threads, "bytes": nbytes})
        return dict(self._wait(rid, {"bandwidth"}, "measuring memory bandwidth", timeout=120)["result"])

    def ping(self) -> dict[str, Any]:
        rid = self._request({"op": "ping"})
        return self._wait(rid, {"pong"}, "answering a ping")

    def count(self, messages: list[dict[str, Any]] | None = None, prefix: str = "",
              prompt: str | None = None) -> tuple[int, int]:
        """(prompt tokens, context length): what a generate request with these messages would use."""
        req: dict[str, Any] = {"op": "count", "prefix": prefix}
        if prompt is not None:
            req["prompt"] = prompt
        else:
            req["messages"] = messages or []
        ev = self._wait(self._request(req), {"counted"}, "counting tokens")
        return int(ev["n"]), int(ev["n_ctx"])

    def reserve_id(self) -> int:
        """A request id for a generate call to come, so it can be cancelled even before it is sent."""
        return next(self._ids)

    def stream(self, messages: list[dict[str, Any]] | None = None, params: dict[str, Any] | None = None,
               prompt: str | None = None, prefix: str = "", rid: int | None = None) -> Iterator[TokenBatch | Done]:
        """Stream a reply: one TokenBatch per message of the engine, then one Done with the turn's stats.

        Leaving the loop early cancels the reply and waits for the worker to be ready again.
        """
        req: dict[str, Any] = {"op": "generate", "params": params or {}}
        if prompt is not None:
            req["prompt"] = prompt
        else:
            req["messages"] = messages or []
        if prefix:
            req["prefix"] = prefix
        rid = self._request(req, rid)
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
                    yield TokenBatch([Token(text, index, t_ns) for text, index, t_ns in ev["items"]])
                elif ev["ev"] == "done":
                    finished = True
                    yield Done(TurnStats.from_dict(ev["stats"]), ev.get("tail", ""))
                    return
        finally:
            self._current = None
            if not finished and self.alive:
                self.cancel(rid)
                try:
                    self._wait(rid, {"done"}, "stopping a reply", timeout=30)
                except EngineError:
                    pass

    def generate(self, messages: list[dict[str, Any]] | None = None, params: dict[str, Any] | None = None,
                 prompt: str | None = None, prefix: str = "") -> Iterator[Token | Done]:
        """`stream`, one Token at a time."""
        events = self.stream(messages, params, prompt, prefix)
        try:
            for ev in events:
                if isinstance(ev, TokenBatch):
                    yield from ev.tokens
                else:
                    yield ev
        finally:
            events.close()

    def cancel(self, rid: int | None = None) -> None:
        """Stop request `rid` (default: the reply being generated). Thread-safe; the worker stops within
        one token, or as soon as the request starts if it has not started yet."""
        rid = self._current if rid is None else rid
        if rid is not None and self.alive:
            try:
                self._send({"op": "cancel", "id": rid})
            except (OSError, ValueError):
                pass

    # -- plumbing ---------------------------------------------------------------------------
    def _send(self, obj: dict[str, Any]) -> None:
        self._write(encode(obj))

    def _write(self, line: bytes) -> None:
        proc = self.proc
        assert proc is not None and proc.stdin is not None
        with self._write_lock:
            proc.stdin.write(line)
            proc.stdin.flush()

    def _request(self, obj: dict[str, Any], rid: int | None = None) -> int:
        if not self.alive:
            raise EngineError("The engine is not running.", code="not_running", hint="Load a model first.")
        rid = next(self._ids) if rid is None else rid
        try:
            line = encode({**obj, "id": rid})
        except UnicodeEncodeError as e:  # lone surrogates (undecodable bytes): refused before the engine sees them
            raise EngineError(f"The text has characters that are not valid Unicode (at position {e.start}).",
                              code="bad_text", hint="Remove or retype them and send again.") from e
        try:
            self._write(line)
        except (BrokenPipeError, OSError, ValueError):
            self._raise_crash(f"receiving a request ({obj['op']})")
        return rid

    def _next(self, rid: int | None, during: str, timeout: float | None = None) -> dict[str, Any]:
        """The next event for request `rid`; stale events from earlier requests are dropped.

        While waiting, an engine that sends nothing and uses no CPU for `hang_after` seconds is
        declared hung: it is killed and `EngineHung` raised (a stopped or deadlocked process
        would otherwise keep the caller waiting forever).
        """
        start = quiet_since = time.monotonic()
        cpu_mark: float | None = None
        poll = max(0.05, min(1.0, self.hang_after / 4))
        while True:
            now = time.monotonic()
            wait = poll if timeout is None else max(0.0, min(poll, start + timeout - now))
            try:
                ev = self._events.get(timeout=wait)
            except queue.Empty:
                now = time.monotonic()
                if timeout is not None and now - start >= timeout:
                    raise EngineError(f"The engine did not answer in time while {during}.", code="timeout") from None
                cpu = self._child_cpu()
                if cpu is None:
                    continue
                if cpu_mark is None or cpu > cpu_mark:
                    if cpu_mark is not None:
                        quiet_since = now  # working (prompt evaluation, a slow token): not hung
                    cpu_mark = cpu
                elif now - quiet_since >= self.hang_after:
                    self._raise_hung(during, now - quiet_since)
                continue
            quiet_since, cpu_mark = time.monotonic(), None
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

    def _child_cpu(self) -> float | None:
        """CPU seconds the engine process has used (all threads), or None if it cannot be read."""
        proc = self.proc
        if proc is None:
            return None
        try:
            import psutil

            t = psutil.Process(proc.pid).cpu_times()
            return float(t.user + t.system)
        except Exception:  # gone, or not readable: the exit event will tell
            return None

    def _raise_hung(self, during: str, quiet_s: float) -> None:
        proc = self.proc
        assert proc is not None
        state = ""
        try:
            import psutil

            state = psutil.Process(proc.pid).status()
        except Exception:
            pass
        log.warning("engine %s (pid %s) sent nothing and used no CPU for %.1f s while %s (state %s): ending it",
                    self.name, proc.pid, quiet_s, during, state or "unknown")
        proc.kill()  # SIGKILL ends a stopped process too
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for t in self._threads:
            t.join(2)
        self.info = None
        self._current = None
        raise EngineHung(proc.pid, quiet_s, during, state, list(self._stderr))

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
