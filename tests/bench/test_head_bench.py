"""The output head's encoding (F16, Q8_0, Q6_K): decode speed on a 2B-4T-shaped model, and agreement of the logits.

What picks the converter's default (backend/models/convert/gguf_out.py DEFAULT_HEAD): a decode step reads
the whole tied embedding as the output head — 2B-4T's 128,256 × 2560 is 657 MB in F16, more than its 30
ternary layers — so the head's encoding sets much of the speed; and the converted model must still pass
the reference check of the real-models issue (llama.cpp's logits against a numpy forward pass from the
Hugging Face definitions: lowest cosine ≥ 0.98, top-1 agreement ≥ 90 %).

1. A synthetic 2B-4T-shaped repo (random packed weights, bf16 embeddings) converted three times, one per
   head encoding; the three engines decode in turns (A B C, C B A, …) with the physical cores; weight bytes
   per token from the GGUF headers (backend.bench.roofline), GB/s = tok/s × bytes/token. Their logits over
   32 positions are compared with the F16-head file's (the same weights, the head exact).
2. The tiny repos of tests/unit/models/test_convert_reference.py in each publisher format, converted with
   each head encoding, against the numpy reference.
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
from tests.bench.conftest import median, report
from tests.support import reference as ref
from tests.support.bench_repos import SHAPE_2B4T, write_2b4t_repo
from tests.unit.models.test_convert_reference import COS, KINDS, TOKENS, TOP1, _make

PROMPT = [{"role": "user", "content": "Tell me a long story about a heron that counts in threes."}]
HEADS = list(HEAD_ENCODINGS)


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
        for rnd in range(4):
            for h in (HEADS if rnd % 2 == 0 else HEADS[::-1]):
                tps[h].append(decode(engines[h], 32))
    finally:
        for engine in engines.values():
            engine.close()
    tokens = TOKENS[:32]
    base = ref.engine_logits(files["f16"], tokens)
    agree = {h: ref.agreement(ref.engine_logits(files[h], tokens), base) for h in HEADS}
    rows = [("head", "file GB", "head MB", "bytes/token MB", "decode tok/s: median (4 rounds)", "GB/s",
             "vs F16 head", "logits vs F16 head: min cos / top-1", "convert s")]
    for h in HEADS:
        t, m = traffic[h], median(tps[h])
        rows.append((h.upper(), f"{files[h].stat().st_size / 1e9:.2f}", f"{t.head / 1e6:.0f}", f"{t.total / 1e6:.0f}",
                     f"{m:.2f} ({', '.join(f'{x:.1f}' for x in tps[h])})", f"{t.gb_per_s(m):.1f}",
                     f"{m / median(tps['f16']):.2f}×", f"{agree[h][0]:.5f} / {agree[h][1]:.0%}",
                     f"{seconds[h]:.0f}"))
    report(f"Output head encodings on a 2B-4T-shaped TQ2_0 model (random weights, vocab {SHAPE_2B4T.vocab:,}, "
           f"tied), {threads} threads, 32 tokens × 4 rounds", rows)
    assert all(median(v) > 0 for v in tps.values())


def test_head_encodings_against_the_numpy_reference(tmp_path: Path) -> None:
    rows = [("source format", *(f"{h.upper()} min cos / top-1" for h in HEADS))]
    worst = {h: (1.0, 1.0) for h in HEADS}
    for kind in KINDS:
        src, model = _make(kind, tmp_path / "src")
        model = model or ref.load_repo(src)
        want = ref.logits(model, TOKENS)
        cells = []
        for h in HEADS:
            out = convert_file(src, tmp_path / "out" / f"{kind}-{h}.gguf", head_encoding=h).path
            cos, top1 = ref.agreement(ref.engine_logits(out, TOKENS), want)
            worst[h] = (min(worst[h][0], cos), min(worst[h][1], top1))
            cells.append(f"{cos:.4f} / {top1:.0%}")
        rows.append((kind, *cells))
    rows.append(("worst", *(f"{c:.4f} / {t:.0%}" for c, t in worst.values())))
    rows.append(("passes (cos ≥ 0.98, top-1 ≥ 90 %)", *("yes" if c >= COS and t >= TOP1 else "NO"
                                                        for c, t in worst.values())))
    report(f"Output head encodings: llama.cpp against the numpy reference, {len(TOKENS)} positions per tiny repo", rows)
    assert np.isfinite([c for c, _ in worst.values()]).all()
