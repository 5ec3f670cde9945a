"""What the server served: one record per request, for the console and the app's request log.

Records are kept in a short ring and handed to subscribers (the console printer, the window's
log view) on the thread that finished the request; subscribers must not block.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from backend import units

log = logging.getLogger("tern.server")


@dataclass(frozen=True)
class RequestRecord:
    endpoint: str  # "/v1/chat/completions"
    model: str  # "tiny:TQ2_0", or what the client asked for when it was refused
    status: int  # HTTP status (0 when the client left before an answer)
    outcome: str  # "ok" | "cancelled" | "error"
    stream: bool = False
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = ""
    ttft_ms: float | None = None
    decode_tps: float | None = None
    j_per_token: float | None = None
    energy_label: str = ""  # the power source's label ("Measured · CPU package (RAPL)")
    energy_reason: str = ""  # why there is no J/token figure
    message: str = ""  # the error, or why it was cancelled
    t: float = 0.0  # wall clock when it finished

    def line(self) -> str:
        """One console line: `POST /v1/chat/completions tiny:TQ2_0 200 · 12+64 tokens · 55.1 tok/s …`."""
        parts = [f"{self.endpoint} {self.model or '-'} {self.status or '-'}"]
        if self.prompt_tokens is not None:
            parts.append(f"{self.prompt_tokens}+{self.completion_tokens or 0} tokens")
        if self.finish_reason:
            parts.append(f"finish: {self.finish_reason}")
        if self.outcome == "ok" or self.completion_tokens:
            parts.append(f"TTFT {units.ms(self.ttft_ms)}")
            parts.append(f"decode {units.tps(self.decode_tps)}")
            energy = units.per_token(self.j_per_token)
            parts.append(f"energy {energy}" + (f" ({self.energy_label})"
                                                if self.j_per_token is not None and self.energy_label else ""))
        if self.outcome != "ok":
            parts.append(f"{self.outcome}: {self.message}" if self.message else self.outcome)
        return " · ".join(parts)


class RequestLog:
    def __init__(self, keep: int = 500) -> None:
        self._records: collections.deque[RequestRecord] = collections.deque(maxlen=keep)
        self._listeners: list[Callable[[RequestRecord], None]] = []
        self._lock = threading.Lock()

    def add(self, record: RequestRecord) -> None:
        if not record.t:
            record = dataclasses.replace(record, t=time.time())
        with self._lock:
            self._records.append(record)
            listeners = list(self._listeners)
        log.info("%s", record.line())
        for fn in listeners:
            try:
                fn(record)
            except Exception:  # noqa: BLE001 - a broken listener must not break serving
                log.exception("request log listener failed")

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def subscribe(self, fn: Callable[[RequestRecord], None]) -> Callable[[], None]:
        """Call `fn` with each new record; returns the function that unsubscribes it."""
        with self._lock:
            self._listeners.append(fn)

        def unsubscribe() -> None:
            with self._lock:
                if fn in self._listeners:
                    self._listeners.remove(fn)

        return unsubscribe
