"""The one place the server meets the engine: run one turn on one model's engine process.

Narrow on purpose, so the turn runner of `backend.chat` (issue 12: format, generate, stream,
final stats, cancel by request id; one model, one engine process) can replace the body of this
module without touching the rest of the server. The interface the server uses:

    turns = ModelTurns(path, n_ctx, n_threads, label)
    turns.load() -> ModelInfo          # a fresh engine process with the model loaded
    turns.ready, turns.pid, turns.info
    for ev in turns.run(TurnInput(messages=…, params=…)):   # blocking; one turn at a time
        Piece(text, t_ns, tokens)      # generated text (today one token per piece)
        TurnEnd(stats, tail)           # the engine's TurnStats (TTFT, decode tok/s, peak RSS, stop reason)
    turns.cancel()                     # thread-safe: stops the turn in progress within one token
    turns.close()

Today it stands on `backend.engine.EngineClient`, whose cancel carries no request id: the lane
(lane.py) calls `cancel()` only while the turn it means is the one running, and the next turn
is sent only after that one ended, so the cancel can never reach another request's turn.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.engine import Done, EngineClient, ModelInfo, Token, TurnStats
from backend.engine.client import EngineCrashed

log = logging.getLogger("tern.server")


@dataclass(frozen=True)
class TurnInput:
    """What to generate from: chat messages (formatted with the model's template) or raw prompt text."""

    messages: list[dict[str, str]] | None = None
    prompt: str | None = None
    params: dict[str, Any] = field(default_factory=dict)  # the engine's sampling params (DEFAULT_PARAMS keys)


@dataclass(frozen=True)
class Piece:
    text: str
    t_ns: int  # the engine's wall clock when the (last) token was sampled
    tokens: int = 1  # tokens in this piece: 1 today; a batch when the runner hands batches on


@dataclass(frozen=True)
class TurnEnd:
    stats: TurnStats
    tail: str = ""  # text still owed when the reply ended inside a character


class ModelTurns:
    def __init__(self, path: str | Path, n_ctx: int = 2048, n_threads: int = 0, label: str = "") -> None:
        self.path = Path(path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.label = label or self.path.name
        self.client: EngineClient | None = None
        self.info: ModelInfo | None = None
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        c = self.client
        return c is not None and c.alive and self.info is not None

    @property
    def pid(self) -> int | None:
        c = self.client
        return c.pid if c is not None and c.alive else None

    def load(self) -> ModelInfo:
        """Start a fresh engine process and load the model (one model, one engine process)."""
        self.close()
        client = EngineClient(f"server-{self.label}")
        try:
            client.start()
            info = client.load(self.path, n_ctx=self.n_ctx, n_threads=self.n_threads or None)
        except BaseException:
            client.close()
            raise
        with self._lock:
            self.client, self.info = client, info
        return info

    def run(self, turn: TurnInput) -> Iterator[Piece | TurnEnd]:
        """Generate one reply (loading the model first if its engine is gone)."""
        if not self.ready:
            self.load()
        client = self.client
        assert client is not None
        try:
            for ev in client.generate(messages=turn.messages, prompt=turn.prompt, params=turn.params):
                if isinstance(ev, Token):
                    yield Piece(ev.text, ev.t_ns)
                elif isinstance(ev, Done):
                    yield TurnEnd(ev.stats, ev.tail)
        except EngineCrashed:
            log.warning("the engine of %s stopped; the next request starts a fresh one", self.label)
            self.close()
            raise

    def cancel(self) -> None:
        with self._lock:
            client = self.client
        if client is not None:
            client.cancel()

    def close(self) -> None:
        with self._lock:
            client, self.client, self.info = self.client, None, None
        if client is not None:
            client.close()
