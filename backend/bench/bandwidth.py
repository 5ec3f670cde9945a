"""This machine's memory bandwidth, measured once and kept: the ceiling a decode step's weight streaming meets.

Two measurements, and the figure is the higher of them:
- a streaming read test: numpy reads a buffer of 16× the last-level cache (at least 256 MB) with one
  thread per logical CPU (a bitwise-OR reduction, the least arithmetic per byte numpy has; the
  reduction releases the GIL), best of 5 passes. It runs in an engine process (`EngineClient.bandwidth`),
  so the buffer never lands in the window's own memory. Chosen over timing ggml's F16 matrix-vector
  product through the engine's libraries because it needs no model and no particular CPU backend, and
  measures the memory rather than one kernel; on this project's 2-vCPU Zen 4 both read ~43–45 GB/s.
- the F16 side's decode speed in a run × its weight bytes per token: what the engine itself streamed.
  A run that beats the stored figure raises it (`note_decode`) — when its weights are too big for the
  caches (≥ 256 MB and 4× the last-level cache): a small model's F16 decode reads from the cache.
Each figure carries how it was obtained; the cache is per CPU (backend.engine.machine_cache).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from backend import units
from backend.engine.machine_cache import JsonCache

CACHE = JsonCache("bandwidth.json")
KEY = "memory"
MIN_BUFFER = 256 << 20
MAX_BUFFER = 1 << 30
PASSES = 5


def llc_bytes() -> int | None:
    """The last-level cache's size from sysfs (Linux), None elsewhere or when unreadable."""
    best = None
    for idx in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            level = int((idx / "level").read_text())
            size = (idx / "size").read_text().strip().upper()
        except (OSError, ValueError):
            continue
        mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(size[-1:], 1)
        try:
            n = int(size.rstrip("KMG")) * mult
        except ValueError:
            continue
        if best is None or level > best[0]:
            best = (level, n)
    return best[1] if best else None


def stream_read(threads: int, nbytes: int | None = None, passes: int = PASSES) -> dict[str, Any]:
    """The streaming read test (run in the engine process): GB/s, and what it covered."""
    import numpy as np

    llc = llc_bytes()
    size = nbytes or min(MAX_BUFFER, max(MIN_BUFFER, 16 * (llc or 0)))
    buf = np.ones(size // 8, dtype=np.int64)  # written once: every page is really there
    parts = np.array_split(buf, threads)
    best = 0.0

    def read(start: threading.Barrier, part: np.ndarray) -> None:
        start.wait()
        np.bitwise_or.reduce(part)

    for _ in range(passes):
        start = threading.Barrier(threads + 1)
        workers = [threading.Thread(target=read, args=(start, p), daemon=True) for p in parts]
        for w in workers:
            w.start()
        t0 = time.perf_counter()
        start.wait()
        for w in workers:
            w.join()
        best = max(best, buf.nbytes / (time.perf_counter() - t0) / 1e9)
    del buf, parts
    return {"gb_per_s": best, "threads": threads, "bytes": size, "llc": llc, "passes": passes}


@dataclass
class Bandwidth:
    """This machine's bandwidth: the higher of the streaming test and the best F16 decode seen."""

    stream_gbs: float | None = None
    stream_how: str = ""
    decode_gbs: float | None = None
    decode_how: str = ""
    measured_at: float = 0.0

    @property
    def gb_per_s(self) -> float | None:
        figures = [x for x in (self.stream_gbs, self.decode_gbs) if x]
        return max(figures) if figures else None

    @property
    def how(self) -> str:
        """Which measurement the figure is, said in full."""
        if not self.gb_per_s:
            return "not measured"
        if self.decode_gbs and (not self.stream_gbs or self.decode_gbs >= self.stream_gbs):
            return self.decode_how
        return self.stream_how

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Bandwidth:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})


def stream_label(r: dict[str, Any]) -> str:
    llc = f", {r['bytes'] // max(1, r['llc'])}× the {units.memory(r['llc'])} last-level cache" if r.get("llc") else ""
    return (f"streaming read test: numpy, {units.count(int(r['threads']), 'thread')}, "
            f"{units.memory(r['bytes'])} buffer{llc}, best of {r['passes']}")


def cached() -> Bandwidth | None:
    d = CACHE.get(KEY)
    return Bandwidth.from_dict(d) if d else None


def store_stream(result: dict[str, Any]) -> Bandwidth:
    bw = cached() or Bandwidth()
    bw.stream_gbs, bw.stream_how, bw.measured_at = float(result["gb_per_s"]), stream_label(result), time.time()
    CACHE.put(KEY, bw.to_dict())
    return bw


def streams_from_memory(nbytes: int) -> bool:
    """Whether a decode reading `nbytes` of weights per token reads them from memory, not from the caches:
    at least 256 MB and 4× the last-level cache (a small model's weights stay in the cache)."""
    return nbytes >= max(MIN_BUFFER, 4 * (llc_bytes() or 0))


def note_decode(gbs: float | None, how: str, bytes_per_token: int) -> Bandwidth | None:
    """An F16 decode streamed `gbs` GB/s of weights (`bytes_per_token` per token): keep it if it beats the
    stored decode figure and the weights were too big to come from the caches."""
    bw = cached() or Bandwidth()
    if gbs and gbs > (bw.decode_gbs or 0.0) and streams_from_memory(bytes_per_token):
        bw.decode_gbs, bw.decode_how = float(gbs), how
        CACHE.put(KEY, bw.to_dict())
    return bw if bw.gb_per_s else None


def measure() -> Bandwidth:
    """Run the streaming test in a fresh engine process and keep it. Blocks for about a second; run it off
    the GUI thread."""
    from backend.engine.client import EngineClient
    from backend.engine.hardware import logical_cpus

    engine = EngineClient("bandwidth")
    try:
        engine.start()
        result = engine.bandwidth(logical_cpus())
    finally:
        engine.close()
    return store_stream(result)


def machine_bandwidth(announce: Callable[[], None] | None = None) -> Bandwidth | None:
    """This machine's bandwidth for the roofline: the stored figure, after running the streaming test once
    (`announce` first says so) when there is none yet."""
    bw = cached()
    if bw is None or not bw.stream_gbs:
        if announce is not None:
            announce()
        bw = measure()
    return bw
