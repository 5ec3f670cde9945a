"""One way to write each figure (backend/units.py): what a person reads in every place Tern shows it."""

from __future__ import annotations

import math

import pytest

from backend import units


@pytest.mark.parametrize(("n", "text"), [
    (None, "—"), (0, "0 B"), (512, "512 B"), (12_300, "12.3 kB"), (275_000_000, "275 MB"),
    (1_459_000_000, "1.46 GB"), (27_540_000, "27.5 MB"), (999, "999 B"), (1000, "1.00 kB"),
])
def test_file_sizes_are_decimal_with_three_figures(n: float | None, text: str) -> None:
    assert units.size(n) == text


@pytest.mark.parametrize(("n", "text"), [
    (None, "—"), (0, "—"), (-5, "—"), (float("nan"), "—"), (9.6 * 2**20, "9.6 MiB"), (516 * 2**20, "516 MiB"),
    (1535 * 2**20, "1,535 MiB"), (12.3 * 2**30, "12.3 GiB"),
])
def test_memory_is_binary_and_a_zero_reading_is_no_reading(n: float | None, text: str) -> None:
    assert units.memory(n) == text


def test_a_zero_byte_file_and_a_zero_rss_read_differently_on_purpose() -> None:
    """An empty file is 0 B; a process never has no resident memory, so 0 there means the OS said nothing."""
    assert units.size(0) == "0 B"
    assert units.memory(0) == units.DASH


@pytest.mark.parametrize(("v", "text"), [
    (None, "—"), (4.24, "4.2 ms"), (840.2, "840 ms"), (999.4, "999 ms"), (999.6, "1.00 s"), (1234, "1.23 s"),
    (12_500, "12.5 s"), (125_000, "2 min 05 s"),
])
def test_times_switch_from_ms_to_seconds_at_one_second(v: float | None, text: str) -> None:
    assert units.ms(v) == text


@pytest.mark.parametrize(("s", "text"), [(None, "—"), (45, "45 s"), (279, "4 min 39 s"), (3720, "1 h 02 min")])
def test_clock(s: float | None, text: str) -> None:
    assert units.clock(s) == text


def test_rates_and_energy() -> None:
    assert units.tps(57.66) == "57.7 tok/s"
    assert units.tps(0) == units.tps(None) == "—"
    assert units.ms_per_token(50) == "20.0 ms"
    assert units.rate(2_100_000) == "2.10 MB/s"
    assert units.rate(None) == "—"
    assert units.watts(12.34) == "12.3 W"
    assert units.watts(0.85) == "850 mW"
    assert units.joules(3.512) == "3.51 J"
    assert units.joules(0.028) == "28.0 mJ"
    assert units.per_token(0.028) == "0.028 J/token"
    assert units.per_token(0.0028) == "2.80 mJ/token"
    assert units.cores(1.6, 2) == "1.6 cores (80 % of 2)"
    assert units.watts(math.nan) == "—"


def test_counts_agree_with_their_noun() -> None:
    assert units.count(1, "thread") == "1 thread"
    assert units.count(2, "thread") == "2 threads"
    assert units.count(2048, "token") == "2,048 tokens"
    assert units.count(1, "reply", "replies") == "1 reply"
    assert units.count(3, "reply", "replies") == "3 replies"


def test_ratios() -> None:
    assert units.times(1.234) == "1.23×"
    assert units.times(3.04) == "3.0×"
    assert units.times(12.4) == "12×"
    assert units.times(None) == "—"
