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


# -- before a run: what it will take; after a stop: nothing left behind ------------------------------------

@pytest.fixture()
def tiny_paper_shape(monkeypatch: pytest.MonkeyPatch) -> str:
    """A paper size small enough to make and benchmark in a test (the real ones are gigabytes)."""
    import dataclasses

    import backend.bench.paper_shapes as ps

    monkeypatch.setitem(SHAPES, "tiny-paper", dataclasses.replace(SHAPES["tiny"], name="tiny-paper",
                                                                 paper_label="700M"))
    monkeypatch.setattr(ps, "PAPER_SIZES", [*ps.PAPER_SIZES, "tiny-paper"])
    return "tiny-paper"


def test_the_estimate_counts_every_shape_that_fits_and_the_largest_pair_on_disk(tmp_path: Path) -> None:
    from backend.bench.paper_shapes import estimate_shapes
    from backend.bench.results import BenchConfig

    plans = plan_shapes(PAPER_SIZES, tmp_path, 512, available_ram=5 * GB, free_disk=100 * GB)
    config = BenchConfig(runs=3, tokens=64)
    est = estimate_shapes(plans, config, [])
    assert est.disk_bytes == plans[1].disk_bytes  # 1.3B is the biggest that fits; 3B is skipped
    assert "no benchmark has run on this computer yet" in est.basis
    assert 60 < est.seconds < 3600  # minutes, not seconds and not hours, for the two sizes on a laptop
    more = estimate_shapes(plans, BenchConfig(runs=6, tokens=64), [])
    assert more.seconds > est.seconds  # more runs take longer
    assert "about" in est.describe() and "GB of disk" in est.describe()


def test_the_estimate_uses_this_computers_own_benchmark_when_there_is_one(tmp_path: Path) -> None:
    from backend.bench.paper_shapes import estimate_shapes
    from backend.bench.results import BENCH, BenchConfig, RunResult

    plans = plan_shapes(["700M"], tmp_path, 512, available_ram=64 * GB, free_disk=100 * GB)
    run = RunResult(BENCH, BenchConfig(), status="complete", id=42)
    run.fingerprint = {"models": {"ternary": {"encoding": "TQ2_0", "file_bytes": 10**8},
                                  "f16": {"encoding": "F16", "file_bytes": 4 * 10**8}}}
    slow = {"ternary": {"figures": {"decode_tps": {"median": 10.0}}},
            "f16": {"figures": {"decode_tps": {"median": 2.0}}}}
    run.summary = {"sides": slow}
    est = estimate_shapes(plans, BenchConfig(runs=3, tokens=64), [run])
    assert est.basis == "decode speeds from benchmark #42 on this computer"
    assert est.seconds > estimate_shapes(plans, BenchConfig(runs=3, tokens=64), []).seconds  # a slow machine


def _shapes(tmp_path: Path, cancel_when: str) -> tuple[object, list[str]]:
    from backend.bench.energy import NoEnergy
    from backend.bench.history import BenchHistory
    from backend.bench.paper_shapes import PaperShapes
    from backend.bench.results import BenchConfig
    from backend.store import Store

    said: list[str] = []
    shapes: list[PaperShapes] = []

    def say(text: str) -> None:
        said.append(text)
        if cancel_when in text:
            shapes[0].cancel()

    def listener(_name: str):  # noqa: ANN202
        def on_event(ev) -> None:  # noqa: ANN001
            if cancel_when == "sample" and ev.kind == "sample":
                shapes[0].cancel()
        return on_event

    config = BenchConfig(runs=3, tokens=8, threads=1, idle_baseline=False)
    shapes.append(PaperShapes(tmp_path / "shapes", config, BenchHistory(Store(tmp_path / "db.sqlite3")),
                              NoEnergy(), say, listener=listener))
    return shapes[0], said


def test_stopping_while_the_files_are_written_leaves_none_behind(tmp_path: Path, tiny_paper_shape: str) -> None:
    shapes, said = _shapes(tmp_path, "writing F16")
    assert shapes.run([tiny_paper_shape]) == []
    assert any("writing TQ2_0" in s for s in said)  # the TQ2_0 file was whole when the stop came
    assert list((tmp_path / "shapes").iterdir()) == []


def test_stopping_during_the_benchmark_keeps_what_was_measured_and_no_files(tmp_path: Path,
                                                                            tiny_paper_shape: str) -> None:
    shapes, _said = _shapes(tmp_path, "sample")
    [run] = shapes.run([tiny_paper_shape])
    assert run.status == "incomplete" and run.samples
    assert list((tmp_path / "shapes").iterdir()) == []


def test_files_that_were_there_before_a_run_stay(tmp_path: Path, tiny_paper_shape: str) -> None:
    from backend.models.synth import make_model, model_filename

    kept = make_model(tmp_path / "shapes" / model_filename(tiny_paper_shape, "tq2_0"), tiny_paper_shape, "tq2_0")
    shapes, _said = _shapes(tmp_path, "writing F16")
    shapes.run([tiny_paper_shape])
    assert list((tmp_path / "shapes").iterdir()) == [kept]
