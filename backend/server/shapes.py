"""OpenAI's response objects, and the `tern` extension that carries the turn's measured figures.

`tern` holds what the app shows for a reply, from the same sources: TTFT, prefill and decode
tok/s and peak RSS from the engine's own clock and counters (TurnStats), energy per token with
the power source's label (backend.bench.energy). A figure that could not be had is null, and
`tern.unavailable` (or `tern.energy.reason`) says why.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from backend.bench.energy import EnergyFigure, PowerLabel
from backend.server.lane import Finished
from backend.server.pool import ModelRef

DONE = b"data: [DONE]\n\n"
ABOUT = ("Figures from the engine process's own clock and counters: ttft_ms from the engine receiving the turn "
         "to its first token (queue_ms and load_ms come before it), decode_tps over the tokens after the first, "
         "peak_rss_bytes the engine process's high-water mark (one model per engine process).")


def sse(obj: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n\n"


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def tern_figures(ref: ModelRef, fin: Finished, energy: EnergyFigure) -> dict[str, Any]:
    s = fin.stats
    assert s is not None
    unavailable = {}
    if s.ttft_ms is None:
        unavailable["ttft_ms"] = "no token was generated"
    if s.decode_tps is None:
        unavailable["decode_tps"] = "a decode speed needs at least two generated tokens"
    if s.prefill_tps is None:
        unavailable["prefill_tps"] = "no prompt token was evaluated (all came from the cache)"
    label = PowerLabel.from_dict(energy.label)
    return {
        "model": ref.spec, "encoding": ref.encoding, "synthetic": ref.synthetic,
        "ttft_ms": s.ttft_ms, "prefill_tps": s.prefill_tps, "decode_tps": s.decode_tps,
        "ms_per_token": s.ms_per_token, "total_ms": s.total_ms,
        "prompt_tokens": s.prompt_tokens, "prompt_cached_tokens": s.prompt_cached, "generated_tokens": s.output_tokens,
        "stop_reason": s.stop_reason, "peak_rss_bytes": s.peak_rss, "rss_bytes": s.rss, "cpu_s": s.cpu_s,
        "queue_ms": fin.queue_ms, "load_ms": fin.load_ms,
        "context": fin.context,  # with `context_policy`: {policy, dropped (messages left out), prompt_tokens, n_ctx}
        "energy": {
            "j_per_token": energy.j_per_token, "joules": energy.joules, "avg_watts": energy.avg_watts,
            "status": energy.status, "label": label.describe(), "source": label.source, "method": label.method,
            "covers": label.covers, "baseline_note": energy.baseline_note, "reason": energy.reason or None,
        },
        "unavailable": unavailable,
        "about": ABOUT,
    }


class Render:
    """The objects of one response, chat (`chat.completion[.chunk]`) or completion (`text_completion`)."""

    def __init__(self, kind: str, model: str, include_usage: bool = False) -> None:
        self.chat = kind == "chat"
        self.id = ("chatcmpl-" if self.chat else "cmpl-") + uuid.uuid4().hex[:24]
        self.created = int(time.time())
        self.model = model
        self.include_usage = include_usage

    def _base(self, chunk: bool) -> dict[str, Any]:
        kind = "chat.completion" if self.chat else "text_completion"
        obj: dict[str, Any] = {"id": self.id, "object": kind + (".chunk" if chunk and self.chat else ""),
                               "created": self.created, "model": self.model}
        if chunk and self.include_usage:
            obj["usage"] = None
        return obj

    def _choice(self, text: str | None, finish: str | None, first: bool = False) -> dict[str, Any]:
        if not self.chat:
            return {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish}
        delta: dict[str, Any] = {"role": "assistant", "content": text or ""} if first else \
            ({"content": text} if text else {})
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}

    def opening(self) -> list[dict[str, Any]]:
        """What a stream starts with: chat announces the assistant's role in a first, empty chunk."""
        return [{**self._base(True), "choices": [self._choice("", None, first=True)]}] if self.chat else []

    def piece(self, text: str) -> dict[str, Any]:
        return {**self._base(True), "choices": [self._choice(text, None)]}

    def closing(self, finish: str, tern: dict[str, Any]) -> dict[str, Any]:
        return {**self._base(True), "choices": [self._choice(None, finish)], "tern": tern}

    def usage_chunk(self, counts: dict[str, int]) -> dict[str, Any]:
        return {**self._base(True), "choices": [], "usage": counts}

    def whole(self, text: str, finish: str, counts: dict[str, int], tern: dict[str, Any]) -> dict[str, Any]:
        if self.chat:
            choice = {"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                      "logprobs": None, "finish_reason": finish}
        else:
            choice = self._choice(text, finish)
        return {**self._base(False), "choices": [choice], "usage": counts, "tern": tern}
