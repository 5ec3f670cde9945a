"""Medians and IQRs on inputs whose answers are known by hand."""

from __future__ import annotations

import statistics

from hypothesis import given
from hypothesis import strategies as st

from backend.bench.stats import Summary, quantile, ratio, summarize


def test_quartiles_of_four_values_interpolate() -> None:
    s = summarize([4.0, 1.0, 3.0, 2.0])
    assert (s.n, s.median, s.q1, s.q3, s.min, s.max) == (4, 2.5, 1.75, 3.25, 1.0, 4.0)
    assert s.iqr == 1.5


def test_odd_count_median_is_the_middle_value() -> None:
    s = summarize([10, 30, 20, 50, 40])
    assert s.median == 30 and s.q1 == 20 and s.q3 == 40


def test_one_value_has_no_spread() -> None:
    s = summarize([7.5])
    assert s.median == s.q1 == s.q3 == 7.5 and s.iqr == 0


def test_missing_values_are_counted_not_zero() -> None:
    s = summarize([None, 2.0, None, 4.0])
    assert s.n == 2 and s.missing == 2 and s.median == 3.0


def test_nothing_measured_gives_no_median() -> None:
    s = summarize([None, None])
    assert s.n == 0 and s.median is None and s.iqr is None and s.missing == 2


def test_summary_round_trips_through_a_dict() -> None:
    s = summarize([1.0, 5.0, 2.0])
    assert Summary.from_dict(s.to_dict()) == s


def test_ratio_refuses_unknowns() -> None:
    assert ratio(6.0, 2.0) == 3.0
    assert ratio(None, 2.0) is None and ratio(1.0, None) is None and ratio(1.0, 0.0) is None


@given(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=2, max_size=40))
def test_quartiles_match_python_inclusive_method(values: list[float]) -> None:
    q = statistics.quantiles(values, n=4, method="inclusive")
    s = sorted(values)
    for mine, theirs in zip((quantile(s, 0.25), quantile(s, 0.5), quantile(s, 0.75)), q, strict=True):
        assert abs(mine - theirs) <= 1e-6 * max(1.0, abs(theirs))
