"""What a comparison or benchmark run is made of: its configuration, its samples, its summary.

A *run* is one comparison (kind "compare": one prompt, each side once), one benchmark (kind
"bench": N measured runs per side over a prompt set) or one race ("race": both sides at once,
not a fair measurement). A *sample* is one measured reply of one side.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from backend.bench.energy import EnergyFigure
from backend.engine.protocol import DEFAULT_PARAMS, TurnStats

COMPARE, BENCH, RACE = "compare", "bench", "race"
OK, FAILED, CANCELLED = "ok", "failed", "cancelled"  # sample status
RUNNING, COMPLETE, INCOMPLETE, RUN_FAILED = "running", "complete", "incomplete", "failed"  # run status

DEFAULT_PROMPT = "Write a short story about a heron that learns to count in threes."
RACE_NOTE = ("Race mode: both sides ran at the same time, sharing the CPU cores and memory bandwidth — "
             "watch it, but do not quote its figures; use the fair mode for a measurement.")


@dataclass
class BenchConfig:
    kind: str = BENCH
    runs: int = 5
    tokens: int = 128
    prompts: list[str] = field(default_factory=lambda: [DEFAULT_PROMPT])
    threads: int = 0  # 0: physical cores (resolved when the run starts)
    n_ctx: int = 0  # 0: just enough for the longest prompt and the reply
    seed: int = 42
    temperature: float = DEFAULT_PARAMS["temperature"]
    top_p: float = DEFAULT_PARAMS["top_p"]
    top_k: int = DEFAULT_PARAMS["top_k"]
    min_p: float = DEFAULT_PARAMS["min_p"]
    repeat_penalty: float = DEFAULT_PARAMS["repeat_penalty"]
    ignore_eos: bool = True  # benchmarks: a fixed output length
    warmup_tokens: int = 8
    idle_baseline: bool = True  # an idle-power baseline before each measured reply
    stream: bool = False  # emit each token (the comparison panel); benchmarks need only the figures

    def params(self, max_tokens: int | None = None) -> dict[str, Any]:
        """Generation parameters, identical for both sides; a fresh KV cache every time."""
        return {
            "max_tokens": self.tokens if max_tokens is None else max_tokens,
            "seed": self.seed, "temperature": self.temperature, "top_p": self.top_p, "top_k": self.top_k,
            "min_p": self.min_p, "repeat_penalty": self.repeat_penalty, "ignore_eos": self.ignore_eos,
            "reuse_cache": False,
        }

    def auto_ctx(self, limit: int | None = None) -> int:
        """Context for the longest prompt (a token is at least a byte) plus the reply, in steps of 256."""
        need = max(len(p.encode("utf-8")) for p in self.prompts) + 64 + self.tokens
        n = max(512, -(-need // 256) * 256)
        return min(n, limit) if limit else n

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BenchConfig:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class Sample:
    side: str  # "ternary" | "f16"
    iteration: int
    prompt_index: int
    status: str  # OK | FAILED | CANCELLED
    stats: TurnStats | None = None
    energy: EnergyFigure = field(default_factory=EnergyFigure)
    error: str = ""
    text: str = ""  # the reply (kept in memory for the panel; not stored)

    def figure(self, key: str) -> float | None:
        if self.status != OK:
            return None
        if key == "j_per_token":
            return self.energy.j_per_token
        if self.stats is None:
            return None
        v = getattr(self.stats, key, None)
        return None if v is None else float(v)


@dataclass
class RunResult:
    kind: str
    config: BenchConfig
    status: str = RUNNING
    id: int | None = None
    created_at: float = field(default_factory=time.time)
    label: str = ""
    fingerprint: dict[str, Any] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def side_samples(self, side: str, ok_only: bool = True) -> list[Sample]:
        return [s for s in self.samples if s.side == side and (s.status == OK or not ok_only)]
