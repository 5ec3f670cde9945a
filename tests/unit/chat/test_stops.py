"""Stop sequences: the reply is cut where a stop string first appears, and no part of it is ever sent."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from backend.chat.stops import StopScanner


def run(pieces: list[str], stops: list[str]) -> tuple[str, bool]:
    s = StopScanner(stops)
    out = "".join(s.feed(p) for p in pieces)
    return out + s.flush(), s.hit


def test_a_stop_split_across_pieces_is_found_and_left_out() -> None:
    assert run(["Hello wo", "rl", "d! More"], ["world"]) == ("Hello ", True)


def test_the_earliest_of_several_stops_wins() -> None:
    assert run(["one two three"], ["three", "two"]) == ("one ", True)


def test_text_held_back_as_a_possible_stop_is_sent_when_it_is_not_one() -> None:
    s = StopScanner(["END"])
    assert s.feed("the EN") == "the "  # "EN" might begin "END"
    assert s.feed("TRY") == "ENTRY"
    assert run(["almost EN"], ["END"]) == ("almost EN", False)


def test_nothing_after_the_stop_is_sent() -> None:
    s = StopScanner(["\n\n"])
    assert s.feed("a\n") == "a"
    assert s.feed("\nb") == ""
    assert s.feed("c") == "" and s.flush() == ""


@given(st.lists(st.text(alphabet="abc\n", max_size=6), max_size=12), st.text(alphabet="abc\n", min_size=1, max_size=3))
def test_any_split_gives_the_text_up_to_the_first_stop(pieces: list[str], stop: str) -> None:
    full = "".join(pieces)
    expected = full[: full.find(stop)] if stop in full else full
    assert run(pieces, [stop]) == (expected, stop in full)
