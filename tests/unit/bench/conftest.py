"""Fixtures for the comparison tests: the tiny pair, plus files that must not pair with it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from backend.models.synth import SHAPES, make_model


@pytest.fixture(scope="session")
def odd_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """F16 files that are not the tiny TQ2_0's F16 variant: another shape, and the same shape from another seed."""
    d = tmp_path_factory.mktemp("odd-models")
    three_layers = replace(SHAPES["tiny"], name="tiny3", n_layer=3)
    return {
        "other_shape_f16": make_model(d / "other-shape-F16.gguf", three_layers, "f16", seed=7),
        "other_seed_f16": make_model(d / "other-seed-F16.gguf", "tiny", "f16", seed=8),
    }
