"""The turn runner on the real engine (tiny synthetic models) and a real store."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from backend.chat.context import ROLLING, STOP, TRUNCATE_MIDDLE
from backend.chat.model_engine import ModelEngine
from backend.chat.runner import Delta, Finished, Started, Turn, TurnSpec
from backend.chat.session import ChatSession
from backend.store import CANCELLED, COMPLETE, FAILED, INTERRUPTED, STREAMING, Store

GREEDY = {"temperature": 0.0, "seed": 1, "ignore_eos": True}


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "t.sqlite3")


@pytest.fixture()
def model(tiny: Path):
    m = ModelEngine(tiny, n_ctx=512, n_threads=1)
    yield m
    m.close()


def test_a_turn_streams_batches_and_records_the_reply(model: ModelEngine, store: Store) -> None:
    session = ChatSession(store)
    cid = session.new_conversation().id
    turn_ = session.begin_turn(cid, "Hello there", "tiny", extra={**GREEDY, "max_tokens": 40})
    assert store.message(turn_.reply.id).status == STREAMING  # the user message and the reply row exist at once
    turn = Turn(turn_.spec, store, save_interval_s=0.0)
    events = []
    with model.slot() as engine:
        result = turn.run(engine, events.append)
    assert isinstance(events[0], Started) and events[0].n_ctx == 512 and events[0].prompt_tokens > 0
    assert isinstance(events[-1], Finished) and events[-1].result is result
    deltas = [e for e in events if isinstance(e, Delta)]
    assert sum(len(d.tokens) for d in deltas) == 40
    assert len(deltas) < 40 or len(deltas) == 1  # tokens come in batches, never fewer tokens than events
    # offsets say where each batch starts: together they rebuild the reply exactly
    text = ""
    for d in deltas:
        assert d.offset == len(text)
        text += d.text
    assert result.text == text == turn.text
    assert result.status == COMPLETE and result.stop_reason == "length" and result.finish_reason == "length"
    assert result.usage["completion_tokens"] == 40 and result.usage["prompt_tokens"] == events[0].prompt_tokens
    saved = store.message(turn_.reply.id)
    assert saved.status == COMPLETE and saved.content == text and saved.stats["decode_tps"] > 0
    assert saved.stats["context"] == {"policy": TRUNCATE_MIDDLE, "dropped": 0,
                                      "prompt_tokens": events[0].prompt_tokens, "n_ctx": 512}
    assert turn.recorder.writes >= 2  # while streaming, then at the end


def test_cancel_before_the_turn_starts_asks_the_engine_nothing(model: ModelEngine, store: Store) -> None:
    turn = Turn(TurnSpec([{"role": "user", "content": "hi"}], {**GREEDY, "max_tokens": 100_000}))
    turn.cancel()
    with model.slot() as engine:
        t0 = time.perf_counter()
        result = turn.run(engine)
        assert time.perf_counter() - t0 < 1.0
        assert result.status == CANCELLED and result.text == "" and result.stats["output_tokens"] == 0
        # the engine is untouched and serves the next turn
        assert Turn(TurnSpec([{"role": "user", "content": "hi"}], {**GREEDY, "max_tokens": 3})).run(
            engine).stats["output_tokens"] == 3


def test_cancel_from_another_thread_keeps_the_partial_reply(long_tiny: Path, store: Store) -> None:
    model = ModelEngine(long_tiny, n_ctx=65536, n_threads=1)
    try:
        session = ChatSession(store)
        cid = session.new_conversation().id
        ct = session.begin_turn(cid, "Go on", None, extra={**GREEDY, "max_tokens": 1_000_000})
        turn = Turn(ct.spec, store)
        got = threading.Event()

        def on_event(ev) -> None:
            if isinstance(ev, Delta) and len(turn.text) > 20:
                got.set()

        with model.slot() as engine:
            t = threading.Thread(target=turn.run, args=(engine, on_event))
            t.start()
            assert got.wait(60)
            turn.cancel()
            t.join(10)
            assert not t.is_alive()
        assert turn.result.status == CANCELLED and len(turn.result.text) > 20
        assert store.message(ct.reply.id).content == turn.result.text
        assert store.message(ct.reply.id).status == CANCELLED
    finally:
        model.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGSTOP is POSIX")
def test_a_frozen_engine_ends_the_turn_interrupted_and_the_next_turn_starts_a_fresh_one(
        long_tiny: Path, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERN_ENGINE_HANG_S", "1.5")
    model = ModelEngine(long_tiny, n_ctx=65536, n_threads=1)
    try:
        session = ChatSession(store)
        cid = session.new_conversation().id
        ct = session.begin_turn(cid, "Go on", None, extra={**GREEDY, "max_tokens": 1_000_000})
        turn = Turn(ct.spec, store, save_interval_s=0.0)
        frozen_pid = []

        def on_event(ev) -> None:
            if isinstance(ev, Delta) and not frozen_pid and len(turn.text) > 10:
                frozen_pid.append(model.pid)
                os.kill(model.pid, signal.SIGSTOP)

        t0 = time.monotonic()
        with model.slot() as engine:
            result = turn.run(engine, on_event)
        elapsed = time.monotonic() - t0
        assert frozen_pid and result.status == INTERRUPTED and elapsed < 60
        assert "stopped responding" in result.stats["error"] and "kill -STOP" in result.stats["error"]
        saved = store.message(ct.reply.id)
        assert saved.status == INTERRUPTED and len(saved.content) > 10 and saved.content == result.text
        assert not model.ready  # the frozen process was ended …
        with pytest.raises(ProcessLookupError):
            os.kill(frozen_pid[0], 0)
        with model.slot() as engine:  # … and the next request starts a fresh one
            assert engine.pid != frozen_pid[0]
            again = Turn(TurnSpec([{"role": "user", "content": "hi"}], {**GREEDY, "max_tokens": 4})).run(engine)
        assert again.status == COMPLETE and again.stats["output_tokens"] == 4 and model.starts == 2
    finally:
        model.close()


def long_conversation(store: Store, system: str = "Be brief.") -> tuple[ChatSession, int]:
    """A conversation of 8 exchanges, ~1,900 tokens (the tiny model's vocabulary is bytes): far more than 1,024."""
    session = ChatSession(store)
    cid = session.new_conversation().id
    session.set_options(cid, system_prompt=system)
    for i in range(8):
        store.add_message(cid, "user", f"question {i}: " + "tell me more " * 12)
        store.add_message(cid, "assistant", f"answer {i}: " + "here is more " * 12)
    return session, cid


@pytest.mark.parametrize("policy", [TRUNCATE_MIDDLE, ROLLING])
def test_an_overflowing_conversation_is_fitted_by_its_policy(tiny: Path, store: Store, policy: str) -> None:
    session, cid = long_conversation(store)
    session.set_options(cid, policy=policy)
    ct = session.begin_turn(cid, "the last question", None, extra={**GREEDY, "max_tokens": 32})
    model = ModelEngine(tiny, n_ctx=1024, n_threads=1)
    try:
        with model.slot() as engine:
            turn = Turn(ct.spec, store)
            result = turn.run(engine)
            full, _ = engine.count(ct.spec.messages)
    finally:
        model.close()
    assert full > 1.5 * 1024  # it really overflows
    assert result.status == COMPLETE and result.stats["output_tokens"] == 32
    ctx = result.stats["context"]
    assert ctx["policy"] == policy and ctx["dropped"] > 0 and ctx["prompt_tokens"] + 32 <= 1024
    sent = turn.fitted.messages
    assert sent[0] == {"role": "system", "content": "Be brief."}
    assert sent[-1]["content"] == "the last question"
    if policy == TRUNCATE_MIDDLE:
        assert sent[1]["content"].startswith("question 0") and sent[2]["content"].startswith("answer 0")
    else:
        assert not any(m["content"].startswith("question 0") for m in sent)
    # whole exchanges are left out: roles still alternate after the system prompt
    roles = [m["role"] for m in sent[1:]]
    assert all(a != b for a, b in zip(roles, roles[1:], strict=False))


def test_the_stop_policy_says_the_context_is_full(tiny: Path, store: Store) -> None:
    session, cid = long_conversation(store)
    session.set_options(cid, policy=STOP)
    ct = session.begin_turn(cid, "the last question", None, extra={**GREEDY, "max_tokens": 32})
    model = ModelEngine(tiny, n_ctx=256, n_threads=1)
    try:
        with model.slot() as engine:
            result = Turn(ct.spec, store).run(engine)
            assert engine.alive and model.ready  # the engine was never asked to overflow
    finally:
        model.close()
    assert result.status == FAILED and result.stop_reason == "context_full"
    assert "context full" in result.stats["error"] and "256" in result.stats["error"]
    assert store.message(ct.reply.id).status == FAILED


def test_a_reply_that_fills_the_context_says_so(tiny: Path) -> None:
    model = ModelEngine(tiny, n_ctx=128, n_threads=1)
    try:
        with model.slot() as engine:
            result = Turn(TurnSpec([{"role": "user", "content": "hi"}], {**GREEDY, "max_tokens": 10_000},
                                   policy=TRUNCATE_MIDDLE)).run(engine)
    finally:
        model.close()
    assert result.status == COMPLETE and result.stop_reason == "context"  # not "length": a different label


def test_continue_goes_on_from_the_text_so_far(model: ModelEngine, store: Store) -> None:
    session = ChatSession(store)
    cid = session.new_conversation().id
    ct = session.begin_turn(cid, "Hello", None, extra={**GREEDY, "max_tokens": 6})
    with model.slot() as engine:
        first = Turn(ct.spec, store).run(engine)
        assert first.stop_reason == "length"
        cont = session.begin_continue(cid, ct.reply.id, None, extra={**GREEDY, "max_tokens": 6})
        assert store.message(ct.reply.id).status == STREAMING
        result = Turn(cont.spec, store).run(engine)
    assert result.text.startswith(first.text) and len(result.text) > len(first.text)
    assert result.stats["continued"] and result.stats["output_tokens"] == 6
    saved = store.message(ct.reply.id)
    assert saved.content == result.text and saved.status == COMPLETE
    # the engine saw the reply so far as the start of its answer, not as a finished message
    assert result.stats["prompt_tokens"] > first.stats["prompt_tokens"]


def test_text_that_is_not_valid_unicode_is_replaced_not_fatal(model: ModelEngine) -> None:
    with model.slot() as engine:
        pid = engine.pid
        result = Turn(TurnSpec([{"role": "user", "content": "hi \udcff there"}], {**GREEDY, "max_tokens": 4},
                               policy=TRUNCATE_MIDDLE)).run(engine)
        assert result.status == COMPLETE and engine.pid == pid and engine.alive


def test_loading_again_starts_a_fresh_engine_process(tiny_models: dict[str, Path]) -> None:
    model = ModelEngine(tiny_models["f16"], n_ctx=512, n_threads=1)
    try:
        first = model.load()
        model.path = tiny_models["tq2_0"]
        second = model.load()
        assert first.pid != second.pid and second.encoding == "TQ2_0"
        with pytest.raises(ProcessLookupError):
            os.kill(first.pid, 0)
    finally:
        model.close()


def test_requests_take_turns_in_arrival_order(model: ModelEngine) -> None:
    order: list[int] = []
    spec = TurnSpec([{"role": "user", "content": "hi"}], {**GREEDY, "max_tokens": 3})
    with model.slot():  # hold the engine while the others queue up, in a known order
        threads = []
        for i in range(4):
            def run(i: int = i) -> None:
                with model.slot() as engine:
                    order.append(i)
                    Turn(spec).run(engine)
            t = threading.Thread(target=run)
            t.start()
            threads.append(t)
            deadline = time.monotonic() + 10
            while model.queued < i + 1 and time.monotonic() < deadline:
                time.sleep(0.01)
    for t in threads:
        t.join(60)
    assert order == [0, 1, 2, 3]


def test_the_reply_is_written_about_once_a_second_while_it_streams(long_tiny: Path, store: Store) -> None:
    """With a clock that moves 0.25 s per batch, the growing reply reaches the store every 4th batch."""
    session = ChatSession(store)
    cid = session.new_conversation().id
    ct = session.begin_turn(cid, "Go on", None, extra={**GREEDY, "max_tokens": 3000})
    ticks = [0.0]

    def clock() -> float:
        ticks[0] += 0.25
        return ticks[0]

    turn = Turn(ct.spec, store, save_interval_s=1.0, clock=clock)
    on_disk: list[tuple[str, str]] = []

    def on_event(ev) -> None:
        if isinstance(ev, Delta):
            m = store.message(ct.reply.id)
            on_disk.append((m.status, m.content))

    model = ModelEngine(long_tiny, n_ctx=4096, n_threads=1)
    try:
        with model.slot() as engine:
            result = turn.run(engine, on_event)
    finally:
        model.close()
    batches = len(on_disk)
    assert batches >= 8
    assert abs(turn.recorder.writes - (batches // 4 + 1)) <= 1  # ~once per simulated second, and at the end
    # while it streams the store holds a prefix of the reply, marked streaming; at the end all of it
    assert all(status == STREAMING and result.text.startswith(text) for status, text in on_disk)
    assert store.message(ct.reply.id).content == result.text
