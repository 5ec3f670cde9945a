"""Which of the paper's sizes `tern bench --paper-shapes` makes on a machine, and why it skips the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.bench.paper_shapes import PAPER_SIZES, plan_shapes
from backend.errors import TernError
from backend.models.synth import SHAPES

GB = 10**9


def test_the_paper_sizes_are_the_synthetic_shapes() -> None:
    assert PAPER_SIZES == ["700M", "1.3B", "3B"]


def test_sizes_that_fit_are_planned_and_too_big_ones_skipped_with_the_reason(tmp_path: Path) -> None:
    plans = plan_shapes(PAPER_SIZES, tmp_path, 512, available_ram=5 * GB, free_disk=100 * GB)
    fits = {p.name: p.fits for p in plans}
    assert fits == {"700M": True, "1.3B": True, "3B": False}
    big = plans[2]
    assert "would not fit in RAM" in big.reason and big.ram_bytes > SHAPES["3B"].file_bytes("f16")
    assert plans[0].disk_bytes == SHAPES["700M"].file_bytes("f16") + SHAPES["700M"].file_bytes("tq2_0")


def test_not_enough_disk_skips_a_size(tmp_path: Path) -> None:
    plans = plan_shapes(["700M"], tmp_path, 512, available_ram=64 * GB, free_disk=1 * GB)
    assert not plans[0].fits and "of disk free" in plans[0].reason


def test_kept_files_use_up_the_disk_for_the_next_size(tmp_path: Path) -> None:
    need = SHAPES["700M"].file_bytes("f16") + SHAPES["700M"].file_bytes("tq2_0")
    plans = plan_shapes(["700M", "700M"], tmp_path, 512, keep=True, available_ram=64 * GB, free_disk=int(need * 1.6))
    assert [p.fits for p in plans] == [True, False]


def test_unknown_size_is_refused() -> None:
    with pytest.raises(TernError) as e:
        plan_shapes(["7B"], Path("."), 512)
    assert "700M, 1.3B, 3B" in str(e.value)
