"""The benchmark's order: warm-up first, then A B A B; blocks when only one engine fits."""

from __future__ import annotations

import pytest

from backend.bench.schedule import MEASURED, WARMUP, plan


def test_interleaved_warms_both_then_alternates() -> None:
    steps = plan(("A", "B"), runs=3, n_prompts=1)
    assert [(s.kind, s.side) for s in steps[:2]] == [(WARMUP, "A"), (WARMUP, "B")]
    measured = steps[2:]
    assert [s.side for s in measured] == ["A", "B"] * 3
    assert [s.iteration for s in measured] == [0, 0, 1, 1, 2, 2]
    assert all(s.kind == MEASURED for s in measured)


def test_every_run_covers_every_prompt_on_both_sides() -> None:
    measured = [s for s in plan(("A", "B"), runs=2, n_prompts=2) if s.kind == MEASURED]
    assert [(s.iteration, s.prompt_index, s.side) for s in measured] == [
        (0, 0, "A"), (0, 0, "B"), (0, 1, "A"), (0, 1, "B"), (1, 0, "A"), (1, 0, "B"), (1, 1, "A"), (1, 1, "B")]


def test_blocked_order_warms_each_side_before_its_block() -> None:
    steps = plan(("A", "B"), runs=2, n_prompts=1, interleaved=False)
    assert [(s.kind, s.side) for s in steps] == [
        (WARMUP, "A"), (MEASURED, "A"), (MEASURED, "A"), (WARMUP, "B"), (MEASURED, "B"), (MEASURED, "B")]


def test_a_benchmark_needs_runs_and_prompts() -> None:
    with pytest.raises(ValueError):
        plan(("A", "B"), runs=0, n_prompts=1)
    with pytest.raises(ValueError):
        plan(("A", "B"), runs=1, n_prompts=0)
