"""The output head's encoding (F16, Q8_0, Q6_K): decode speed on a 2B-4T-shaped model, and agreement of the logits.

What picks the converter's default (backend/models/convert/gguf_out.py DEFAULT_HEAD): a decode step reads
the whole tied embedding as the output head — 2B-4T's 128,256 × 2560 is 657 MB in F16, more than its 30
ternary layers — so the head's encoding sets much of the speed; and the converted model must still pass
the reference check of the real-models issue (llama.cpp's logits against a numpy forward pass from the
Hugging Face definitions: lowest cosine ≥ 0.98, top-1 agreement ≥ 90 %).

1. A synthetic 2B-4T-shaped repo (random packed weights, bf16 embeddings) converted three times, one per
   head encoding; the three engines decode in turns (A B C, C B A, …) with the physical cores; weight bytes
   per token from the GGUF headers (backend.bench.roofline), GB/s = tok/s × bytes/token. Medians and the
   best round are both printed: on a shared machine other programs only ever slow a round down. Their
   logits over 32 positions are compared with the F16-head file's (the same weights, the head exact) —
   a random 30-layer model amplifies any difference in its input embeddings, so this is a loose figure;
   the reference check (2.) is the one a conversion must pass.
2. The tiny repos of tests/unit/models/test_convert_reference.py in each publisher format, converted with
   each head encoding, against the numpy reference on 6 sequences of random tokens each.
3. The head's matrix-vector product alone, per encoding (ggml's kernels through the engine's libraries).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from backend.bench.roofline import weight_traffic
from backend.engine import Done, EngineClient
from backend.engine.hardware import physical_cores
from backend.models.convert import HEAD_ENCODINGS, convert_file
from backend.models.gguf_header import read_header
from tests.bench.conftest import iqr, median, report
from tests.support import reference as ref
from tests.support.bench_repos import SHAPE_2B4T, write_2b4t_repo
from tests.unit.models.test_convert_reference import COS, KINDS, TOKENS, TOP1, _make

PROMPT = [{"role": "user", "content": "Tell me a long story about a heron that counts in threes."}]
HEADS = list(HEAD_ENCODINGS)
ROUNDS, TOKENS_PER_ROUND = 8, 16
SEQUENCES = 6


def decode(engine: EngineClient, n: int) -> float:
    done = None
    for ev in engine.generate(PROMPT, {"max_tokens": n, "temperature": 0, "ignore_eos": True, "reuse_cache": False}):
        if isinstance(ev, Done):
            done = ev
    assert done is not None and done.stats.decode_tps
    return done.stats.decode_tps


@pytest.fixture()
def workdir() -> Path:
    d = Path(tempfile.mkdtemp(prefix="tern-head-bench-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_head_encodings_decode_speed_on_a_2b4t_shaped_model(workdir: Path) -> None:
    src = write_2b4t_repo(workdir / "bitnet-2B-4T-shaped")
    files, seconds = {}, {}
    for head in HEADS:
        t0 = time.perf_counter()
        files[head] = convert_file(src, workdir / f"2b4t-{head}.gguf", head_encoding=head).path
        seconds[head] = time.perf_counter() - t0
    shutil.rmtree(src)
    traffic = {h: weight_traffic(read_header(p)) for h, p in files.items()}
    threads = physical_cores()
    tps: dict[str, list[float]] = {h: [] for h in HEADS}
    engines = {h: EngineClient(f"bench-head-{h}") for h in HEADS}
    try:
        for h, engine in engines.items():
            engine.load(files[h], n_ctx=512, n_threads=threads)
            decode(engine, 4)  # warm-up
        for rnd in range(ROUNDS):
            for h in (HEADS if rnd % 2 == 0 else HEADS[::-1]):
                tps[h].append(decode(engines[h], TOKENS_PER_ROUND))
    finally:
        for engine in engines.values():
            engine.close()
    tokens = TOKENS[:32]
    base = ref.engine_logits(files["f16"], tokens)
    agree = {h: ref.agreement(ref.engine_logits(files[h], tokens), base) for h in HEADS}
    rows = [("head", "file GB", "head MB", "bytes/token MB", f"decode tok/s: median of {ROUNDS} (IQR)", "best",
             "GB/s (median)", "median vs F16 head", "best vs F16 head", "logits vs F16 head: min cos / top-1",
             "convert s")]
    for h in HEADS:
        t, m, b = traffic[h], median(tps[h]), max(tps[h])
        q1, q3 = iqr(tps[h])
        rows.append((h.upper(), f"{files[h].stat().st_size / 1e9:.2f}", f"{t.head / 1e6:.0f}", f"{t.total / 1e6:.0f}",
                     f"{m:.2f} ({q1:.2f}–{q3:.2f})", f"{b:.2f}", f"{t.gb_per_s(m):.1f}",
                     f"{m / median(tps['f16']):.2f}×", f"{b / max(tps['f16']):.2f}×",
                     f"{agree[h][0]:.5f} / {agree[h][1]:.0%}", f"{seconds[h]:.0f}"))
    report(f"Output head encodings on a 2B-4T-shaped TQ2_0 model (random weights, vocab {SHAPE_2B4T.vocab:,}, "
           f"tied), {threads} threads, {TOKENS_PER_ROUND} tokens × {ROUNDS} rounds (A B C, C B A, …)", rows)
    assert all(median(v) > 0 for v in tps.values())


def test_head_encodings_against_the_numpy_reference(tmp_path: Path) -> None:
    """Every tiny repo format × 6 prompts of 128 random tokens (the unit test checks one): how often each head
    encoding passes the reference check, and its worst and median figures."""
    seqs = [[int(t) for t in np.random.default_rng(100 + i).integers(0, 504, 128)] for i in range(SEQUENCES)]
    got: dict[str, list[tuple[str, float, float]]] = {h: [] for h in HEADS}
    for kind in KINDS:
        src, model = _make(kind, tmp_path / "src")
        model = model or ref.load_repo(src)
        outs = {h: convert_file(src, tmp_path / "out" / f"{kind}-{h}.gguf", head_encoding=h).path for h in HEADS}
        for tokens in seqs:
            want = ref.logits(model, tokens)
            for h, out in outs.items():
                cos, top1 = ref.agreement(ref.engine_logits(out, tokens), want)
                got[h].append((kind, cos, top1))
    rows = [("head", "passes (cos ≥ 0.98, top-1 ≥ 90 %)", "min cos", "median cos", "min top-1", "median top-1",
             "failing (format: cos / top-1)")]
    for h, res in got.items():
        cos, top1 = [c for _, c, _ in res], [t for _, _, t in res]
        fails = [f"{k}: {c:.4f} / {t:.1%}" for k, c, t in res if c < COS or t < TOP1]
        more = " …" if len(fails) > 3 else ""
        rows.append((h.upper(), f"{len(res) - len(fails)} of {len(res)}", f"{min(cos):.4f}", f"{median(cos):.4f}",
                     f"{min(top1):.1%}", f"{median(top1):.1%}", "; ".join(fails[:3]) + more))
    report(f"Output head encodings: llama.cpp against the numpy reference, {len(KINDS)} repo formats × {SEQUENCES} "
           "sequences of 128 random tokens", rows)
    assert all(got.values())


def test_the_head_product_alone_per_encoding() -> None:
    """The output head's matrix-vector product by itself (ggml's CPU kernels through the engine's own
    libraries: tests/support/ggml_matmul.py), 2B-4T's 128,256 × 2560, the physical cores: what each
    encoding costs per token without the layers around it. Best of 5 per round, rounds interleaved."""
    from gguf import GGMLQuantizationType

    from backend.models.convert.gguf_out import encode_head
    from tests.support.ggml_matmul import GgmlCpu

    rows, k = SHAPE_2B4T.vocab, SHAPE_2B4T.hidden
    ggml = GgmlCpu()
    rng = np.random.default_rng(0)
    weights = {}
    for h in HEADS:
        packed = np.concatenate([encode_head((0.02 * rng.standard_normal((4096, k))).astype(np.float32), h)
                                 for _ in range(0, rows, 4096)])[:rows]
        weights[h] = np.ascontiguousarray(packed)
    x = rng.standard_normal((1, k)).astype(np.float32)
    threads = physical_cores()
    best: dict[str, list[float]] = {h: [] for h in HEADS}
    for rnd in range(6):
        for h in (HEADS if rnd % 2 == 0 else HEADS[::-1]):
            qtype = int(GGMLQuantizationType[h.upper()])
            best[h].append(ggml.run_matmul(qtype, weights[h], k, x, threads, runs=5)[1])
    rows_out = [("head", "MB", "ms per token: median of 6 rounds (best of 5 each)", "GB/s", "vs F16")]
    f16_ms = median(best["f16"]) * 1e3
    for h in HEADS:
        ms = median(best[h]) * 1e3
        rows_out.append((h.upper(), f"{weights[h].nbytes / 1e6:.0f}", f"{ms:.2f}",
                         f"{weights[h].nbytes / (ms / 1e3) / 1e9:.1f}", f"{f16_ms / ms:.2f}× faster"))
    report(f"The output head's product alone ({rows:,} × {k}, {threads} threads, ggml's CPU kernels)", rows_out)
    assert all(v for v in best.values())
