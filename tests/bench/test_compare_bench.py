"""`tern bench` on the synthetic 700M-shape pair, and what the comparison harness itself costs.

1. The real CLI, 5 interleaved runs per side: TQ2_0/F16 decode ratio and engine RSS ratio, with
   medians and IQR, beside the weights-file ratio and the paper's 700M row.
2. Harness cost: decode tok/s of the ternary side measured through the comparison runner (with
   its metrics sampler, history writes and listener) vs a bare EngineClient on the same file,
   interleaved, same parameters. Target: harness / bare ≥ 0.98.

The pair (F16 ~1.4 GB, TQ2_0 ~0.2 GB) is made in a temporary folder and deleted afterwards.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.context import AppContext
from backend.bench.engines import EnginePair, memory_plan
from backend.bench.export import read_json
from backend.bench.history import BenchHistory
from backend.bench.meter import MetricsMeter
from backend.bench.pairing import F16, TERNARY, resolve_pair
from backend.bench.paper import published
from backend.bench.results import BENCH, BenchConfig
from backend.bench.runner import Runner
from backend.bench.stats import summarize
from backend.engine import Done, EngineClient
from backend.engine.hardware import physical_cores
from backend.models.synth import make_pair
from tests.bench.conftest import report

RUNS, TOKENS = 5, 128


def iqr_text(values: list[float], fmt: str = "{:.1f}") -> str:
    s = summarize(values)
    return f"{fmt.format(s.median)} (IQR {fmt.format(s.q1)}–{fmt.format(s.q3)})"


def bare_decode(engine: EngineClient, config: BenchConfig) -> float:
    done = None
    for ev in engine.generate([{"role": "user", "content": config.prompts[0]}], config.params()):
        if isinstance(ev, Done):
            done = ev
    assert done is not None and done.stats.output_tokens == config.tokens
    return float(done.stats.decode_tps)


def test_tern_bench_on_the_700m_pair_and_the_harness_cost() -> None:
    with tempfile.TemporaryDirectory(prefix="tern-bench-700M-") as tmp:
        t0 = time.monotonic()
        files = make_pair(Path(tmp), shape="700M", seed=0, encodings=("tq2_0", "f16"))
        made_s = time.monotonic() - t0
        out = Path(tmp) / "run.json"
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, "-m", "app", "bench", str(files["tq2_0"]), str(files["f16"]),
                            "--runs", str(RUNS), "--tokens", str(TOKENS), "--json", str(out)],
                           capture_output=True, text=True, timeout=1800)
        bench_s = time.monotonic() - t0
        assert r.returncode == 0, r.stderr
        run = read_json(out)
        assert run.status == "complete" and len(run.samples) == 2 * RUNS

        dec = {side: [s.stats.decode_tps for s in run.side_samples(side)] for side in (TERNARY, F16)}
        rss = {side: [s.stats.peak_rss / 2**20 for s in run.side_samples(side)] for side in (TERNARY, F16)}
        ratios = run.summary["ratios"]
        paper = published("700M")
        m = run.fingerprint["models"]
        report(f"`tern bench` — synthetic 700M shape, {RUNS} interleaved runs per side, {TOKENS} tokens, "
               f"{run.fingerprint['machine']['threads_used']} threads, ctx {m[TERNARY]['n_ctx']} "
               f"(pair made in {made_s:.0f} s, benchmark {bench_s:.0f} s)", [
            ("", "TQ2_0", "F16", "TQ2_0 vs F16", "paper 700M"),
            ("decode tok/s, median (IQR)", iqr_text(dec[TERNARY]), iqr_text(dec[F16]),
             f"{ratios['decode']:.2f}× faster",
             f"latency {paper['latency_ratio']:.2f}×"),
            ("engine peak RSS MiB, median (IQR)", iqr_text(rss[TERNARY], "{:.0f}"), iqr_text(rss[F16], "{:.0f}"),
             f"{ratios['ram']:.2f}× less", f"memory {paper['memory_ratio']:.2f}×"),
            ("weights file MB", f"{m[TERNARY]['file_bytes'] / 1e6:,.0f}", f"{m[F16]['file_bytes'] / 1e6:,.0f}",
             f"{ratios['file']:.2f}× smaller", "ideal 7.76×"),
        ])
        print("   " + " · ".join(run.summary["headline"]))

        # -- harness cost: comparison runner vs bare EngineClient, same file, interleaved --------------
        pair = resolve_pair(None, files["tq2_0"], files["f16"])
        config = BenchConfig(kind=BENCH, runs=1, tokens=TOKENS, idle_baseline=True)
        n_ctx, threads = config.auto_ctx(), physical_cores()
        history = BenchHistory(AppContext().store)
        harness: list[float] = []
        bare: list[float] = []
        sampler_cpu: list[float] = []
        engines = EnginePair(pair, n_ctx, threads, memory_plan(pair, n_ctx))
        plain = EngineClient("bench-bare")
        try:
            plain.load(files["tq2_0"], n_ctx=n_ctx, n_threads=threads)
            bare_decode(plain, BenchConfig(tokens=8))  # warm-up; the runner warms its own engines
            for _ in range(RUNS):
                meter = MetricsMeter.start()
                try:
                    result = Runner(pair, config, engines=engines, history=history, meter=meter,
                                    listener=lambda ev: None).run()
                finally:
                    sampler_cpu.append(meter.sampler.sampler_cpu_s)
                    meter.close()
                harness.append(result.side_samples(TERNARY)[0].stats.decode_tps)
                bare.append(bare_decode(plain, config))
        finally:
            plain.close()
            engines.close()
    pairs = [h / b for h, b in zip(harness, bare, strict=True)]
    report(f"Comparison harness cost — TQ2_0 700M, {TOKENS} tokens, {RUNS} interleaved rounds "
           "(harness: runner + metrics sampler + history; bare: EngineClient)", [
        ("", "decode tok/s, median (IQR)"),
        ("through the comparison runner", iqr_text(harness)),
        ("bare EngineClient", iqr_text(bare)),
        ("ratio harness / bare (median of rounds)", f"{summarize(pairs).median:.3f}   target ≥ 0.98"),
        ("metrics sampler CPU per round", f"{summarize(sampler_cpu).median:.2f} s"),
    ])
    assert all(h > 0 for h in harness) and all(b > 0 for b in bare)
