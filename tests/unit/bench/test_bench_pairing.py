"""Pairing a ternary variant with its F16 variant; mismatched pairs are refused with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.context import AppContext
from backend.bench.engines import memory_plan
from backend.bench.missing_variant import MissingVariant
from backend.bench.pairing import PairError, resolve_pair


def test_twin_next_to_the_file_is_found_and_weights_are_known_same(tiny_models: dict[str, Path]) -> None:
    pair = resolve_pair(None, tiny_models["tq2_0"])
    assert pair.f16.path == tiny_models["f16"].resolve()
    assert (pair.ternary.encoding, pair.f16.encoding) == ("TQ2_0", "F16")
    assert pair.same_weights and "seed 7" in pair.weights_note
    assert pair.synthetic


def test_tq1_0_pairs_with_the_same_f16(tiny_models: dict[str, Path]) -> None:
    pair = resolve_pair(None, tiny_models["tq1_0"], tiny_models["f16"])
    assert pair.ternary.encoding == "TQ1_0" and pair.same_weights


def test_twin_through_the_registry_by_model_name(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    reg = AppContext().registry
    for enc in ("tq2_0", "f16"):
        reg.add_variant("tiny", tiny_models[enc], enc, "synthetic")
    pair = resolve_pair(reg, "tiny")
    assert pair.ternary.encoding == "TQ2_0" and pair.f16.path == tiny_models["f16"].resolve()
    assert pair.ternary.model_name == "tiny"


def test_derived_twin_counts_as_same_weights(tiny_models: dict[str, Path], odd_models: dict[str, Path]) -> None:
    """An F16 the registry records as derived from the TQ file holds the same weights, whatever its seed tag."""
    reg = AppContext().registry
    reg.add_variant("m", tiny_models["tq2_0"], "tq2_0", "hub", sha256="ab" * 32)
    reg.add_variant("m", odd_models["other_seed_f16"], "f16", "derived",
                    derived_from_path=str(tiny_models["tq2_0"]), derived_from_sha256="ab" * 32)
    pair = resolve_pair(reg, "m")
    assert pair.same_weights and "derived from the TQ2_0 file" in pair.weights_note


def test_other_seed_pairs_but_weights_are_not_claimed_equal(tiny_models, odd_models) -> None:
    pair = resolve_pair(None, tiny_models["tq2_0"], odd_models["other_seed_f16"])
    assert not pair.same_weights and "cannot confirm" in pair.weights_note


def test_mismatched_shapes_are_refused_with_the_reason(tiny_models, odd_models) -> None:
    with pytest.raises(PairError) as e:
        resolve_pair(None, tiny_models["tq2_0"], odd_models["other_shape_f16"])
    assert e.value.code == "mismatch"
    assert "block count 2 vs 3" in str(e.value)
    assert tiny_models["tq2_0"].name in str(e.value)


def test_f16_named_first_is_refused(tiny_models) -> None:
    with pytest.raises(PairError) as e:
        resolve_pair(None, tiny_models["f16"], tiny_models["tq2_0"])
    assert e.value.code == "not_ternary" and "not a ternary encoding" in str(e.value)


def test_two_ternary_files_are_refused(tiny_models) -> None:
    with pytest.raises(PairError) as e:
        resolve_pair(None, tiny_models["tq2_0"], tiny_models["tq1_0"])
    assert e.value.code == "not_float"


def test_missing_twin_offers_to_derive_with_disk_and_ram(tiny_models, tmp_path: Path) -> None:
    alone = tmp_path / "lonely-TQ2_0.gguf"
    alone.write_bytes(tiny_models["tq2_0"].read_bytes())
    with pytest.raises(MissingVariant) as e:
        resolve_pair(None, alone)
    offer = e.value.offer
    real_f16 = tiny_models["f16"].stat().st_size
    assert abs(offer.disk_bytes - real_f16) / real_f16 < 0.05  # the estimate is the F16 file's real size
    assert offer.ram.need_bytes > offer.disk_bytes and offer.fits_disk
    assert "GB of disk" in str(e.value) and "GB of RAM" in str(e.value)


def test_memory_plan_keeps_both_loaded_or_swaps(tiny_models) -> None:
    pair = resolve_pair(None, tiny_models["tq2_0"])
    plenty = memory_plan(pair, 512, available_ram=8 * 1024**3)
    assert plenty.together and "stay loaded" in plenty.note
    one_at_a_time = plenty.need[pair.f16.role] + 40 * 1024**2  # each side fits, both do not
    tight = memory_plan(pair, 512, available_ram=int(one_at_a_time / 0.8))
    assert not tight.together and "swaps" in tight.note


def test_f16_too_big_for_ram_is_refused_before_loading(tiny_models) -> None:
    pair = resolve_pair(None, tiny_models["tq2_0"])
    with pytest.raises(PairError) as e:
        memory_plan(pair, 512, available_ram=50 * 1024**2)
    assert e.value.code == "too_big" and "F16" in str(e.value) and "smaller model" in str(e.value)
