"""The local server's cost: the same turn through `tern serve` (HTTP, SSE) and through the turn runner
directly (backend.chat: ModelEngine + Turn, what the server runs each request on), same model, interleaved.

Measured at the receiving end in this process for both: decode tok/s = (tokens − 1) / (last text − first
text received), and time to first byte (the server's status line, which it sends with the first text)
against time to the first Delta from the runner. Both engines keep the same prompt cached, so prefill
is one token on both sides; the HTTP layer's overhead is also given as each side's time outside the
engine (first byte or Delta minus the engine's own TTFT), which cancels the engine's own noise.
Targets (issue 13): decode ratio ≥ 0.95, first-byte overhead ≤ 20 ms (median).
"""

from __future__ import annotations

import http.client
import json
import os
import time
from pathlib import Path

from backend.chat.model_engine import ModelEngine
from backend.chat.runner import Delta, Finished, Turn, TurnSpec
from backend.engine.hardware import physical_cores
from tests.bench.conftest import iqr, median, report
from tests.conftest import CLOSED_ENDPOINT
from tests.support.serve import Serve, register

PROMPT = [{"role": "user", "content": "Write a long story about a heron that learns to count in threes."}]
TOKENS = 128
ROUNDS = 9
PARAMS = {"max_tokens": TOKENS, "temperature": 0, "ignore_eos": True}


def direct(model: ModelEngine) -> tuple[float, float, float, float]:
    """(first Delta after the call in ms, decode tok/s as received, the engine's decode tok/s, engine TTFT ms)."""
    t0 = time.perf_counter()
    first = last = 0.0
    n = 0
    engine_tps = ttft = 0.0
    with model.slot() as engine:
        for ev in Turn(TurnSpec(PROMPT, PARAMS)).events(engine):
            if isinstance(ev, Delta):
                n += len(ev.tokens)
                if ev.text:
                    now = time.perf_counter()
                    first = first or now
                    last = now
            elif isinstance(ev, Finished):
                engine_tps = ev.result.stats.get("decode_tps") or 0.0
                ttft = ev.result.stats.get("ttft_ms") or 0.0
    assert n == TOKENS
    return (first - t0) * 1000, (n - 1) / (last - first), engine_tps, ttft


def served(port: int) -> tuple[float, float, float, float]:
    """The same, over HTTP: (first byte in ms, decode tok/s as received, the engine's decode tok/s, engine TTFT)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    body = json.dumps({"model": "bench", "messages": PROMPT, "stream": True, "stream_options": {"include_usage": True},
                       **PARAMS}).encode()
    t0 = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    t_byte = time.perf_counter()
    assert r.status == 200
    first = last = 0.0
    tokens = 0
    engine_tps = ttft = 0.0
    for line in r.fp:
        if not line.startswith(b"data: {"):
            if line.startswith(b"data: [DONE]"):
                break
            continue
        chunk = json.loads(line[6:])
        if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
            now = time.perf_counter()
            first = first or now
            last = now
        if chunk.get("usage"):
            tokens = chunk["usage"]["completion_tokens"]
        if chunk.get("tern"):
            engine_tps, ttft = chunk["tern"]["decode_tps"], chunk["tern"]["ttft_ms"]
    conn.close()
    assert tokens == TOKENS
    return (t_byte - t0) * 1000, (tokens - 1) / (last - first), engine_tps, ttft


def test_server_vs_runner_decode_and_first_byte(synthetic_models, tmp_path: Path) -> None:
    path = synthetic_models("demo", "tq2_0")["tq2_0"]
    threads = physical_cores()
    home = tmp_path / "home"
    register(home, "bench", {"tq2_0": path})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TERN_"))}
    env.update(TERN_HOME=str(home), HF_ENDPOINT=CLOSED_ENDPOINT)
    server = Serve.start("--model", "bench", "--threads", str(threads), "--ctx", "2048", env=env)
    model = ModelEngine(path, 2048, threads, label="bench", name="bench")
    try:
        model.load()
        direct(model)  # warm-up both, and put the prompt in both engines' caches
        served(server.port)
        rows: dict[str, list[tuple[float, float, float, float]]] = {"direct": [], "server": []}
        for i in range(ROUNDS):  # interleaved, alternating which goes first
            order = ("direct", "server") if i % 2 == 0 else ("server", "direct")
            for side in order:
                rows[side].append(direct(model) if side == "direct" else served(server.port))
    finally:
        model.close()
        server.stop()
    d, s = rows["direct"], rows["server"]
    ratios = [b[1] / a[1] for a, b in zip(d, s, strict=True)]
    engine_ratios = [b[2] / a[2] for a, b in zip(d, s, strict=True)]
    overheads = [b[0] - a[0] for a, b in zip(d, s, strict=True)]
    # Time outside the engine (first byte or Delta − the engine's own TTFT): prefill's noise cancels out.
    outside = [(b[0] - b[3]) - (a[0] - a[3]) for a, b in zip(d, s, strict=True)]

    def col(values: list[float], fmt: str) -> tuple[str, str]:
        lo, hi = iqr(values)
        return fmt.format(median(values)), f"{fmt.format(lo)}–{fmt.format(hi)}"

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    report(f"Local server vs the turn runner — demo shape TQ2_0, {threads} threads, {TOKENS} tokens, "
           f"{ROUNDS} interleaved rounds, load average {load:.1f} on {os.cpu_count()} CPUs", [
        ("", "median", "IQR"),
        ("decode tok/s received, runner", *col([r[1] for r in d], "{:.1f}")),
        ("decode tok/s received, server (SSE)", *col([r[1] for r in s], "{:.1f}")),
        ("ratio server/runner (pairs)", *col(ratios, "{:.3f}")),
        ("engine's own decode tok/s ratio (pairs)", *col(engine_ratios, "{:.3f}")),
        ("first Delta, runner (ms)", *col([r[0] for r in d], "{:.1f}")),
        ("first byte, server (ms)", *col([r[0] for r in s], "{:.1f}")),
        ("first byte − first Delta (ms, pairs)", *col(overheads, "{:.1f}")),
        ("overhead outside the engine: server − runner (ms)", *col(outside, "{:.1f}")),
        ("targets", "ratio ≥ 0.95", "overhead ≤ 20 ms"),
    ])
    assert all(r > 0 for r in ratios)
