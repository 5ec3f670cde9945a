"""Threads per model: the settings' count, or the calibrated one for this model on this CPU, or the default.

Settings win when they name a count (both decode and prompt batches use it). With "automatic" (0) a
model calibrated on this machine runs with the counts its calibration chose (decode and prompt
separately); one never calibrated runs with the physical cores until its first calibration
(`calibrate`: a few seconds in the loaded engine, cancellable, kept per model file and CPU in
`threads.json` under the data dir; a cancelled one keeps nothing).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from backend import units
from backend.engine import hardware
from backend.engine.machine_cache import JsonCache, cpu_key, file_key

CACHE = JsonCache("threads.json")
SETTINGS, CALIBRATED, DEFAULT = "settings", "calibrated", "default"


class CalibrationCancelled(Exception):
    """The calibration was stopped; nothing was kept."""


@dataclass
class Calibration:
    n_threads: int
    n_threads_batch: int
    default: int  # the physical cores, what an uncalibrated model runs with
    decode: dict[str, float] = field(default_factory=dict)  # threads → decode tok/s (best of the rounds)
    prompt: dict[str, float] = field(default_factory=dict)  # threads → prompt tok/s
    prompt_tokens: int = 0
    rounds: int = 0
    margin: float = 0.0
    seconds: float = 0.0
    measured_at: float = 0.0
    cpu: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibration:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def figures(self) -> str:
        """'decode 1 → 31.0, 2 → 55.2 tok/s; prompt (64 tokens) 1 → 210, 2 → 380 tok/s'."""
        def row(rates: dict[str, float]) -> str:
            return ", ".join(f"{t} → {r:,.1f}" for t, r in sorted(rates.items(), key=lambda kv: int(kv[0])))
        return (f"decode {row(self.decode)} tok/s; prompt ({self.prompt_tokens} tokens) {row(self.prompt)} tok/s")

    def gain(self) -> tuple[float | None, float | None]:
        """How much faster the chosen counts are than the default (decode, prompt): 1.0 = the same."""
        def ratio(rates: dict[str, float], chosen: int) -> float | None:
            d, c = rates.get(str(self.default)), rates.get(str(chosen))
            return c / d if c and d else None
        return ratio(self.decode, self.n_threads), ratio(self.prompt, self.n_threads_batch)


@dataclass(frozen=True)
class ThreadChoice:
    n_threads: int
    n_threads_batch: int
    source: str  # SETTINGS | CALIBRATED | DEFAULT
    calibration: Calibration | None = None

    @property
    def text(self) -> str:
        """'2 threads decode, 2 for prompts — calibrated' (what a person reads next to the model)."""
        why = {SETTINGS: "from Settings", CALIBRATED: "calibrated on this computer",
               DEFAULT: "the physical cores (not calibrated yet)"}[self.source]
        return f"{units.count(self.n_threads, 'thread')} decode, {self.n_threads_batch} for prompts — {why}"

    def to_dict(self) -> dict[str, Any]:
        return {"n_threads": self.n_threads, "n_threads_batch": self.n_threads_batch, "source": self.source,
                "calibration": self.calibration.to_dict() if self.calibration else None}


def cached(path: str | Path) -> Calibration | None:
    try:
        d = CACHE.get(file_key(path))
    except OSError:
        return None
    try:
        return Calibration.from_dict(d) if d else None
    except TypeError:
        return None


def choose(path: str | Path, setting: int | None, cal: Calibration | None = None) -> ThreadChoice:
    """The threads a load of `path` uses: the setting's count, else the calibration's (`cal` when the caller
    has read it already), else the default."""
    if setting and setting > 0:
        n = hardware.bound_threads(setting)
        return ThreadChoice(n, n, SETTINGS)
    cal = cal or cached(path)
    if cal is not None:
        return ThreadChoice(hardware.bound_threads(cal.n_threads), hardware.bound_threads(cal.n_threads_batch),
                            CALIBRATED, cal)
    n = hardware.bound_threads(0)
    return ThreadChoice(n, n, DEFAULT)


def variant_facts(path: str | Path, setting: int | None) -> dict[str, Any]:
    """What a model file's card and `tern models list --json` show: the threads a load would use and why,
    whether a calibration is kept (`kept`, also when Settings name a count), and the weight bytes one decoded
    token reads (backend.bench.roofline)."""
    from backend.bench.roofline import traffic_of

    cal = cached(path)
    traffic, why = traffic_of(path)
    return {"threads": choose(path, setting, cal).to_dict(), "kept": cal is not None,
            "weights_per_token": traffic.to_dict() if traffic else None,
            **({"weights_per_token_unavailable": why} if traffic is None else {})}


def calibrate(client: Any, path: str | Path, rid: int | None = None,
              progress: Callable[[int, int, str], None] | None = None,
              candidates: list[int] | None = None, cancel: threading.Event | None = None) -> Calibration:
    """Calibrate the model loaded in `client` (an EngineClient) and keep the result for `path`.
    Raises CalibrationCancelled (nothing kept) when `client.cancel(rid)` stopped it, or when `cancel` was
    set before the result came back (a cancel that reached the engine after its last step)."""
    key = file_key(path)
    result = client.calibrate(rid, candidates, progress)
    if result is None or (cancel is not None and cancel.is_set()):
        raise CalibrationCancelled("Thread calibration cancelled; nothing was kept.")
    cal = Calibration.from_dict({**result, "measured_at": time.time(), "cpu": cpu_key()})
    CACHE.put(key, cal.to_dict())
    return cal


def calibrate_file(path: str | Path, cancel: threading.Event | None = None,
                   progress: Callable[[int, int, str], None] | None = None, n_ctx: int = 512,
                   candidates: list[int] | None = None) -> Calibration:
    """Load `path` in a fresh engine, calibrate it, keep the result, close the engine. Blocks (seconds);
    `cancel` stops it (CalibrationCancelled, nothing kept). For the Library and `tern models calibrate`."""
    from backend.engine.client import EngineClient

    cancel = cancel or threading.Event()
    with EngineClient("calibrate") as client:
        client.load(path, n_ctx=n_ctx, n_threads=0)
        if cancel.is_set():
            raise CalibrationCancelled("Thread calibration cancelled; nothing was kept.")
        rid = client.reserve_id()
        done = threading.Event()

        def watch() -> None:  # passes the caller's cancel on to the engine while the calibration runs
            while not done.is_set():
                if cancel.wait(0.05):
                    client.cancel(rid)
                    return

        watcher = threading.Thread(target=watch, daemon=True, name="calibrate-cancel")
        watcher.start()
        try:
            return calibrate(client, path, rid, progress, candidates, cancel)
        finally:
            done.set()
            watcher.join()
