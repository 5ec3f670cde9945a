"""A real `tern serve` process for tests: started on 127.0.0.1 on a free port, its log read back.

`Serve.start(*args, env=…)` waits for the line with the base URL; `lines()` is what it wrote to
stderr so far (one line per request); `stop()` sends SIGINT (Ctrl+C) and waits.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from backend.models.registry import Registry
from backend.store import Store


def register(home: Path, name: str, paths: dict[str, Path], synthetic: bool = True, chat: bool = True) -> None:
    """Put model files into the registry of the Tern home at `home`, as `tern models import` would."""
    store = Store(home / "data" / "tern.sqlite3")
    registry = Registry(store)
    for encoding, path in paths.items():
        registry.add_variant(name, path, encoding, "synthetic" if synthetic else "imported",
                             model_fields={"synthetic": int(synthetic), "chat": int(chat)})
    store.close()


class Serve:
    def __init__(self, proc: subprocess.Popen[str], url: str, out: queue.Queue[str], err: list[str],
                 readers: list[threading.Thread]) -> None:
        self.proc = proc
        self._readers = readers
        self.url = url
        self._out = out
        self._err = err

    @classmethod
    def start(cls, *args: str, env: dict[str, str], timeout: float = 60, own_group: bool = False) -> Serve:
        """`own_group`: in a process group of its own, as a shell runs a command (see `ctrl_c`)."""
        proc = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", "0", *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                start_new_session=own_group)
        out: queue.Queue[str] = queue.Queue()
        err: list[str] = []
        readers = [threading.Thread(target=lambda: [out.put(line) for line in proc.stdout], daemon=True),  # type: ignore[union-attr]
                   threading.Thread(target=lambda: [err.append(line.rstrip("\n")) for line in proc.stderr],  # type: ignore[union-attr]
                                    daemon=True)]
        for t in readers:
            t.start()
        try:
            line = out.get(timeout=timeout)
        except queue.Empty:
            line = ""
        server = cls(proc, line.split()[-1] if line else "", out, err, readers)
        if "http://127.0.0.1:" not in line:
            server.stop()
            raise AssertionError(f"tern serve printed no URL in {timeout} s; stdout {line!r}, stderr: {err}")
        return server

    @property
    def base(self) -> str:
        """http://127.0.0.1:PORT (without /v1)."""
        return self.url.removesuffix("/v1")

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    def lines(self) -> list[str]:
        return list(self._err)

    def wait_for_line(self, text: str, timeout: float = 30) -> str:
        """The first stderr line containing `text`, once there is one."""
        self.wait_until(lambda lines: any(text in line for line in lines), timeout)
        return next(line for line in self.lines() if text in line)

    def wait_until(self, ok: Callable[[list[str]], bool], timeout: float = 30) -> None:
        """Wait until `ok(stderr lines)` holds (the log reaches us through a pipe, a moment after the answer)."""
        deadline = time.monotonic() + timeout
        while not ok(self.lines()):
            if time.monotonic() > deadline:
                raise AssertionError(f"the server's log did not get there in {timeout} s: {self.lines()}")
            time.sleep(0.05)

    def engine_pids(self) -> list[int]:
        import psutil

        try:
            return [c.pid for c in psutil.Process(self.proc.pid).children() if "engine" in " ".join(c.cmdline())]
        except psutil.NoSuchProcess:
            return []

    def ctrl_c(self, timeout: float = 30) -> int:
        """Ctrl+C as a terminal sends it: SIGINT to every process of the group, engines included (POSIX;
        the server must have been started with `own_group`)."""
        os.killpg(self.proc.pid, signal.SIGINT)
        return self.stop(timeout)

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT if os.name != "nt" else signal.CTRL_C_EVENT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for t in self._readers:
            t.join(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
        return self.proc.returncode
