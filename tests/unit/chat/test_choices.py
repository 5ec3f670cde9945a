from __future__ import annotations

from pathlib import Path

from backend import units
from backend.chat.choices import choices, find_choice
from backend.models.registry import Registry
from backend.store import Store


def test_choices_list_usable_variants_fastest_first_with_size_and_label(tmp_path: Path, tiny_models) -> None:
    reg = Registry(Store(tmp_path / "t.sqlite3"))
    for enc in ("f16", "tq1_0", "tq2_0"):
        reg.add_variant("tiny", tiny_models[enc], enc, "synthetic", model_fields={"synthetic": 1})
    missing = tmp_path / "gone.gguf"
    missing.write_bytes(b"x")
    reg.add_variant("other", missing, "tq2_0", "imported")
    missing.unlink()  # a file removed behind Tern's back is not offered
    got = choices(reg)
    assert [c.spec for c in got] == ["tiny:TQ2_0", "tiny:TQ1_0", "tiny:F16"]
    assert got[0].title == f"tiny · TQ2_0  ·  {units.size(got[0].file_bytes)}  ·  synthetic"
    assert find_choice(got, "TINY:tq1_0") is got[1]
    assert find_choice(got, str(tiny_models["f16"].resolve())) is got[2]


def test_the_random_weights_label_is_the_one_synthetic_models_carry(tiny: Path) -> None:
    from backend.chat.choices import SYNTHETIC_LABEL
    from backend.models.gguf_header import read_header

    assert read_header(tiny).metadata["general.description"] == SYNTHETIC_LABEL
