"""Stop sequences in the turn runner: the reply ends just before the first one, the engine stops, and the
reply counts the tokens up to the one that completed it (the local API's `stop`; the chat could use it too)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.chat.model_engine import ModelEngine
from backend.chat.runner import Delta, Turn, TurnSpec
from backend.store import COMPLETE, Store

STORY = [{"role": "user", "content": "Tell me a story"}]
GREEDY = {"temperature": 0.0, "seed": 1, "ignore_eos": True}


@pytest.fixture()
def model(tiny: Path):
    m = ModelEngine(tiny, n_ctx=2048, n_threads=1)
    yield m
    m.close()


def run(model: ModelEngine, spec: TurnSpec, store: Store | None = None) -> tuple[str, Turn]:
    turn = Turn(spec, store, save_interval_s=0.0)
    text = ""
    with model.slot() as engine:
        for ev in turn.events(engine):
            if isinstance(ev, Delta):
                assert ev.offset == len(text)
                text += ev.text
    return text, turn


def test_the_reply_ends_before_the_stop_sequence_and_the_engine_stops(model: ModelEngine, tmp_path: Path) -> None:
    full, _ = run(model, TurnSpec(STORY, {**GREEDY, "max_tokens": 60}))
    stop = full[20:23]
    expected = full[: full.index(stop)]
    store = Store(tmp_path / "t.sqlite3")
    cid = store.create_conversation("stops").id
    reply = store.add_message(cid, "assistant", "")
    streamed, turn = run(model, TurnSpec(STORY, {**GREEDY, "max_tokens": 2000}, stops=(stop, "never-there"),
                                         reply_id=reply.id), store)
    r = turn.result
    assert r is not None and streamed == r.text == expected
    assert r.status == COMPLETE and r.stop_reason == "stop" and r.finish_reason == "stop"
    assert r.stats["output_tokens"] < 2000  # the engine was stopped, not run to the token limit
    assert 0 < r.usage["completion_tokens"] <= r.stats["output_tokens"]
    assert store.message(reply.id).content == expected and store.message(reply.id).status == COMPLETE


def test_text_that_only_looks_like_a_stop_is_kept(model: ModelEngine) -> None:
    full, _ = run(model, TurnSpec(STORY, {**GREEDY, "max_tokens": 30}))
    almost = full[-3:] + "\x01never"  # the reply ends with its first three characters: held back, then kept
    streamed, turn = run(model, TurnSpec(STORY, {**GREEDY, "max_tokens": 30}, stops=(almost,)))
    r = turn.result
    assert r is not None and streamed == r.text == full
    assert r.stop_reason == "length" and r.usage["completion_tokens"] == 30
