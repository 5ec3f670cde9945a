from __future__ import annotations

from pathlib import Path

import pytest

from backend.models.registry import Registry, UnknownModel
from backend.store import Store


@pytest.fixture()
def registry(tmp_path: Path) -> Registry:
    return Registry(Store(tmp_path / "r.sqlite3"))


def test_resolve_by_name_prefers_ternary(registry: Registry, tiny_models: dict[str, Path]) -> None:
    for enc, path in tiny_models.items():
        registry.add_variant("tiny", path, enc, "synthetic", model_fields={"synthetic": 1})
    assert registry.resolve("tiny") == tiny_models["tq2_0"].resolve()
    assert registry.resolve("tiny:f16") == tiny_models["f16"].resolve()
    assert registry.resolve("TINY:TQ1_0") == tiny_models["tq1_0"].resolve()
    assert len(registry.find("tiny").variants) == 3


def test_resolve_path_passes_through(registry: Registry, tiny: Path) -> None:
    assert registry.resolve(str(tiny)) == tiny


def test_unknown_name_lists_known_models(registry: Registry, tiny: Path) -> None:
    registry.add_variant("tiny", tiny, "tq2_0", "synthetic")
    with pytest.raises(UnknownModel, match="Known models: tiny"):
        registry.resolve("nosuch")
    with pytest.raises(UnknownModel, match="no usable F16"):
        registry.resolve("tiny:f16")


def test_quarantined_variant_is_never_resolved(registry: Registry, tiny_models: dict[str, Path]) -> None:
    v = registry.add_variant("tiny", tiny_models["tq2_0"], "tq2_0", "hub")
    registry.add_variant("tiny", tiny_models["f16"], "f16", "derived")
    registry.update_variant(v.id, quarantined=1)
    assert registry.resolve("tiny") == tiny_models["f16"].resolve()


def test_remove_model(registry: Registry, tiny: Path) -> None:
    registry.add_variant("tiny", tiny, "tq2_0", "synthetic")
    removed = registry.remove_model("tiny")
    assert [v.path for v in removed] == [tiny.resolve()]
    assert registry.models() == []
