"""Request bodies become typed turns; a bad field is refused with a 400 that names it."""

from __future__ import annotations

from typing import Any

import pytest

from backend.server.errors import ApiError
from backend.server.params import load_json, parse_chat, parse_completion

HI = [{"role": "user", "content": "hi"}]


def refused(fn: Any, body: Any) -> ApiError:
    with pytest.raises(ApiError) as e:
        fn(body)
    assert e.value.status == 400
    return e.value


def test_a_full_chat_request_becomes_engine_params() -> None:
    req = parse_chat({"model": " tiny:tq2_0 ", "messages": [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Hello "}, {"type": "text", "text": "there"}]},
    ], "max_completion_tokens": 7, "temperature": 0, "top_p": 0.5, "seed": 2**32 + 5, "stop": "\n",
        "stream": True, "stream_options": {"include_usage": True}, "top_k": 20, "ignore_eos": True,
        "user": "someone", "presence_penalty": 0})
    assert req.model == "tiny:tq2_0" and req.kind == "chat"
    assert req.messages == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}]
    assert req.stop == ("\n",) and req.stream and req.include_usage and req.context_policy is None
    assert req.engine_params(2048) == {"temperature": 0.0, "top_p": 0.5, "top_k": 20, "seed": 5,
                                       "ignore_eos": True, "max_tokens": 7}


def test_a_chat_may_ask_for_the_apps_context_policy() -> None:
    assert parse_chat({"messages": HI, "context_policy": "rolling"}).context_policy == "rolling"


def test_chat_without_a_limit_runs_to_the_context_and_completions_default_to_16() -> None:
    assert parse_chat({"messages": HI}).engine_params(4096)["max_tokens"] == 4096
    assert parse_completion({"prompt": ["Once"]}).engine_params(4096)["max_tokens"] == 16


@pytest.mark.parametrize(("body", "param"), [
    ({"messages": HI, "temperature": True}, "temperature"),
    ({"messages": HI, "top_p": 1.5}, "top_p"),
    ({"messages": HI, "max_tokens": 2.5}, "max_tokens"),
    ({"messages": HI, "seed": -7}, "seed"),
    ({"messages": HI, "stop": [""]}, "stop"),
    ({"messages": HI, "frequency_penalty": 0.5}, "frequency_penalty"),
    ({"messages": HI, "logprobs": True}, "logprobs"),
    ({"messages": HI, "response_format": {"type": "json_object"}}, "response_format"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}, "messages[0].content"),
    ({"messages": [{"role": "tool", "content": "42"}]}, "messages[0].role"),
    ({"messages": [{"role": "user"}]}, "messages[0].content"),
    ({"messages": HI, "model": 3}, "model"),
    ({"messages": HI, "context_policy": "forget_everything"}, "context_policy"),
])
def test_bad_chat_fields_are_named(body: dict[str, Any], param: str) -> None:
    assert refused(parse_chat, body).param == param


@pytest.mark.parametrize(("body", "param"), [
    ({"prompt": [1, 2, 3]}, "prompt"),
    ({"prompt": ["a", "b"]}, "prompt"),
    ({"prompt": "a", "echo": True}, "echo"),
    ({"prompt": "a", "best_of": 3}, "best_of"),
    ({"prompt": "a", "suffix": "z"}, "suffix"),
    ({"prompt": "a", "context_policy": "rolling"}, "context_policy"),
])
def test_bad_completion_fields_are_named(body: dict[str, Any], param: str) -> None:
    assert refused(parse_completion, body).param == param


@pytest.mark.parametrize("raw", [b"", b"{", b"[1]", b"\xff\xfe", b'"text"'])
def test_bodies_that_are_not_a_json_object(raw: bytes) -> None:
    assert refused(load_json, raw).code == "invalid_json"
