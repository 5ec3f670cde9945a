"""The line for one model's engine: places taken on arrival are served in that order, and a place given up
while it waits is passed over without starting anything (the local API's clients that leave early)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from backend.chat.model_engine import FifoLock, ModelEngine, QueueLeft
from backend.chat.runner import Turn, TurnSpec

HI = TurnSpec([{"role": "user", "content": "hi"}], {"temperature": 0.0, "ignore_eos": True, "max_tokens": 2})


def wait_for(cond, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_places_are_served_in_the_order_they_were_taken_not_the_order_threads_come() -> None:
    lock = FifoLock()
    places = [lock.take() for _ in range(4)]
    order: list[int] = []

    def run(i: int) -> None:
        with lock.hold(places[i]):
            order.append(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in reversed(range(4))]  # the last place asks first
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert order == [0, 1, 2, 3] and lock.waiting == 0


def test_a_place_given_up_is_passed_over_and_its_holder_told() -> None:
    lock = FifoLock()
    first, second, third = lock.take(), lock.take(), lock.take()
    outcome: dict[int, str] = {}

    def run(place: int) -> None:
        try:
            with lock.hold(place):
                outcome[place] = "ran"
        except QueueLeft:
            outcome[place] = "left"

    with lock.hold(first):
        waiting = [threading.Thread(target=run, args=(p,)) for p in (second, third)]
        for t in waiting:
            t.start()
        wait_for(lambda: lock.waiting == 2)
        assert lock.leave(second)  # while it waits behind the one running
        waiting[0].join(5)
        assert outcome == {second: "left"} and lock.waiting == 1  # told at once, not when its turn would come
        assert not lock.leave(first)  # the running one cannot leave the line: it is cancelled as a turn
    waiting[1].join(5)
    assert outcome == {second: "left", third: "ran"}
    # a place given up before its thread even asked: the line does not wait for it
    fourth, fifth = lock.take(), lock.take()
    assert lock.leave(fourth)
    with pytest.raises(QueueLeft):
        with lock.hold(fourth):
            pass
    run(fifth)
    assert outcome[fifth] == "ran" and not lock.leave(fifth)


def test_a_request_that_leaves_the_line_never_starts_an_engine(tiny: Path) -> None:
    model = ModelEngine(tiny, n_ctx=256, n_threads=1)
    try:
        gone = model.reserve()
        assert model.leave(gone)
        with pytest.raises(QueueLeft):
            with model.slot(gone):
                pass
        assert model.starts == 0 and model.client is None and not model.loading
        with model.slot(model.reserve()) as engine:  # the next one has its turn at once
            assert Turn(HI).run(engine).stats["output_tokens"] == 2
        assert model.starts == 1
    finally:
        model.close()
