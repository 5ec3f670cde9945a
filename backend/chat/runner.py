"""The turn runner: one reply, end to end, without Qt.

A `Turn` fits the conversation into the model's context (backend.chat.context), asks the engine
for the reply (the engine applies the model's chat template), streams it as events, writes it to
the store while it grows (about once a second, then with its final status and figures) and can
be cancelled from any thread, before or while it runs. The reply's text lives here while it
streams: the window, the store and the local API all take it from the turn. A reply may end at
a stop sequence (`TurnSpec.stops`): the text stops just before it, the engine is stopped, and
the reply counts the tokens up to the one that completed it.

Chat, Compare and the local API run turns; the window adapts the events to signals.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from backend.chat.context import ContextFull, Fitted, fit, normalize
from backend.chat.stops import StopScanner
from backend.chat.text import clean_messages, clean_text
from backend.engine.client import EngineClient
from backend.engine.errors import EngineCrashed, EngineError, EngineHung
from backend.engine.protocol import Done, Token, TokenBatch
from backend.store import CANCELLED, COMPLETE, FAILED, INTERRUPTED, Store

log = logging.getLogger("tern.chat")
# OpenAI's names for why a reply ended (the local API reports these)
FINISH_REASONS = {"eos": "stop", "stop": "stop", "length": "length", "context": "length", "cancelled": "cancelled"}


@dataclass
class TurnSpec:
    """What to ask: the whole conversation as the engine should see it, before the context policy."""

    messages: list[dict[str, Any]]
    params: dict[str, Any]
    policy: str | None = None  # a context policy; None sends the messages as they are (benchmarks)
    prefix: str = ""  # the reply so far, when a cut-off reply is continued
    prompt: str | None = None  # a raw prompt instead of messages (no chat template)
    reply_id: int | None = None  # the store row the reply is written to (None: not recorded)
    stops: tuple[str, ...] = ()  # stop sequences: the reply ends just before the first one it produces


@dataclass
class Started:
    prompt_tokens: int | None
    n_ctx: int | None
    dropped: int = 0  # messages the context policy left out
    policy: str | None = None


@dataclass
class Delta:
    """Tokens that arrived together: their text, where it starts in the reply, and each token's time."""

    text: str
    offset: int
    tokens: list[Token]


@dataclass
class TurnResult:
    status: str  # complete, cancelled, interrupted (the engine hung), error
    text: str  # the whole reply, a continued reply's earlier part included
    stats: dict[str, Any]
    error: BaseException | None = None

    @property
    def stop_reason(self) -> str:
        return str(self.stats.get("stop_reason", "error"))

    @property
    def finish_reason(self) -> str:
        return FINISH_REASONS.get(self.stop_reason, "error")

    @property
    def usage(self) -> dict[str, int]:
        """OpenAI's token counts: a reply cut at a stop sequence counts the tokens up to the one that completed it."""
        prompt = int(self.stats.get("prompt_tokens") or 0)
        out = int(self.stats.get("completion_tokens", self.stats.get("output_tokens")) or 0)
        return {"prompt_tokens": prompt, "completion_tokens": out, "total_tokens": prompt + out}


@dataclass
class Finished:
    result: TurnResult


TurnEvent = Started | Delta | Finished


@dataclass
class _Recorder:
    """Writes the growing reply to the store row: about every `interval_s` seconds, and at the end."""

    store: Store | None
    reply_id: int | None
    interval_s: float
    clock: Callable[[], float]
    last: float = 0.0
    writes: int = 0
    written: int = -1

    def maybe(self, length: int, text: Callable[[], str]) -> None:
        """The reply is `length` characters now; `text()` is joined only when a write is due."""
        if self.store is None or self.reply_id is None:
            return
        now = self.clock()
        if now - self.last >= self.interval_s and length != self.written:
            self.store.update_message(self.reply_id, content=text())
            self.last, self.written = now, length
            self.writes += 1

    def final(self, text: str, status: str, stats: dict[str, Any]) -> None:
        if self.store is None or self.reply_id is None:
            return
        self.store.update_message(self.reply_id, content=text, status=status, stats=stats)
        self.store.touch(self.store.message(self.reply_id).conversation_id)
        self.writes += 1


