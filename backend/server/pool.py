"""The models the server can run, chosen by name, each loaded on first use into its own engine.

A request's `model` is `name` or `name:ENCODING` (`demo`, `demo:tq2_0`, `demo:F16`), looked up in
the local registry. It is never a path: nothing a client writes reaches the filesystem. The
first request for a model starts its lane (lane.py) if the model fits in the RAM available now;
when it does not, idle models are unloaded (least recently used first) to make room, and if it
still does not fit the request gets 503 with the figures.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.chat.model_engine import ModelEngine
from backend.errors import ModelFileError
from backend.models.checks import preflight
from backend.models.gguf_header import GGUFHeader
from backend.models.ram_fit import RamFit, kv_cache_bytes, ram_fit
from backend.models.registry import Registry
from backend.server.config import ServerConfig
from backend.server.errors import ApiError, bad_request, unavailable
from backend.server.lane import Job, Lane

log = logging.getLogger("tern.server")
_NO_RAM_LIMIT = 1 << 62  # checks a file without judging its fit (the fit is judged apart, with real figures)
RECENT_S = 5.0  # how long a resolved `model` string is trusted without asking the registry again


@dataclass(frozen=True)
class ModelRef:
    spec: str  # "name:ENCODING", the id /v1/models lists
    name: str
    encoding: str
    path: Path
    file_bytes: int
    synthetic: bool
    chat: bool | None

    @classmethod
    def of(cls, model: Any, variant: Any) -> ModelRef:
        """The reference to `variant` of registry model `model`."""
        enc = variant.encoding.upper()
        return cls(f"{model.name}:{enc}", model.name, enc, variant.path, variant.file_bytes, model.synthetic,
                   model.chat)


class ModelPool:
    def __init__(self, registry: Registry, config: ServerConfig, energy: Any = None) -> None:
        self.registry = registry
        self.config = config
        self.energy = energy
        self._lanes: dict[str, Lane] = {}
        self._lock = threading.Lock()
        self._checked: dict[Path, tuple[tuple[int, int], GGUFHeader | None, str]] = {}
        self._closed = False
        self._recent: dict[str, tuple[float, ModelRef]] = {}  # what a `model` string resolved to, and when

    # -- which models ---------------------------------------------------------------------
    def refs(self) -> list[ModelRef]:
        """Every usable variant in the registry, as `name:ENCODING`."""
        out = []
        for m in self.registry.models():
            for v in m.variants:
                if v.usable:
                    out.append(ModelRef.of(m, v))
        return out

    def find(self, spec: str) -> ModelRef:
        """The variant a request's `model` names (404 when there is none)."""
        spec = spec.strip() or self.config.default_model
        if not spec:
            raise bad_request("`model` is required: name a local model (see GET /v1/models).", "model",
                              code="missing_model")
        if any(c in spec for c in "/\\\0") or spec.lower().endswith(".gguf"):
            raise ApiError(404, f"{spec!r} is not a model name: models are chosen by name (see GET /v1/models), "
                           "never by path.", code="model_not_found", param="model")
        name, _, encoding = spec.partition(":")
        model = self.registry.find(name.strip())
        variant = model.variant(encoding.strip() or None) if model is not None else None
        if model is None or variant is None:
            known = ", ".join(r.spec for r in self.refs()) or "none yet (`tern demo` makes one)"
            what = f"no usable {encoding.upper()} variant of {model.name!r}" if model else f"no local model {name!r}"
            raise ApiError(404, f"There is {what}. Models here: {known}.", code="model_not_found", param="model")
        return ModelRef.of(model, variant)

    def check(self, ref: ModelRef) -> tuple[GGUFHeader | None, str]:
        """(header, "") when the file can run here, else (None, the reason); cached per file version."""
        try:
            st = ref.path.stat()
            key = (st.st_size, st.st_mtime_ns)
        except OSError as e:
            return None, f"its file cannot be read ({e.strerror})"
        cached = self._checked.get(ref.path)
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        try:
            header, problem = preflight(ref.path, self.config.n_ctx, available_ram=_NO_RAM_LIMIT)[0], ""
        except ModelFileError as e:
            header, problem = None, e.reason
        self._checked[ref.path] = (key, header, problem)
        return header, problem

    def fit(self, ref: ModelRef, header: GGUFHeader) -> RamFit:
        n_ctx = min(self.config.n_ctx, header.context_length or self.config.n_ctx)
        return ram_fit(ref.file_bytes, kv_cache_bytes(header, n_ctx))

    def listing(self) -> list[tuple[ModelRef, dict[str, Any]]]:
        """The models that can run here, each with its state (for GET /v1/models)."""
        out = []
        for ref in self.refs():
            header, problem = self.check(ref)
            if header is None:
                log.info("not listing %s: %s", ref.spec, problem)
                continue
            lane = self._lanes.get(ref.spec)
            state = {"state": lane.state if lane else "not loaded", "running": lane.running if lane else 0,
                     "queued": lane.queued if lane else 0, "created": _mtime(ref.path)}
            if lane is None or lane.state == "not loaded":
                fit = self.fit(ref, header)
                state.update(ram_fit=fit.verdict, ram_fit_detail=fit.describe())
            out.append((ref, state))
        return out

    # -- lanes ------------------------------------------------------------------------------
    def lane(self, ref: ModelRef) -> Lane:
        """The model's lane, started now if it is not running (503 when the model cannot fit)."""
        with self._lock:
            if self._closed:
                raise unavailable("The server is stopping.", "server_stopping")
            lane = self._lanes.get(ref.spec)
            if lane is not None:
                return lane
            header, problem = self.check(ref)
            if header is None:
                raise ApiError(500, f"{ref.spec} cannot run here: {problem}.", code="model_unusable")
            fit = self.fit(ref, header)
            while fit.verdict == "won't fit" and self._evict_one():
                fit = self.fit(ref, header)
            if fit.verdict == "won't fit":
                raise unavailable(
                    f"{ref.spec} does not fit in the memory available: {fit.describe()}. Close other programs, "
                    "start the server with a shorter context (--ctx), or use a smaller encoding such as TQ1_0.",
                    "model_too_large")
            model = ModelEngine(ref.path, self.config.n_ctx, self.config.n_threads, label=ref.spec,
                                name=f"server-{ref.spec}", on_calibration=functools.partial(_calibrating, ref.spec))
            lane = Lane(ref.spec, model, self.config.max_queue, self.energy)
            self._lanes[ref.spec] = lane
            return lane

    def resolve(self, spec: str) -> tuple[ModelRef, Lane]:
        """The model a request names and its lane (blocking: the registry, a header read, maybe a load)."""
        ref = self.find(spec)
        lane = self.lane(ref)
        self._recent[spec] = (time.monotonic(), ref)
        return ref, lane

    def recent(self, spec: str) -> tuple[ModelRef, Lane] | None:
        """`resolve` without blocking, when the same `model` string found a running lane moments ago.

        Saves the event loop a trip to a worker thread per request (a few ms on a busy 2-core
        machine); a change in the registry is seen within RECENT_S.
        """
        hit = self._recent.get(spec)
        if hit is None or time.monotonic() - hit[0] > RECENT_S:
            return None
        lane = self._lanes.get(hit[1].spec)
        return (hit[1], lane) if lane is not None and not self._closed else None

    def preload(self, spec: str) -> ModelRef:
        """Load a model now (`tern serve --model`), before any request asks for it."""
        ref = self.find(spec)
        self.lane(ref).submit(Job(None))
        return ref

    def lanes(self) -> dict[str, Lane]:
        return dict(self._lanes)

    def _evict_one(self) -> bool:
        """Unload the least recently used idle model (caller holds the lock); False when none is idle."""
        idle = [lane for lane in self._lanes.values() if lane.idle]
        if not idle:
            return False
        victim = min(idle, key=lambda lane: lane.last_used)
        log.info("unloading %s to make room for another model", victim.spec)
        del self._lanes[victim.spec]
        victim.close()
        return True

    def stop(self) -> None:
        """Refuse new requests and stop every turn now, without waiting (a signal handler calls it)."""
        with self._lock:
            self._closed = True
            lanes = list(self._lanes.values())
        for lane in lanes:
            lane.stop()

    def close(self, timeout: float = 10.0) -> None:
        """Stop every turn and close every engine process."""
        with self._lock:
            self._closed = True
            lanes, self._lanes = list(self._lanes.values()), {}
        for lane in lanes:
            lane.close(timeout)


def _calibrating(spec: str, step: int, _steps: int, _what: str) -> None:
    """A model's first load on this machine measures its threads first: the console says why it waits."""
    if step == 0:
        log.info("measuring the best thread count for %s on this computer (its first load here; once, a few "
                 "seconds)", spec)


def _mtime(path: Path) -> int:
    """When the model file was made (OpenAI's `created`); 0 when it cannot be read."""
    try:
        return int(path.stat().st_mtime)
    except OSError:
        return 0
