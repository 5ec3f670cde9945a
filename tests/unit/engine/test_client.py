"""EngineClient against real engine workers running llama.cpp on synthetic models."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from backend.engine import Done, EngineClient, EngineCrashed, EngineError, Token
from backend.errors import ModelFileError
from backend.models.synth import make_model
from tests.support import gguf_files

GREEDY = {"temperature": 0.0, "seed": 1, "ignore_eos": True}
HELLO = [{"role": "user", "content": "Hello, who are you?"}]


def run(engine: EngineClient, n: int, messages=HELLO, **params) -> tuple[list[Token], Done]:
    tokens, done = [], None
    for ev in engine.generate(messages, {**GREEDY, "max_tokens": n, **params}):
        if isinstance(ev, Token):
            tokens.append(ev)
        else:
            done = ev
    assert done is not None
    return tokens, done


def test_load_reports_the_model(engine: EngineClient, tiny: Path) -> None:
    info = engine.load(tiny, n_ctx=512, n_threads=1)
    assert info.architecture == "bitnet"
    assert info.encoding == "TQ2_0"
    assert info.file_bytes == tiny.stat().st_size
    assert info.n_ctx == 512 and info.n_threads == 1
    assert info.synthetic and info.has_chat_template
    assert info.pid == engine.pid != os.getpid()
    assert info.rss > 10 * 1024**2 and info.load_ms > 0
    assert "AVX" in info.system_info or "NEON" in info.system_info


def test_reply_streams_with_the_turn_figures(engine: EngineClient, tiny: Path) -> None:
    engine.load(tiny)
    tokens, done = run(engine, 24)
    s = done.stats
    assert [t.index for t in tokens] == list(range(24))
    assert s.output_tokens == 24 and s.stop_reason == "length"
    assert s.prompt_tokens > 10 and s.prompt_cached == 0
    assert 0 < s.ttft_ms < s.total_ms
    assert s.prefill_tps > 0 and s.decode_tps > 0
    assert s.peak_rss >= s.rss > 0 and s.cpu_s > 0
    # token timestamps come from the engine's clock and lie inside the turn
    assert s.t_start_ns <= tokens[0].t_ns <= tokens[-1].t_ns <= s.t_end_ns
    assert abs((tokens[0].t_ns - s.t_start_ns) / 1e6 - s.ttft_ms) < 1.0


def test_eos_ends_the_reply(engine: EngineClient, tiny: Path) -> None:
    engine.load(tiny)
    stops = {run(engine, 400, seed=s, temperature=1.5, ignore_eos=False)[1].stats.stop_reason for s in range(12)}
    assert "eos" in stops  # the random model samples EOS now and then, and the reply stops there


def test_same_weights_same_greedy_tokens(tiny_models: dict[str, Path]) -> None:
    texts = {}
    for enc, path in tiny_models.items():
        with EngineClient(enc) as engine:
            engine.load(path)
            texts[enc] = [t.text for t in run(engine, 32)[0]]
    assert texts["tq1_0"] == texts["tq2_0"]
    assert texts["f16"][:8] == texts["tq2_0"][:8]


def test_multi_turn_reuses_the_cached_prefix(engine: EngineClient, tiny: Path) -> None:
    engine.load(tiny)
    tokens, first = run(engine, 8)
    reply = "".join(t.text for t in tokens)
    follow = HELLO + [{"role": "assistant", "content": reply}, {"role": "user", "content": "And then?"}]
    _, second = run(engine, 8, follow)
    assert second.stats.prompt_cached >= first.stats.prompt_tokens - 1
    _, fresh = run(engine, 8, follow, reuse_cache=False)
    assert fresh.stats.prompt_cached == 0


def test_cancel_stops_the_reply_and_engine_stays_ready(engine: EngineClient, tiny: Path) -> None:
    engine.load(tiny)
    got: list[object] = []
    first_tokens = threading.Event()

    def consume() -> None:
        for ev in engine.generate(HELLO, {**GREEDY, "max_tokens": 1_000_000}):
            got.append(ev)
            if len(got) == 5:
                first_tokens.set()

    t = threading.Thread(target=consume)
    t.start()
    assert first_tokens.wait(30)
    engine.cancel()
    t.join(5)  # a generous bound, not a speed test: without the cancel this reply runs for a million tokens
    assert not t.is_alive()
    assert isinstance(got[-1], Done) and got[-1].stats.stop_reason == "cancelled"
    tokens, done = run(engine, 4)
    assert done.stats.stop_reason == "length" and len(tokens) == 4


def test_leaving_the_stream_early_drops_its_events(engine: EngineClient, tiny: Path) -> None:
    engine.load(tiny)
    stream = engine.generate(HELLO, {**GREEDY, "max_tokens": 100_000})
    for i, _ in enumerate(stream):
        if i == 3:
            break
    stream.close()
    tokens, done = run(engine, 5)
    assert [t.index for t in tokens] == list(range(5)) and done.stats.output_tokens == 5


def test_prompt_longer_than_context_is_refused_and_engine_carries_on(engine: EngineClient, tiny: Path) -> None:
    engine.load(tiny, n_ctx=256)
    with pytest.raises(EngineError) as err:
        run(engine, 4, [{"role": "user", "content": "word " * 400}])
    assert err.value.code == "context_full" and "context of 256" in str(err.value)
    assert run(engine, 4)[1].stats.output_tokens == 4


def test_generate_without_model(engine: EngineClient) -> None:
    with pytest.raises(EngineError) as err:
        run(engine, 4)
    assert err.value.code == "not_loaded"


def test_unload_then_reload(engine: EngineClient, tiny_models: dict[str, Path]) -> None:
    engine.load(tiny_models["f16"])
    engine.unload()
    assert engine.info is None
    with pytest.raises(EngineError):
        run(engine, 2)
    assert engine.load(tiny_models["tq1_0"]).encoding == "TQ1_0"


def test_bad_file_is_refused_before_the_engine_sees_it(engine: EngineClient, tiny: Path, tmp_path: Path) -> None:
    bad = gguf_files.truncated_in_data(tiny, tmp_path / "cut.gguf")
    with pytest.raises(ModelFileError, match="truncated"):
        engine.load(bad)
    assert engine.alive and engine.load(tiny).encoding == "TQ2_0"


def test_file_llama_cpp_rejects_is_a_clear_error(engine: EngineClient, tiny: Path, tmp_path: Path) -> None:
    # No feed-forward width: every header check passes (some architectures have none), llama.cpp's loader
    # refuses it for bitnet.
    bad = gguf_files.with_uint32(tiny, tmp_path / "mislabelled.gguf", "bitnet.feed_forward_length", 0)
    with pytest.raises(EngineError) as err:
        engine.load(bad)
    assert err.value.code == "load_failed" and "mislabelled.gguf" in str(err.value)
    assert engine.alive and engine.load(tiny).encoding == "TQ2_0"


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_killed_engine_raises_crashed_and_parent_recovers(engine: EngineClient, tiny: Path) -> None:
    engine.load(tiny)
    stream = engine.generate(HELLO, {**GREEDY, "max_tokens": 1_000_000})
    next(stream)
    os.kill(engine.pid, signal.SIGKILL)
    with pytest.raises(EngineCrashed) as err:
        for _ in stream:
            pass
    assert err.value.exit_status == -signal.SIGKILL
    assert "SIGKILL" in str(err.value) and "Reload the model" in str(err.value)
    engine.start()
    engine.load(tiny)
    assert run(engine, 3)[1].stats.output_tokens == 3


@pytest.mark.skipif(os.name == "nt", reason="SIGINT to one process is POSIX")
def test_the_engine_ignores_ctrl_c_and_stops_when_its_parent_goes(engine: EngineClient, long_tiny: Path) -> None:
    """A terminal's Ctrl+C reaches the engine too (same process group): the parent, not the signal, ends it.
    A parent that dies (its end of stdin closes) stops the reply in progress and the engine exits."""
    engine.load(long_tiny, n_ctx=4096)
    stream = engine.generate(HELLO, {**GREEDY, "max_tokens": 1_000_000})
    next(stream)
    os.kill(engine.pid, signal.SIGINT)
    time.sleep(0.3)
    assert engine.alive and next(stream).text is not None  # still streaming
    proc = engine.proc
    assert proc is not None and proc.stdin is not None
    proc.stdin.close()  # what the parent's death does to the pipe
    assert proc.wait(10) == 0  # it stopped mid-reply (a million tokens would take minutes) and exited cleanly
    stream.close()


def test_abort_inside_llama_cpp_is_reported(engine: EngineClient, tmp_path: Path, tiny: Path) -> None:
    # A model llama.cpp loads but cannot compute: its first norm stored as TQ2_0 makes ggml abort.
    bad = make_model(tmp_path / "aborts.gguf", "tiny", "tq2_0", tensor_encodings={"blk.0.attn_norm.weight": "tq2_0"})
    engine.load(bad)
    with pytest.raises(EngineCrashed) as err:
        run(engine, 4)
    assert err.value.exit_status == -signal.SIGABRT
    assert any("unsupported types" in line for line in err.value.stderr_tail)
    assert "llama.cpp aborted" in str(err.value) and "binary-ops.cpp" in str(err.value)
    engine.start()
    assert engine.load(tiny).encoding == "TQ2_0"


def test_cancel_interrupts_a_long_prompt_evaluation(tmp_path: Path) -> None:
    """Cancel reaches inside llama.cpp's prompt evaluation (abort callback), not only between tokens."""
    model = make_model(tmp_path / "demo.gguf", "demo", "tq2_0")
    long_prompt = [{"role": "user", "content": "lorem ipsum dolor " * 170}]  # ~1,900 tokens to evaluate
    with EngineClient("prefill") as engine:
        engine.load(model, n_ctx=2048)
        got: list[object] = []
        t = threading.Thread(target=lambda: got.extend(engine.generate(long_prompt, {"max_tokens": 4})))
        t.start()
        time.sleep(0.3)  # well inside the evaluation, which takes seconds on this shape
        t0 = time.perf_counter()
        engine.cancel()
        t.join(10)
        elapsed = time.perf_counter() - t0
        assert isinstance(got[-1], Done)
        stats = got[-1].stats
        assert stats.stop_reason == "cancelled" and stats.output_tokens == 0
        # The same prompt evaluated to the end, on the same (possibly busy) machine, for scale.
        _, full = run(engine, 3, long_prompt)
        assert full.stats.output_tokens == 3 and full.stats.prompt_cached == 0
        assert elapsed < 0.2 * full.stats.prefill_ms / 1000, (elapsed, full.stats.prefill_ms)