class Turn:
    def __init__(self, spec: TurnSpec, store: Store | None = None, save_interval_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.spec = spec
        self._parts: list[str] = [spec.prefix] if spec.prefix else []
        self._length = len(spec.prefix)  # of the reply so far: the offset of the next piece
        self._lock = threading.Lock()
        self._cancelled = False
        self._engine: EngineClient | None = None
        self._rid: int | None = None
        self.fitted: Fitted | None = None
        self.result: TurnResult | None = None
        self.recorder = _Recorder(store, spec.reply_id, save_interval_s, clock, last=clock())
        self._stops = StopScanner(spec.stops)
        self._kept_tokens = 0  # tokens whose text is in the reply (or held back as the start of a stop sequence)

    # -- any thread -------------------------------------------------------------------------
    @property
    def text(self) -> str:
        """The reply so far (safe to read from any thread)."""
        with self._lock:
            return "".join(self._parts)

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        """Stop the reply: at once if it runs, before it starts if it has not started yet."""
        with self._lock:
            self._cancelled = True
            engine, rid = self._engine, self._rid
        if engine is not None and rid is not None:
            engine.cancel(rid)

    def fail(self, error: BaseException) -> TurnResult:
        """End a turn that could not run at all (no engine): recorded as failed, with its text."""
        return self._finish(FAILED, self._stats({"stop_reason": "error", "error": str(error)}), error).result

    # -- the thread that runs it ------------------------------------------------------------
    def run(self, engine: EngineClient, on_event: Callable[[TurnEvent], None] | None = None) -> TurnResult:
        """Run the turn to its end on `engine` (blocking), passing each event to `on_event`."""
        for ev in self.events(engine):
            if on_event is not None:
                on_event(ev)
        assert self.result is not None
        return self.result

    def events(self, engine: EngineClient) -> Iterator[TurnEvent]:
        """The turn's events: Started, Delta…, Finished (always last, whatever happened)."""
        spec = self.spec
        stats: dict[str, Any] = {}
        stream: Iterator[TokenBatch | Done] | None = None
        try:
            if self._cancelled:
                raise _CancelledBeforeStart
            messages = clean_messages(spec.messages)
            if spec.policy is not None and spec.prompt is None:
                max_tokens = int(spec.params.get("max_tokens") or 512)
                n_ctx = engine.info.n_ctx if engine.info else 2048
                self.fitted = fit(messages, normalize(spec.policy), lambda m: engine.count(m, spec.prefix)[0],
                                  n_ctx, max_tokens)
                messages = self.fitted.messages
                yield Started(self.fitted.prompt_tokens, n_ctx, self.fitted.dropped, self.fitted.policy)
            else:
                yield Started(None, engine.info.n_ctx if engine.info else None)
            rid = engine.reserve_id()
            with self._lock:
                self._engine, self._rid = engine, rid
                cancelled = self._cancelled
            if cancelled:
                raise _CancelledBeforeStart
            stream = engine.stream(None if spec.prompt is not None else messages, spec.params,
                                   prompt=clean_text(spec.prompt) if spec.prompt is not None else None,
                                   prefix=spec.prefix, rid=rid)
            for ev in stream:
                if isinstance(ev, TokenBatch):
                    if self._stops.hit:
                        continue  # tokens past a stop sequence, sampled before the engine stopped
                    piece, tokens = self._scan(ev.tokens)
                    if self._stops.hit:
                        engine.cancel(rid)  # the reply is complete: stop generating
                    if piece or tokens:
                        yield self._append(piece, tokens)
                elif isinstance(ev, Done):
                    rest = "" if self._stops.hit else self._stops.feed(ev.tail) + self._stops.flush()
                    if rest:
                        yield self._append(rest, [])
                    stats = self._stats(ev.stats.to_dict())
                    status = CANCELLED if ev.stats.stop_reason == "cancelled" else COMPLETE
                    if self._stops.hit:
                        stats.update(stop_reason="stop", completion_tokens=self._kept_tokens)
                        status = COMPLETE
                    yield self._finish(status, stats)
                    return
            raise EngineError("The engine ended the reply without its figures.", code="no_done")
        except _CancelledBeforeStart:
            yield self._finish(CANCELLED, self._stats({"stop_reason": "cancelled", "output_tokens": 0}))
        except EngineHung as e:
            yield self._finish(INTERRUPTED, self._stats({"stop_reason": "hung", "error": str(e)}), e)
        except (EngineCrashed, EngineError, ContextFull) as e:
            reason = "context_full" if isinstance(e, ContextFull) else "error"
            yield self._finish(FAILED, self._stats({"stop_reason": reason, "error": str(e)}), e)
        except GeneratorExit:  # the caller stopped listening: the reply is cancelled, and recorded so
            if stream is not None:
                stream.close()  # cancels in the engine and waits for it to be ready again
            if self.result is None:
                self._finish(CANCELLED, self._stats({"stop_reason": "cancelled"}))
            raise
        except Exception as e:  # a bug must still end the turn, recorded, with the text kept
            log.exception("turn failed")
            yield self._finish(FAILED, self._stats({"stop_reason": "error", "error": f"{type(e).__name__}: {e}"}), e)

    def _scan(self, tokens: list[Token]) -> tuple[str, list[Token]]:
        """The text of `tokens` that may be shown now, and the tokens that came before any stop sequence."""
        if not self._stops.stops:
            self._kept_tokens += len(tokens)
            return "".join(t.text for t in tokens), tokens
        out = []
        for i, t in enumerate(tokens):
            out.append(self._stops.feed(t.text))
            if self._stops.hit:
                self._kept_tokens += i + 1
                return "".join(out), tokens[: i + 1]
        self._kept_tokens += len(tokens)
        return "".join(out), tokens

    def _append(self, piece: str, tokens: list[Token]) -> Delta:
        with self._lock:
            offset = self._length
            self._parts.append(piece)
            self._length += len(piece)
        self.recorder.maybe(offset + len(piece), lambda: self.text)
        return Delta(piece, offset, tokens)

    def _stats(self, stats: dict[str, Any]) -> dict[str, Any]:
        if self.fitted is not None:
            stats["context"] = self.fitted.to_dict()
        if self.spec.prefix:
            stats["continued"] = True
        return stats

    def _finish(self, status: str, stats: dict[str, Any], error: BaseException | None = None) -> Finished:
        held = self._stops.flush()  # a reply that ended otherwise keeps text that only looked like a stop's start
        if held:
            with self._lock:
                self._parts.append(held)
                self._length += len(held)
        text = self.text
        try:
            self.recorder.final(text, status, stats)
        except Exception as e:  # the reply is still shown; the store's own failure is reported with it
            log.warning("could not record reply %s: %s", self.spec.reply_id, e)
            error = error or e
        self.result = TurnResult(status, text, stats, error)
        return Finished(self.result)


class _CancelledBeforeStart(Exception):
    pass
