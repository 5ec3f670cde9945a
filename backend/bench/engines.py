"""The two engine workers of a variant pair, loaded together when RAM allows, else one at a time.

Keeping both loaded lets a person send prompt after prompt without reloading; when the two do
not fit in RAM together, the pair swaps (unloads one side before loading the other) and says so.
If the F16 side alone does not fit, the comparison is refused before anything is loaded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from backend.bench.pairing import F16, TERNARY, Pair, PairError
from backend.engine import EngineClient, ModelInfo
from backend.models.ram_fit import RUNTIME_OVERHEAD, RamFit, kv_cache_bytes, ram_fit

log = logging.getLogger("tern.bench")
GIB = 1024**3


@dataclass(frozen=True)
class MemoryPlan:
    together: bool
    need_together: int
    need: dict[str, int]
    available: int
    note: str


def memory_plan(pair: Pair, n_ctx: int, available_ram: int | None = None) -> MemoryPlan:
    """Can both sides stay loaded? Raises PairError when a side cannot be loaded at all."""
    fits: dict[str, RamFit] = {}
    for role, side in pair.sides.items():
        kv = kv_cache_bytes(side.header, min(n_ctx, side.header.context_length or n_ctx))
        fits[role] = ram_fit(side.file_bytes, kv, available_ram)
    available = fits[TERNARY].available_bytes
    for role in (F16, TERNARY):
        if fits[role].verdict == "won't fit":
            side = pair.sides[role]
            raise PairError(
                f"Not enough memory for the {side.encoding} side ({side.path.name}): {fits[role].describe()}.",
                "Close other programs, or compare a smaller model (the paper's 700M shape fits most laptops).",
                code="too_big",
            )
    both = ram_fit(fits[TERNARY].weights_bytes + fits[F16].weights_bytes + RUNTIME_OVERHEAD,
                   fits[TERNARY].kv_bytes + fits[F16].kv_bytes, available)
    together = both.verdict == "fits"
    need = {role: f.need_bytes for role, f in fits.items()}
    if together:
        note = f"both engines stay loaded ({both.need_bytes / GIB:.2f} GiB of {available / GIB:.2f} GiB available)"
    else:
        note = (f"the two engines do not fit in RAM together ({both.need_bytes / GIB:.2f} GiB needed, "
                f"{available / GIB:.2f} GiB available): Tern loads one side at a time and swaps between them")
    return MemoryPlan(together, both.need_bytes, need, available, note)


class EnginePair:
    """Engine workers for the two sides; `ensure(role)` returns a loaded one (swapping if needed)."""

    def __init__(self, pair: Pair, n_ctx: int, n_threads: int, plan: MemoryPlan,
                 on_swap: Callable[[str], None] | None = None,
                 client_factory: Callable[[str], EngineClient] = EngineClient) -> None:
        self.pair = pair
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.plan = plan
        self.on_swap = on_swap
        self._factory = client_factory
        self.engines: dict[str, EngineClient] = {}
        self.infos: dict[str, ModelInfo] = {}
        self.warm: set[str] = set()
        self.swaps = 0

    def loaded(self, role: str) -> bool:
        e = self.engines.get(role)
        return e is not None and e.alive and e.info is not None

    def ensure(self, role: str) -> EngineClient:
        if self.loaded(role):
            return self.engines[role]
        if not self.plan.together:
            for other in [r for r in self.engines if r != role]:
                if self.loaded(other):
                    self.swaps += 1
                    if self.on_swap:
                        self.on_swap(f"unloading {self.pair.sides[other].encoding} to make room for "
                                     f"{self.pair.sides[role].encoding}")
                self.close_side(other)
        engine = self.engines.get(role)
        if engine is None:
            engine = self.engines[role] = self._factory(f"compare-{role}")
        side = self.pair.sides[role]
        log.info("loading %s (%s) for the comparison", side.path.name, role)
        self.infos[role] = engine.load(side.path, n_ctx=self.n_ctx, n_threads=self.n_threads)
        self.warm.discard(role)
        return engine

    def close_side(self, role: str) -> None:
        engine = self.engines.pop(role, None)
        self.warm.discard(role)
        if engine is not None:
            engine.close()

    def close(self) -> None:
        for role in list(self.engines):
            self.close_side(role)
