"""The paper's table: measured ratios beside the published ones, with the note on what differs."""

from __future__ import annotations

from backend.bench.energy import EnergyFigure
from backend.bench.pairing import F16, TERNARY
from backend.bench.paper import (
    COLUMNS,
    WHAT_DIFFERS,
    ideal_ratio,
    paper_table,
    published,
    reference,
    render_text,
    size_for,
    table_cells,
)
from backend.bench.results import BENCH, COMPARE, COMPLETE, OK, BenchConfig, RunResult, Sample
from backend.bench.summary import summarize_run
from backend.engine.protocol import TurnStats
from backend.models.synth import SHAPES


def turn(decode: float, rss: int) -> TurnStats:
    return TurnStats(20, 0, 64, 30.0, 20.0, 1000.0, decode, 1500.0, rss, rss, 2.0, "length")


def bench_run(shape: str | None, n_params: int, encoding: str, tq: tuple[float, int], f16: tuple[float, int],
              created: float, kind: str = BENCH, model: str = "m") -> RunResult:
    run = RunResult(kind, BenchConfig(), COMPLETE, id=int(created), created_at=created)
    run.fingerprint = {"models": {
        TERNARY: {"model": model, "encoding": encoding, "shape": shape, "n_params": n_params,
                  "synthetic": shape is not None,
                  "file_bytes": 217_000_000},
        F16: {"model": model, "encoding": "F16", "shape": shape, "n_params": n_params, "file_bytes": 1_459_000_000}}}
    run.samples = [Sample(TERNARY, i, 0, OK, turn(tq[0] + i, tq[1]), EnergyFigure()) for i in range(3)]
    run.samples += [Sample(F16, i, 0, OK, turn(f16[0] + i, f16[1]), EnergyFigure()) for i in range(3)]
    run.summary = summarize_run(run)
    return run


def test_reference_holds_the_published_figures() -> None:
    assert (published("700M")["memory_ratio"], published("700M")["latency_ratio"]) == (2.60, 1.23)
    assert (published("1.3B")["memory_ratio"], published("1.3B")["latency_ratio"]) == (2.93, 1.67)
    assert (published("3B")["memory_ratio"], published("3B")["latency_ratio"]) == (3.55, 2.71)
    assert round(ideal_ratio("TQ2_0"), 2) == 7.76 and round(ideal_ratio("tq1_0"), 2) == 9.48
    assert "2402.17764" in reference()["citation"]


def test_sizes_match_shapes_and_parameter_counts() -> None:
    assert size_for(None, "700M") == "700M" and size_for(None, "3B") == "3B"
    assert size_for(SHAPES["1.3B"].n_params, None) == "1.3B"
    assert size_for(560_000_000, None) == "700M"  # within 1.5× of 700M
    assert size_for(8_000_000_000, None) is None  # no published size near 8B
    assert size_for(None, "tiny") is None


def test_table_puts_measured_beside_published() -> None:
    runs = [bench_run("700M", SHAPES["700M"].n_params, "TQ2_0", (54.0, 343 << 20), (16.0, 1530 << 20), 100.0)]
    rows = paper_table(runs)
    r700 = next(r for r in rows if r.size == "700M")
    assert r700.measured and r700.synthetic and r700.samples == 3
    assert abs(r700.latency_ratio - 55.0 / 17.0) < 1e-9  # medians: 55 / 17
    assert abs(r700.rss_ratio - 1530 / 343) < 1e-9 and abs(r700.file_ratio - 1459 / 217) < 1e-9
    assert (r700.paper_memory, r700.paper_latency) == (2.60, 1.23) and round(r700.ideal, 2) == 7.76
    cells = table_cells(r700)
    assert cells[0] == "700M" and "synthetic" in cells[1] and cells[4] == "2.60×" and cells[6] == "1.23×"
    assert cells[2] == f"{1530 / 343:.2f}×" and cells[5] == f"{55 / 17:.2f}×"
    unmeasured = next(r for r in rows if r.size == "3B")
    assert not unmeasured.measured and table_cells(unmeasured)[1] == "not benchmarked here"
    assert table_cells(unmeasured)[2] == "—" and table_cells(unmeasured)[4] == "3.55×"
    assert [r.size for r in rows] == ["700M", "1.3B", "3B", "3.9B", "70B"]


def test_newest_benchmark_per_size_wins_and_comparisons_are_left_out() -> None:
    old = bench_run("700M", 1, "TQ2_0", (40.0, 300), (20.0, 900), 100.0, model="old")
    new = bench_run("700M", 1, "TQ2_0", (60.0, 300), (20.0, 900), 200.0, model="new")
    compare = bench_run("700M", 1, "TQ2_0", (90.0, 300), (10.0, 900), 300.0, kind=COMPARE, model="cmp")
    tq1 = bench_run("700M", 1, "TQ1_0", (30.0, 250), (20.0, 900), 150.0, model="tq1")
    rows = paper_table([old, new, compare, tq1], include_unmeasured=False)
    assert [(r.model, r.encoding) for r in rows] == [("tq1", "TQ1_0"), ("new", "TQ2_0")]
    assert round(rows[0].ideal, 2) == 9.48


def test_text_rendering_has_both_columns_and_the_note() -> None:
    runs = [bench_run("700M", 1, "TQ2_0", (54.0, 343), (16.0, 1530), 100.0)]
    text = render_text(paper_table(runs))
    header = text.splitlines()[1]
    for col in COLUMNS:
        assert col in header
    assert "2.60×" in text and "1.23×" in text and f"{55 / 17:.2f}×" in text
    assert WHAT_DIFFERS in text and "random ternary weights" in text
