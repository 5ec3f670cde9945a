"""Hub benchmarks (`make bench`): download throughput vs a plain read, header-inspection cost, F16 derivation.

All against the local Hub on 127.0.0.1, side by side in one run; the figures are printed, and
only that a measurement happened is asserted (the machine is shared and noisy).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from backend.hub import inspect_remote
from backend.hub.api import repo_listing
from backend.hub.download import fetch_files
from backend.hub.env import HubEnv
from backend.hub.progress import Progress
from backend.models.derive import derive_variant
from backend.models.registry import Registry
from backend.models.synth import make_model
from backend.store import Store
from tests.bench.conftest import median, report
from tests.support import gguf_files
from tests.support.hub_server import HubServer

REPO = "tern-bench/synthetic-700M-GGUF"
SPARSE_REPO = "tern-bench/sparse-6GB-GGUF"
ROUNDS = 5


@pytest.fixture(scope="module")
def bench_hub(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("hub-bench")
    model = make_model(folder / "synthetic-700M-TQ2_0.gguf", "700M", "tq2_0", seed=0)
    sparse = gguf_files.larger_than_ram(model, folder / "sparse-TQ2_0.gguf", 6 * 1024**3)
    server = HubServer().start()
    server.add_repo(REPO, {model.name: model}, tags=["gguf"])
    server.add_repo(SPARSE_REPO, {sparse.name: sparse}, tags=["gguf"], declared_shas={sparse.name: "0" * 64})
    yield server, model, sparse
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


def _plain_read(url: str, dst: Path) -> float:
    """urllib, 1 MiB reads, written to disk: what any downloader must at least do."""
    t0 = time.perf_counter()
    with urllib.request.urlopen(url) as resp, open(dst, "wb") as f:
        while block := resp.read(1 << 20):
            f.write(block)
    return time.perf_counter() - t0


def test_download_throughput_vs_plain_read(bench_hub, tern_home: Path, monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    server, model, _ = bench_hub
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    size = model.stat().st_size
    listing = repo_listing(REPO)
    url = f"{server.cdn_url}/cdn/{urllib.request.quote(REPO, safe='')}/{urllib.request.quote(model.name, safe='')}"
    curl = shutil.which("curl")
    ours, plain, curls, calls = [], [], [], [0]

    def progress(_: Progress) -> None:
        calls[0] += 1

    _plain_read(url, tmp_path / "warm.bin")  # warm-up: the server's file into the page cache
    (tmp_path / "warm.bin").unlink()
    for _ in range(ROUNDS):  # interleaved A B (C) A B (C): the same conditions for each side
        plain.append(_plain_read(url, tmp_path / "plain.bin"))
        (tmp_path / "plain.bin").unlink()
        env = HubEnv.current()
        t0 = time.perf_counter()
        [got] = fetch_files(env, REPO, listing.commit or "main", listing.gguf_files, progress, threading.Event())
        ours.append(time.perf_counter() - t0)
        assert got.verified
        shutil.rmtree(env.cache_dir)
        if curl:
            t0 = time.perf_counter()
            subprocess.run([curl, "-sS", "-o", str(tmp_path / "curl.bin"), url], check=True)
            curls.append(time.perf_counter() - t0)
            (tmp_path / "curl.bin").unlink()
    mbps = [size / median(t) / 1e6 for t in (plain, ours)]
    rows = [("reader", "median MB/s", "runs (s)"),
            ("urllib read → file", f"{mbps[0]:.0f}", " ".join(f"{t:.2f}" for t in plain)),
            ("tern download (sha256 + progress)", f"{mbps[1]:.0f}", " ".join(f"{t:.2f}" for t in ours))]
    if curls:
        rows.append(("curl -o", f"{size / median(curls) / 1e6:.0f}", " ".join(f"{t:.2f}" for t in curls)))
    report(f"Download of a {size / 1e6:.0f} MB file from the local Hub ({ROUNDS} rounds after a warm-up, "
           "interleaved)", rows)
    vs_curl = f"; tern / curl = {median(curls) / median(ours):.2f}" if curls else ""
    print(f"   ratio tern / urllib = {mbps[1] / mbps[0]:.2f} (target ≥ 0.9){vs_curl}; "
          f"{calls[0] / ROUNDS:.0f} progress callbacks per download")
    assert all(t > 0 for t in ours + plain)


def test_header_inspection_of_a_multi_gb_file(bench_hub, monkeypatch: pytest.MonkeyPatch) -> None:
    server, _, sparse = bench_hub
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    server.reset()
    t0 = time.perf_counter()
    ins = inspect_remote(SPARSE_REPO, sparse.name)
    ms = (time.perf_counter() - t0) * 1e3
    cdn = server.requests("cdn")
    header = ins.header
    assert header is not None
    report(f"Header check of a {ins.size / 1024**3:.1f} GiB GGUF (sparse; 32000-token vocabulary)", [
        ("figure", "value"),
        ("verdict", ins.verdict.text),
        ("header size (bytes)", f"{header.data_start:,}"),
        ("bytes read over HTTP", f"{ins.bytes_read:,}  (target ≤ 2 MB)"),
        ("range requests", f"{ins.requests}  (target 1–2)"),
        ("CDN bytes sent (server log)", f"{sum(r.body_bytes for r in cdn):,}"),
        ("time", f"{ms:.0f} ms"),
    ])
    assert ins.requests >= 1


def test_f16_derivation_time_700m(bench_hub, tern_home: Path) -> None:
    _, model, _ = bench_hub
    registry = Registry(Store(tern_home / "bench.sqlite3"))
    registry.add_variant("bench-700m", model, "TQ2_0", "synthetic")
    phases: dict[str, float] = {}
    t0 = time.perf_counter()

    def progress(p) -> None:  # type: ignore[no-untyped-def]
        phases.setdefault(p.phase, time.perf_counter() - t0)

    v = derive_variant(registry, "bench-700m", "f16", progress=progress)
    total = time.perf_counter() - t0
    try:
        report("F16 derivation of the 700M-shape TQ2_0 model (child process, llama_model_quantize)", [
            ("figure", "value"),
            ("source (TQ2_0)", f"{model.stat().st_size / 1e6:.0f} MB"),
            ("output (F16)", f"{v.file_bytes / 1e6:.0f} MB"),
            ("hashing the source (sha256, provenance)", f"{phases.get('convert', 0):.2f} s"),
            ("total", f"{total:.2f} s  ({v.file_bytes / total / 1e6:.0f} MB/s written)"),
            ("threads", str(os.cpu_count())),
        ])
    finally:
        v.path.unlink(missing_ok=True)  # ~1.5 GB: never leave it behind
    assert not v.path.exists()
