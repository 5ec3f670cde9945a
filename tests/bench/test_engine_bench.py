"""Foundation benchmarks: engine overhead, ternary vs F16 on the 700M shape, cold start."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from backend.engine import EngineClient
from backend.engine.hardware import physical_cores
from tests.bench.conftest import PROMPT, engine_decode, iqr, median, report

TOKENS = 128


def bare_decode(llm, prompt_tokens: list[int], n: int = TOKENS) -> float:
    """llama-cpp-python's own generate loop in this process, timed the way the engine times it."""
    t_first = t_last = 0
    count = 0
    for _token in llm.generate(prompt_tokens, temp=0.0, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.1,
                               reset=True):
        now = time.perf_counter_ns()
        if count == 0:
            t_first = now
        t_last = now
        count += 1
        if count >= n:
            break
    return (count - 1) / ((t_last - t_first) / 1e9)


def test_engine_overhead_vs_bare_llama_cpp(synthetic_models) -> None:
    """Decode tok/s through EngineClient (child process, JSON lines) vs in-process llama-cpp-python."""
    import llama_cpp

    path = synthetic_models("demo", "tq2_0")["tq2_0"]
    threads = physical_cores()
    llm = llama_cpp.Llama(str(path), n_ctx=2048, n_threads=threads, n_threads_batch=threads, verbose=False)
    from backend.engine.chat_format import ChatFormatter
    from backend.models.gguf_header import read_header

    prompt, _ = ChatFormatter(read_header(path).chat_template, "<s>", "</s>").format(PROMPT)
    tokens = llm.tokenize(prompt.encode(), add_bos=True, special=True)
    with EngineClient("bench") as engine:
        engine.load(path, n_ctx=2048, n_threads=threads)
        engine_decode(engine, 16)  # warm-up both
        bare_decode(llm, tokens, 16)
        eng, bare = [], []
        for _ in range(7):  # interleaved: A B A B …
            eng.append(engine_decode(engine).stats.decode_tps)
            bare.append(bare_decode(llm, tokens))
    llm.close()
    ratios = [e / b for e, b in zip(eng, bare, strict=True)]
    report(f"Engine overhead — demo shape TQ2_0, {threads} threads, {TOKENS} tokens, 7 interleaved runs", [
        ("", "median tok/s", "IQR"),
        ("EngineClient (child process)", f"{median(eng):.1f}", "{:.1f}–{:.1f}".format(*iqr(eng))),
        ("bare llama-cpp-python", f"{median(bare):.1f}", "{:.1f}–{:.1f}".format(*iqr(bare))),
        ("ratio engine/bare (median of pairs)", f"{median(ratios):.3f}", "target ≥ 0.97"),
    ])
    assert all(r > 0 for r in ratios)


def test_ternary_vs_f16_on_the_700m_shape(synthetic_models) -> None:
    """TQ2_0 / TQ1_0 / F16 of the same weights: decode tok/s and engine peak RSS, interleaved."""
    paths = synthetic_models("700M", "tq2_0", "tq1_0", "f16")
    threads = physical_cores()
    engines = {}
    try:
        for enc, path in paths.items():
            engines[enc] = EngineClient(f"bench-{enc}")
            engines[enc].load(path, n_ctx=1024, n_threads=threads)
            engine_decode(engines[enc], 8)  # warm-up
        tps: dict[str, list[float]] = {enc: [] for enc in paths}
        rss: dict[str, int] = {}
        for _ in range(3):
            for enc, engine in engines.items():
                d = engine_decode(engine, 64)
                tps[enc].append(d.stats.decode_tps)
                rss[enc] = d.stats.peak_rss
    finally:
        for engine in engines.values():
            engine.close()
    rows = [("encoding", "file MB", "decode tok/s (median)", "engine peak RSS MiB", "speed vs F16", "RSS F16/this")]
    for enc, path in paths.items():
        rows.append((enc.upper(), f"{path.stat().st_size / 1e6:,.0f}", f"{median(tps[enc]):.1f}",
                     f"{rss[enc] / 2**20:,.0f}", f"{median(tps[enc]) / median(tps['f16']):.2f}×",
                     f"{rss['f16'] / rss[enc]:.2f}×"))
    report(f"700M shape (synthetic, random weights), {threads} threads, 64 tokens, 3 interleaved rounds", rows)
    assert median(tps["tq2_0"]) > 0 and rss["f16"] > rss["tq2_0"]


def test_cold_start_to_first_token(tiny: Path) -> None:
    """`tern generate` on the tiny model: process start → first token event on stdout."""
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "app", "generate", str(tiny), "-p", "Hi",
                                 "--json", "-n", "4", "--ignore-eos"], stdout=subprocess.PIPE, text=True)
        first = None
        for line in proc.stdout:  # type: ignore[union-attr]
            if json.loads(line)["event"] == "token" and first is None:
                first = time.perf_counter() - t0
        proc.wait()
        assert proc.returncode == 0 and first is not None
        times.append(first)
    report("Cold start: `tern generate` tiny model, process start → first token (5 runs)", [
        ("median", f"{median(times) * 1000:.0f} ms"),
        ("min / max", f"{min(times) * 1000:.0f} / {max(times) * 1000:.0f} ms"),
    ])

