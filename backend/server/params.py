"""Request bodies → typed turns, checked where they enter: a bad field is a 400 that names it.

Standard fields: `model`, `messages` (chat) or `prompt` (completions), `max_tokens` /
`max_completion_tokens`, `temperature`, `top_p`, `seed`, `stop`, `stream`, `stream_options`.
llama.cpp's own sampling fields are accepted too, as llama-server does: `top_k`, `min_p`,
`repeat_penalty`, `ignore_eos`. Tern's own, for chat: `context_policy` (`truncate_middle`, `rolling`
or `stop`) leaves older messages out of a conversation too long for the context, as the app does;
without it a prompt that does not fit is a 400 `context_length_exceeded`, as OpenAI clients
expect. A field asking for something Tern does not do (tools, logprobs,
n > 1, penalties other than `repeat_penalty`) is refused rather than silently ignored; fields
that change nothing about the reply (`user`, `metadata`, …) are ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from backend.chat.context import POLICIES
from backend.server.errors import ApiError, bad_request

ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
MAX_STOPS = 4
MAX_STOP_CHARS = 256
MAX_MODEL_CHARS = 256
COMPLETIONS_DEFAULT_MAX_TOKENS = 16  # OpenAI's default for /v1/completions
_SEED_RANGE = 2**32


@dataclass(frozen=True)
class TurnRequest:
    kind: str  # "chat" | "completion"
    model: str  # as the client wrote it ("" when absent)
    messages: list[dict[str, str]] | None = None
    prompt: str | None = None
    max_tokens: int | None = None  # None: until the end of the reply or of the context
    sampling: dict[str, Any] = field(default_factory=dict)  # only the fields the client gave
    stop: tuple[str, ...] = ()
    stream: bool = False
    include_usage: bool = False
    context_policy: str | None = None  # chat only: leave out older messages that do not fit (None: 400)

    def engine_params(self, default_max_tokens: int) -> dict[str, Any]:
        return {**self.sampling, "max_tokens": self.max_tokens or default_max_tokens}


def load_json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as e:
        raise bad_request(f"The request body is not valid JSON ({e}).", code="invalid_json") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", code="invalid_json")
    return body


def parse_chat(body: dict[str, Any]) -> TurnRequest:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("`messages` must be a non-empty list of {role, content} objects.", "messages")
    out = [_message(m, i) for i, m in enumerate(messages)]
    _refuse(body, "tools", "tool calls are not supported by this server", empty_ok=True)
    _refuse(body, "functions", "function calls are not supported by this server", empty_ok=True)
    if body.get("logprobs"):
        raise bad_request("`logprobs` is not supported by this server.", "logprobs")
    _refuse(body, "top_logprobs", "logprobs are not supported by this server")
    fmt = body.get("response_format")
    if fmt is not None and not (isinstance(fmt, dict) and fmt.get("type") == "text"):
        raise bad_request("Only `response_format: {\"type\": \"text\"}` is supported.", "response_format")
    max_tokens = _max_tokens(body, "max_completion_tokens") or _max_tokens(body, "max_tokens")
    policy = body.get("context_policy")
    if policy is not None and policy not in POLICIES:
        raise bad_request(f"`context_policy` must be one of {', '.join(POLICIES)}: which older messages to leave "
                          "out when the conversation does not fit the model's context.", "context_policy")
    return _common(body, "chat", max_tokens, messages=out, context_policy=policy)


def parse_completion(body: dict[str, Any]) -> TurnRequest:
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise bad_request("`prompt` must be a string (one prompt per request; token arrays are not supported).",
                          "prompt")
    if body.get("echo"):
        raise bad_request("`echo` is not supported by this server.", "echo")
    _refuse(body, "suffix", "`suffix` (insertion) is not supported by this server")
    _refuse(body, "logprobs", "logprobs are not supported by this server")
    _refuse(body, "context_policy", "a context policy leaves out chat messages; a prompt has none (use "
            "/v1/chat/completions)")
    if body.get("best_of") not in (None, 1):
        raise bad_request("`best_of` must be 1: this server returns one completion per request.", "best_of")
    max_tokens = _max_tokens(body, "max_tokens") or COMPLETIONS_DEFAULT_MAX_TOKENS
    return _common(body, "completion", max_tokens, prompt=prompt)


def _common(body: dict[str, Any], kind: str, max_tokens: int | None, **what: Any) -> TurnRequest:
    model = body.get("model", "")
    if model is None:
        model = ""
    if not isinstance(model, str) or len(model) > MAX_MODEL_CHARS:
        raise bad_request("`model` must be the name of a local model (see GET /v1/models).", "model")
    if body.get("n") not in (None, 1):
        raise bad_request("`n` must be 1: this server returns one choice per request.", "n")
    for name in ("frequency_penalty", "presence_penalty"):
        if body.get(name) not in (None, 0, 0.0):
            raise bad_request(f"`{name}` is not supported; use `repeat_penalty` (llama.cpp's) instead.", name)
    if body.get("logit_bias"):
        raise bad_request("`logit_bias` is not supported by this server.", "logit_bias")
    stream = _bool(body, "stream", False)
    options = body.get("stream_options")
    include_usage = False
    if options is not None:
        if not stream:
            raise bad_request("`stream_options` is only allowed when `stream` is true.", "stream_options")
        if not isinstance(options, dict):
            raise bad_request("`stream_options` must be an object.", "stream_options")
        include_usage = _bool(options, "include_usage", False, "stream_options.include_usage")
    sampling: dict[str, Any] = {}
    for name, lo, hi in (("temperature", 0.0, 2.0), ("top_p", 0.0, 1.0), ("min_p", 0.0, 1.0),
                         ("repeat_penalty", 0.01, 10.0)):
        value = _number(body, name, lo, hi)
        if value is not None:
            sampling[name] = value
    top_k = _int(body, "top_k", 0, 100_000)
    if top_k is not None:
        sampling["top_k"] = top_k
    seed = _int(body, "seed", -1, 2**64 - 1)
    if seed is not None:
        sampling["seed"] = -1 if seed < 0 else seed % _SEED_RANGE  # llama.cpp seeds are 32-bit
    if body.get("ignore_eos") is not None:
        sampling["ignore_eos"] = _bool(body, "ignore_eos", False)
    return TurnRequest(kind, model.strip(), max_tokens=max_tokens, sampling=sampling, stop=_stops(body),
                       stream=stream, include_usage=include_usage, **what)


def _message(m: Any, i: int) -> dict[str, str]:
    where = f"messages[{i}]"
    if not isinstance(m, dict):
        raise bad_request(f"`{where}` must be an object with `role` and `content`.", where)
    role = m.get("role")
    if role not in ROLES:
        if role in ("tool", "function"):
            raise bad_request(f"`{where}`: tool and function messages are not supported.", f"{where}.role")
        raise bad_request(f"`{where}.role` must be one of {', '.join(ROLES)}.", f"{where}.role")
    if m.get("tool_calls"):
        raise bad_request(f"`{where}`: tool calls are not supported.", f"{where}.tool_calls")
    content = m.get("content")
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise bad_request(f"`{where}.content`: only text parts are supported (these models read text).",
                                  f"{where}.content")
            parts.append(part["text"])
        content = "".join(parts)
    if not isinstance(content, str):
        raise bad_request(f"`{where}.content` must be a string or a list of text parts.", f"{where}.content")
    return {"role": ROLES[role], "content": content}


def _stops(body: dict[str, Any]) -> tuple[str, ...]:
    stop = body.get("stop")
    if stop is None:
        return ()
    stops = [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, list) or len(stops) > MAX_STOPS or \
            not all(isinstance(s, str) and 0 < len(s) <= MAX_STOP_CHARS for s in stops):
        raise bad_request(f"`stop` must be a non-empty string or a list of at most {MAX_STOPS} "
                          f"(1–{MAX_STOP_CHARS} characters each).", "stop")
    return tuple(stops)


def _max_tokens(body: dict[str, Any], name: str) -> int | None:
    return _int(body, name, 1, 10_000_000)


def _refuse(body: dict[str, Any], name: str, why: str, empty_ok: bool = False) -> None:
    value = body.get(name)
    if value is None or (empty_ok and value in ([], {})):
        return
    raise bad_request(f"`{name}`: {why}.", name)


def _bool(body: dict[str, Any], name: str, default: bool, where: str | None = None) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad_request(f"`{where or name}` must be true or false.", where or name)
    return value


def _int(body: dict[str, Any], name: str, lo: int, hi: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise bad_request(f"`{name}` must be a whole number from {lo:,} to {hi:,}.", name)
    return value


def _number(body: dict[str, Any], name: str, lo: float, hi: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise bad_request(f"`{name}` must be a number from {lo:g} to {hi:g}.", name)
    return float(value)


__all__ = ["ApiError", "TurnRequest", "load_json", "parse_chat", "parse_completion"]
