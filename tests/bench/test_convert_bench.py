"""Converting a 2B-4T-shaped repo: time and the converting process's peak RSS; then the converted model
against its F16 variant — decode tok/s and engine RSS, side by side.

The synthetic repo (random packed ternary weights, bf16 embeddings, the real dimensions: hidden 2560,
intermediate 6912, 30 layers, 20 heads, 5 KV heads, vocabulary 128,256, tied) is ~1.2 GB and its F16
variant ~5 GB: both live in a temporary folder deleted at the end. The conversion runs in its own
process so its peak RSS (VmHWM) is the converter's alone. Target: peak RSS ≤ 1.5 GB.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from backend.engine import EngineClient
from backend.engine.hardware import physical_cores
from backend.models.convert import convert_and_register
from backend.models.derive import derive_variant
from backend.models.registry import Registry
from backend.store import Store
from tests.bench.conftest import engine_decode, median, report
from tests.support.bench_repos import SHAPE_2B4T, write_2b4t_repo

TARGET_RSS = 1.5e9
CHILD = r"""
import json, sys, time
from pathlib import Path
from backend.models.convert import convert_file
t0 = time.perf_counter(); phases = {}
def progress(p):
    phases.setdefault(p.phase, time.perf_counter() - t0)
r = convert_file(Path(sys.argv[1]), Path(sys.argv[2]), progress=progress)
total = time.perf_counter() - t0
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) * 1024
print(json.dumps({"seconds": total, "phases": phases, "peak_rss": hwm, "file_bytes": r.file_bytes}))
"""


@pytest.fixture()
def workdir() -> Path:
    d = Path(tempfile.mkdtemp(prefix="tern-convert-bench-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak RSS is read from /proc (Linux)")
def test_convert_a_2b4t_shaped_repo_then_tq2_vs_f16(workdir: Path) -> None:
    t0 = time.perf_counter()
    src = write_2b4t_repo(workdir / "bitnet-2B-4T-shaped")
    made = time.perf_counter() - t0
    src_bytes = sum(p.stat().st_size for p in src.iterdir())
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-c", CHILD, str(src), str(workdir / "out.gguf")], capture_output=True,
                         text=True, env=env, timeout=3600)
    assert out.returncode == 0, out.stderr
    conv = json.loads(out.stdout.strip().splitlines()[-1])
    (workdir / "out.gguf").unlink()
    ph = conv["phases"]
    title = (f"Conversion of a synthetic 2B-4T-shaped packed repo ({SHAPE_2B4T.layers} layers, hidden "
             f"{SHAPE_2B4T.hidden}, vocab {SHAPE_2B4T.vocab:,}; repo {src_bytes / 1e9:.2f} GB, "
             f"written in {made:.0f} s)")
    report(title, [
        ("stage", "seconds"),
        ("check (headers, plan, tokenizer)", f"{ph.get('hash', 0) - ph.get('check', 0):.1f}"),
        ("hash (sha256 of the source files)", f"{ph['convert'] - ph['hash']:.1f}"),
        ("convert (tensor by tensor)", f"{ph['verify'] - ph['convert']:.1f}"),
        ("verify (header, first/last layer decoded back)", f"{ph['done'] - ph['verify']:.1f}"),
        ("total", f"{conv['seconds']:.1f}"),
        ("output TQ2_0 file", f"{conv['file_bytes'] / 1e9:.2f} GB"),
        ("peak RSS of the converting process (VmHWM)", f"{conv['peak_rss'] / 1e9:.2f} GB (target ≤ 1.50 GB)"),
    ])
    assert conv["peak_rss"] <= TARGET_RSS, f"peak RSS {conv['peak_rss'] / 1e9:.2f} GB"

    registry = Registry(Store(workdir / "bench.sqlite3"))
    tq2 = convert_and_register(registry, src, name="2b4t-shaped", out_dir=workdir / "models")
    shutil.rmtree(src)  # room for the F16 variant
    f16 = derive_variant(registry, "2b4t-shaped", "f16", out_dir=workdir / "models")
    threads = physical_cores()
    tps: dict[str, list[float]] = {"TQ2_0": [], "F16": []}
    rss: dict[str, int] = {}
    for enc, path in (("TQ2_0", tq2.path), ("F16", f16.path)):  # one engine at a time: F16 alone is ~5 GB
        with EngineClient(f"bench-{enc}") as engine:
            engine.load(path, n_ctx=512, n_threads=threads)
            engine_decode(engine, 4)  # warm-up
            for _ in range(3):
                d = engine_decode(engine, 32)
                tps[enc].append(d.stats.decode_tps)
                rss[enc] = d.stats.peak_rss
    report(f"2B-4T-shaped model (random weights) converted here: TQ2_0 vs its F16 variant, {threads} threads, "
           "32 tokens × 3", [
        ("encoding", "file GB", "decode tok/s (median)", "engine peak RSS GiB"),
        *[(enc, f"{p.stat().st_size / 1e9:.2f}", f"{median(tps[enc]):.2f}", f"{rss[enc] / 2**30:.2f}")
          for enc, p in (("TQ2_0", tq2.path), ("F16", f16.path))],
        ("ratio", "", f"{median(tps['TQ2_0']) / median(tps['F16']):.2f}× faster",
         f"{rss['F16'] / rss['TQ2_0']:.2f}× less"),
    ])
    assert median(tps["TQ2_0"]) > 0 and rss["F16"] > rss["TQ2_0"]
