"""The ternary hot path, measured: kernels, streaming bandwidth, bytes per token, threads 1 and 2.

1. ggml's matmul for one activation column (a decode step's product) through the engine's own
   libraries (tests/support/ggml_matmul.py): ns per 256 weights with the weights in cache (64
   products of a 256 x 1536 matrix in one graph, best of 20), and GB/s of weights streamed from
   RAM (a 128 MB matrix, best of 5), TQ2_0 / TQ1_0 / F16, 1 and 2 threads.
2. The 700M shape's three encodings through the engine at 1 and 2 threads, interleaved: decode and
   prefill tok/s, the weight bytes a decode step reads (every tensor in the file: all layers and
   the tied F16 embedding as output head), GB/s that makes, and that as a share of the machine's
   bandwidth (the best of the F16 streaming figure above and the F16 decode's own GB/s).

Figures only (the machine is shared and noisy): the asserts check that a measurement happened.
"""

from __future__ import annotations

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, quants

from backend.engine import Done, EngineClient
from tests.bench.conftest import median, report
from tests.support.ggml_matmul import GgmlCpu

KINDS = {"TQ2_0": GGMLQuantizationType.TQ2_0, "TQ1_0": GGMLQuantizationType.TQ1_0,
         "F16": GGMLQuantizationType.F16}
K = 1536


def packed_weights(kind: str, rows: int, rng: np.random.Generator) -> np.ndarray:
    """rows x K weights of `kind` (ternary values); large matrices repeat a 256-row tile."""
    tile_rows = min(rows, 256)
    w = rng.integers(-1, 2, size=(tile_rows, K)).astype(np.float32) * 0.0625
    tile = w.astype(np.float16).view(np.uint8) if kind == "F16" else quants.quantize(w, KINDS[kind])
    return np.ascontiguousarray(np.tile(tile, (rows // tile_rows, 1)))


def test_matmul_kernels_in_cache_and_from_ram() -> None:
    ggml = GgmlCpu()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, K)).astype(np.float32)
    rows = [("", "in cache ns/256 w, 1 thr", "2 thr", "from RAM GB/s, 1 thr", "2 thr")]
    streamed = {}
    for kind, t in KINDS.items():
        small = packed_weights(kind, 256, rng)
        cache = [ggml.run_matmul(int(t), small, K, x, th, nodes=64, runs=20)[1] / (256 * K / 256) * 1e9
                 for th in (1, 2)]
        big_rows = (128 << 20) // ggml.row_size(int(t), K) // 256 * 256
        big = packed_weights(kind, big_rows, rng)
        gbs = [big.nbytes / ggml.run_matmul(int(t), big, K, x, th, runs=5)[1] / 1e9 for th in (1, 2)]
        streamed[kind] = gbs
        rows.append((kind, f"{cache[0]:.2f}", f"{cache[1]:.2f}", f"{gbs[0]:.1f}", f"{gbs[1]:.1f}"))
    report(f"ggml matmul, one column of {K} (a decode step's product), libraries in {ggml.cpu_path.parent}", rows)
    assert all(v > 0 for gbs in streamed.values() for v in gbs)


def weight_bytes_per_token(path) -> int:
    """Bytes of every tensor in the file: a decode step reads all linear weights and norms, and the
    tied token embedding in full as the output head (its one input row is negligible)."""
    return sum(int(t.n_bytes) for t in GGUFReader(path).tensors)


def run_turn(engine: EngineClient, prompt: str, tokens: int) -> Done:
    done = None
    for ev in engine.generate(prompt=prompt, params={"max_tokens": tokens, "temperature": 0, "ignore_eos": True,
                                                     "reuse_cache": False}):
        if isinstance(ev, Done):
            done = ev
    assert done is not None and done.stats.output_tokens == tokens
    return done


def test_700m_decode_prefill_threads_and_bandwidth_share(synthetic_models) -> None:
    paths = synthetic_models("700M", "tq2_0", "tq1_0", "f16")
    prompt = "A heron counts fish by threes at dawn, then by fives at dusk. " * 12  # ~750 synthetic-vocabulary tokens
    ggml = GgmlCpu()
    f16_rows = (256 << 20) // ggml.row_size(int(KINDS["F16"]), K) // 256 * 256
    stream = ggml.run_matmul(int(KINDS["F16"]), packed_weights("F16", f16_rows, np.random.default_rng(1)), K,
                             np.ones((1, K), np.float32), 2, runs=5)
    stream_gbs = f16_rows * ggml.row_size(int(KINDS["F16"]), K) / stream[1] / 1e9
    nbytes = {enc: weight_bytes_per_token(p) for enc, p in paths.items()}
    dec: dict[tuple[str, int], list[float]] = {}
    pre: dict[tuple[str, int], list[float]] = {}
    prompt_tokens: set[int] = set()
    for threads in (1, 2):
        engines = {enc: EngineClient(f"bench-{enc}-{threads}") for enc in paths}
        try:
            for enc, engine in engines.items():
                engine.load(paths[enc], n_ctx=1024, n_threads=threads)
                run_turn(engine, prompt, 8)  # warm-up
            for rnd in range(3):
                order = list(engines) if rnd % 2 == 0 else list(reversed(engines))  # A B C, C B A, …
                for enc in order:
                    d = run_turn(engines[enc], prompt, 48)
                    dec.setdefault((enc, threads), []).append(d.stats.decode_tps)
                    pre.setdefault((enc, threads), []).append(d.stats.prefill_tps)
                    prompt_tokens.add(d.stats.prompt_tokens)
        finally:
            for engine in engines.values():
                engine.close()
    bandwidth = max(stream_gbs, median(dec[("f16", 2)]) * nbytes["f16"] / 1e9)
    rows = [("encoding, threads", "weight MB/token", "decode tok/s", "GB/s", "share of bandwidth",
             "vs F16", "prefill tok/s", "vs F16")]
    for enc in paths:
        for threads in (1, 2):
            d, p = median(dec[(enc, threads)]), median(pre[(enc, threads)])
            gbs = d * nbytes[enc] / 1e9
            rows.append((f"{enc.upper()}, {threads}", f"{nbytes[enc] / 1e6:,.0f}", f"{d:.1f}", f"{gbs:.1f}",
                         f"{gbs / bandwidth:.0%}", f"{d / median(dec[('f16', threads)]):.2f}×", f"{p:.0f}",
                         f"{p / median(pre[('f16', threads)]):.2f}×"))
    report(f"700M shape through the engine, medians of 3 interleaved rounds (48 tokens after a "
           f"{'/'.join(map(str, sorted(prompt_tokens)))}-token prompt: attention over that context costs about "
           f"as much as reading the weights); "
           f"bandwidth {bandwidth:.1f} GB/s (F16 stream {stream_gbs:.1f} GB/s at 2 threads, or F16 decode)", rows)
    assert all(x > 0 for values in dec.values() for x in values)
