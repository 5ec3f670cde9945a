"""Ratios oriented so > 1 favours ternary, and the sentence a person reads."""

from __future__ import annotations

from backend.bench.ratios import Ratios, compute, headline, times
from backend.bench.stats import summarize


def figs(decode: float, rss: float, jpt: float | None, ttft: float = 100.0, prefill: float = 50.0):
    return {"decode_tps": summarize([decode]), "peak_rss": summarize([rss]), "j_per_token": summarize([jpt]),
            "ttft_ms": summarize([ttft]), "prefill_tps": summarize([prefill])}


def test_ratios_favour_ternary_above_one() -> None:
    r = compute(figs(48.0, 300.0, 0.1, ttft=50.0), figs(15.0, 1320.0, 0.39, ttft=100.0), tq_file=200, f16_file=1400)
    assert r.decode == 3.2 and r.ram == 4.4 and abs(r.energy - 3.9) < 1e-9
    assert r.ttft == 2.0 and r.prefill == 1.0 and r.file == 7.0


def test_headline_reads_like_the_issue() -> None:
    r = Ratios(decode=3.2, ram=4.4, energy=3.9)
    assert headline(r, same_weights=True) == [
        "3.2× faster decode", "4.4× less RAM", "3.9× less energy per token", "same weights"]


def test_headline_says_slower_more_and_unknown() -> None:
    parts = headline(Ratios(decode=0.5, ram=0.8, energy=None), same_weights=False)
    assert parts == ["2.0× slower decode", "1.25× more RAM", "energy per token: —", "weights not verified identical"]


def test_equal_figures_read_as_about_the_same() -> None:
    assert headline(Ratios(decode=1.01, ram=2.93), True)[:2] == ["about the same decode (1.01×)", "2.9× less RAM"]


def test_missing_energy_gives_no_ratio() -> None:
    assert compute(figs(2.0, 1.0, None), figs(1.0, 1.0, 0.5)).energy is None


def test_times_formats_by_size() -> None:
    assert (times(1.234), times(3.55), times(12.4)) == ("1.23×", "3.5×", "12×")
