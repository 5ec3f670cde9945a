"""Cancel by request id, hung engines, and input that must not hurt a healthy engine (real engine workers)."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from backend.engine import Done, EngineClient, EngineError, EngineHung, TokenBatch
from backend.engine.hardware import logical_cpus

GREEDY = {"temperature": 0.0, "seed": 1, "ignore_eos": True}
HELLO = [{"role": "user", "content": "Hello, who are you?"}]


def test_a_late_cancel_of_a_finished_request_does_not_stop_the_next(engine: EngineClient, long_tiny: Path) -> None:
    engine.load(long_tiny, n_ctx=65536, n_threads=1)
    first = engine.reserve_id()
    done = [ev for ev in engine.stream(HELLO, {**GREEDY, "max_tokens": 3}, rid=first) if isinstance(ev, Done)]
    assert done[0].stats.output_tokens == 3
    stream = engine.stream(HELLO, {**GREEDY, "max_tokens": 200})
    next(stream)  # the second reply is running …
    engine.cancel(first)  # … when a cancel for the first one arrives (a Stop pressed just too late)
    last = [ev for ev in stream][-1]
    assert isinstance(last, Done) and last.stats.stop_reason == "length" and last.stats.output_tokens == 200


def test_a_cancel_that_arrives_before_its_request_is_honoured(engine: EngineClient, tiny: Path) -> None:
    engine.load(tiny, n_threads=1)
    rid = engine.reserve_id()
    engine.cancel(rid)  # Stop pressed before the request reached the engine
    t0 = time.perf_counter()
    events = list(engine.stream(HELLO, {**GREEDY, "max_tokens": 100_000}, rid=rid))
    assert time.perf_counter() - t0 < 5
    assert isinstance(events[-1], Done) and events[-1].stats.stop_reason == "cancelled"
    assert events[-1].stats.output_tokens == 0
    after = list(engine.generate(HELLO, {**GREEDY, "max_tokens": 5}))
    assert after[-1].stats.output_tokens == 5  # and the next request is not affected


def test_tokens_arrive_in_batches(engine: EngineClient, long_tiny: Path) -> None:
    engine.load(long_tiny, n_ctx=65536, n_threads=1)
    batches = [ev for ev in engine.stream(HELLO, {**GREEDY, "max_tokens": 300}) if isinstance(ev, TokenBatch)]
    indexes = [t.index for b in batches for t in b.tokens]
    assert indexes == list(range(300))
    assert len(batches) < 300  # many tokens per message: the parent wakes once per batch, not per token


@pytest.mark.skipif(sys.platform == "win32", reason="SIGSTOP is POSIX")
def test_a_stopped_engine_is_declared_hung_within_the_bound(long_tiny: Path) -> None:
    with EngineClient("hang", hang_after=1.0) as engine:
        engine.load(long_tiny, n_ctx=65536, n_threads=1)
        stream = engine.stream(HELLO, {**GREEDY, "max_tokens": 1_000_000})
        next(stream)
        pid = engine.pid
        os.kill(pid, signal.SIGSTOP)
        t0 = time.monotonic()
        with pytest.raises(EngineHung) as err:
            for _ in stream:
                pass
        assert time.monotonic() - t0 < 15
        assert err.value.code == "hung" and f"pid {pid}" in str(err.value) and "kill -STOP" in str(err.value)
        assert not engine.alive
        engine.start()  # a fresh engine works
        engine.load(long_tiny, n_ctx=4096, n_threads=1)
        assert list(engine.generate(HELLO, {**GREEDY, "max_tokens": 3}))[-1].stats.output_tokens == 3


def test_a_slow_prompt_evaluation_is_not_mistaken_for_a_hang(tmp_path: Path) -> None:
    """No event for longer than the bound, but the engine is busy (CPU): it is left alone."""
    from backend.models.synth import make_model

    model = make_model(tmp_path / "demo.gguf", "demo", "tq2_0")
    long_prompt = [{"role": "user", "content": "lorem ipsum dolor " * 170}]  # ~1,900 tokens to evaluate
    with EngineClient("slow", hang_after=0.3) as engine:
        engine.load(model, n_ctx=2048, n_threads=1)
        done = list(engine.generate(long_prompt, {**GREEDY, "max_tokens": 2}))[-1]
    assert done.stats.output_tokens == 2
    assert done.stats.prefill_ms > 3 * 300  # the evaluation really outlasted the bound, silently


def test_the_engine_does_not_inherit_hub_tokens(engine_env_secret: EngineClient) -> None:
    environ = Path(f"/proc/{engine_env_secret.pid}/environ").read_bytes().split(b"\0")
    names = {e.split(b"=", 1)[0] for e in environ if e}
    assert b"HF_TOKEN" not in names and b"HUGGING_FACE_HUB_TOKEN" not in names and b"HF_HOME" not in names
    assert b"PYTHONPATH" in names


@pytest.fixture()
def engine_env_secret(monkeypatch: pytest.MonkeyPatch):
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc")
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value")
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", "hf_secret_value")
    client = EngineClient("env")
    client.start()
    yield client
    client.close()


def test_too_many_threads_are_bounded_to_the_machine(engine: EngineClient, tiny: Path) -> None:
    info = engine.load(tiny, n_threads=100_000)
    assert 1 <= info.n_threads <= logical_cpus()
    assert list(engine.generate(HELLO, {**GREEDY, "max_tokens": 3}))[-1].stats.output_tokens == 3


def test_text_that_cannot_be_encoded_is_refused_and_the_engine_lives(engine: EngineClient, tiny: Path) -> None:
    engine.load(tiny)
    pid = engine.pid
    with pytest.raises(EngineError) as err:
        list(engine.generate([{"role": "user", "content": "bad \udcff byte"}], {**GREEDY, "max_tokens": 3}))
    assert err.value.code == "bad_text"
    assert engine.alive and engine.pid == pid
    assert list(engine.generate(HELLO, {**GREEDY, "max_tokens": 3}))[-1].stats.output_tokens == 3


def test_count_says_what_a_reply_would_put_in_the_context(engine: EngineClient, tiny: Path) -> None:
    engine.load(tiny, n_ctx=512)
    n, n_ctx = engine.count(HELLO)
    done = list(engine.generate(HELLO, {**GREEDY, "max_tokens": 2}))[-1]
    assert n == done.stats.prompt_tokens and n_ctx == 512
    with_prefix, _ = engine.count(HELLO, prefix="Hi")
    assert with_prefix == n + 2  # two byte tokens
