"""Shared fixtures for `make bench`: synthetic models of the paper's shapes, made once per session.

Benchmarks print what they measure (side by side, in one run: the machine is noisy) and assert
only that the measurement happened; the README and the closing notes quote the figures.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path

import pytest

from backend.engine import Done, EngineClient
from backend.models.synth import make_pair


@pytest.fixture(scope="session")
def synthetic_models(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., dict[str, Path]]:
    """make(shape, *encodings) -> {encoding: path}; each file is made once per session (seed 0)."""
    folder = tmp_path_factory.mktemp("bench-models")

    def make(shape: str, *encodings: str) -> dict[str, Path]:
        return make_pair(folder, shape=shape, seed=0, encodings=encodings or ("tq2_0", "f16"))

    return make


PROMPT = [{"role": "user", "content": "Write a long story about a heron that learns to count in threes."}]


def engine_decode(engine: EngineClient, n: int = 128) -> Done:
    """One reply of `n` tokens (EOS ignored, fresh KV cache) through the engine: its Done, with the figures."""
    done = None
    for ev in engine.generate(PROMPT, {"max_tokens": n, "temperature": 0, "ignore_eos": True, "reuse_cache": False}):
        if isinstance(ev, Done):
            done = ev
    assert done is not None
    return done


def median(values: list[float]) -> float:
    return statistics.median(values)


def iqr(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def report(title: str, rows: list[tuple[str, ...]]) -> None:
    """Print a small aligned table under a title."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print(f"\n== {title}")
    for r in rows:
        cells = enumerate(zip(r, widths, strict=True))
        print("   " + "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in cells))
