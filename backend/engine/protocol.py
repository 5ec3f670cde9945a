"""The JSON-lines protocol between EngineClient (parent) and the engine worker (child).

Requests carry an `id`; every event answering a request carries the same `id`, so a client
can drop events of a request it has given up on. One JSON object per line, UTF-8.

Requests: load, generate, count, cancel, unload, ping, shutdown, set_threads, calibrate, bandwidth.
Events: ready, loaded, tokens (`items`: [[text, index, t_ns], …] — tokens are batched, at most 25 ms
apart, each with the worker's wall-clock time), done (`stats`, `tail`), counted (`n`, `n_ctx`),
unloaded, pong, threads_set (`n_threads`, `n_threads_batch`), calibrating (`done`, `total`, `what`)
… calibrated (`cancelled`, `result`), bandwidth (`result`), error (`code`, `message`).

`load` takes `n_threads` (decode steps) and `n_threads_batch` (prompt batches; default: the same).

`{"op": "cancel", "id": N}` cancels request N only: at once if it is running, as soon as it
starts if it has not started yet, and not at all if it has already finished (so a late cancel
never stops the next reply). A generate request may carry `prefix`, text appended after the
chat template's prompt: the start of the reply when a cut-off reply is continued.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

# "length": the reply reached its max_tokens; "context": the model's context filled up first.
STOP_REASONS = ("eos", "length", "context", "cancelled", "error")

# Sampling defaults a person would expect from a chat app.
DEFAULT_PARAMS: dict[str, Any] = {
    "max_tokens": 512,
    "temperature": 0.7,
    "top_p": 0.95,
    "top_k": 40,
    "min_p": 0.05,
    "repeat_penalty": 1.1,
    "seed": -1,  # -1: a new random seed per turn
    "ignore_eos": False,  # benchmarks stop at the length, not at EOS
    "reuse_cache": True,  # reuse the KV cache of a shared prompt prefix (multi-turn chat)
}


def encode(obj: dict[str, Any]) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def decode(line: bytes) -> dict[str, Any]:
    obj = json.loads(line)
    if not isinstance(obj, dict):
        raise ValueError("protocol line is not an object")
    return obj


@dataclass
class ModelInfo:
    """What the worker reports after a load."""

    path: str
    architecture: str
    name: str
    encoding: str
    quant_types: dict[str, int]
    n_params: int
    file_bytes: int
    n_ctx: int
    n_ctx_train: int
    n_threads: int
    load_ms: float
    rss: int
    pid: int
    has_chat_template: bool
    synthetic: bool
    kv_bytes: int
    system_info: str = ""
    n_threads_batch: int = 0  # threads for prompt batches (0 from an engine that does not say: n_threads)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelInfo:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TurnStats:
    """Figures for one generated reply, all from the engine's own clock and the child's own counters."""

    prompt_tokens: int
    prompt_cached: int  # prompt tokens whose KV cache was reused, not evaluated again
    output_tokens: int
    ttft_ms: float | None  # request received → first token sampled
    prefill_ms: float | None
    prefill_tps: float | None
    decode_tps: float | None  # (output_tokens - 1) / (last token − first token)
    total_ms: float
    peak_rss: int  # the engine process's peak resident memory since it started, bytes
    rss: int  # resident memory at the end of the turn, bytes
    cpu_s: float  # CPU seconds the engine process used during the turn (all threads)
    stop_reason: str
    t_start_ns: int = 0  # time.perf_counter_ns() is not comparable across processes: wall clock (time_ns)
    t_first_ns: int = 0
    t_end_ns: int = 0

    @property
    def ms_per_token(self) -> float | None:
        return 1000.0 / self.decode_tps if self.decode_tps else None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TurnStats:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Token:
    text: str
    index: int
    t_ns: int  # wall clock (time.time_ns) in the worker when the token was sampled


@dataclass
class TokenBatch:
    """Tokens the engine sent in one message (at most 25 ms of them): one wake-up, one UI update."""

    tokens: list[Token]

    @property
    def text(self) -> str:
        return "".join(t.text for t in self.tokens)


@dataclass
class Done:
    stats: TurnStats
    tail: str = field(default="")  # text still owed when the reply ended inside a character
