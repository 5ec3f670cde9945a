"""A model's lane on a real engine, running the turn runner: turns in arrival order, cancel while waiting or
running, stop sequences, the bounded line, context full as OpenAI's error, energy with its label."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from backend.chat.model_engine import ModelEngine
from backend.chat.runner import TurnSpec
from backend.metrics import Sampler
from backend.server.energy import OVERLAP_REASON, ServerEnergy
from backend.server.errors import ApiError
from backend.server.lane import Failed, Finished, Job, Lane, Text
from tests.conftest import LONG_CTX
from tests.support import gguf_files

STORY = [{"role": "user", "content": "Tell me a story"}]


def turn(n: int, stops: tuple[str, ...] = (), **params: Any) -> TurnSpec:
    return TurnSpec(STORY, {"max_tokens": n, "temperature": 0, "ignore_eos": True, **params}, stops=stops)


async def collect(job: Job) -> tuple[str, Any]:
    text = ""
    while True:
        ev = await asyncio.wait_for(job.events.get(), 120)
        if isinstance(ev, Text):
            text += ev.text
        else:
            return text, ev


@pytest.fixture()
def lane(tiny: Path):
    lanes: list[Lane] = []

    def make(path: Path = tiny, max_queue: int = 8, energy: Any = None, n_ctx: int = 2048) -> Lane:
        lanes.append(Lane("tiny:TQ2_0", ModelEngine(path, n_ctx, 1, label="tiny:TQ2_0"), max_queue, energy))
        return lanes[-1]

    yield make
    for made in lanes:
        made.close()


def test_turns_run_one_at_a_time_in_arrival_order(lane) -> None:
    async def main() -> list[Any]:
        loop, lanes = asyncio.get_running_loop(), lane()
        jobs = [Job(turn(n), loop=loop) for n in (40, 5, 5)]
        for job in jobs:
            lanes.submit(job)
        return [await collect(job) for job in jobs]

    results = asyncio.run(main())
    ends = [fin.stats for _, fin in results]
    assert [s.output_tokens for s in ends] == [40, 5, 5]
    assert ends[0].t_end_ns <= ends[1].t_start_ns and ends[1].t_end_ns <= ends[2].t_start_ns
    assert results[0][1].load_ms is not None and results[1][1].load_ms is None  # the first request loaded it


def test_a_job_cancelled_while_waiting_never_runs(lane) -> None:
    async def main() -> tuple[Any, Any]:
        loop, lanes = asyncio.get_running_loop(), lane()
        first, second = Job(turn(300), loop=loop), Job(turn(5), loop=loop)
        lanes.submit(first)
        lanes.submit(second)
        second.cancel("the client disconnected")
        return await collect(first), await collect(second)

    (_, first), (text, second) = asyncio.run(main())
    assert first.stats.output_tokens == 300
    assert text == "" and second.stats is None and second.finish_reason == "cancelled"


def test_leaving_the_line_is_answered_at_once_while_the_turn_ahead_still_runs(lane, long_tiny: Path) -> None:
    async def main() -> tuple[Any, Any, bool, Any]:
        loop, lanes = asyncio.get_running_loop(), lane(long_tiny, n_ctx=LONG_CTX)
        first, second, third = (Job(turn(n), loop=loop) for n in (60000, 5, 5))
        for job in (first, second, third):
            lanes.submit(job)
        assert (await asyncio.wait_for(first.events.get(), 60)).text  # the first one streams
        assert lanes.queued == 2 and lanes.running == 1
        second.cancel("the client disconnected")
        left = await collect(second)
        still_running = not first.done
        first.cancel("test")
        _, ended = await collect(first)
        return left, ended, still_running, await collect(third)

    (text, left), ended, still_running, (_, third) = asyncio.run(main())
    assert still_running and text == "" and left.stats is None and left.finish_reason == "cancelled"
    assert ended.finish_reason == "cancelled" and 0 < ended.stats.output_tokens < 60000  # stopped by its request id
    assert third.finish_reason == "length" and third.completion_tokens == 5  # the line moved on past the one that left


def test_stopping_the_lane_ends_the_waiting_with_503_and_cancels_the_running(lane, long_tiny: Path) -> None:
    async def main() -> tuple[Any, Any]:
        loop, lanes = asyncio.get_running_loop(), lane(long_tiny, n_ctx=LONG_CTX)
        running, waiting = Job(turn(60000), loop=loop), Job(turn(5), loop=loop)
        lanes.submit(running)
        lanes.submit(waiting)
        await asyncio.wait_for(running.events.get(), 60)
        lanes.stop()
        with pytest.raises(ApiError) as refused:
            lanes.submit(Job(turn(5), loop=loop))
        assert refused.value.code == "server_stopping"
        return (await collect(running))[1], (await collect(waiting))[1]

    running, waiting = asyncio.run(main())
    assert running.finish_reason == "cancelled" and running.stats.output_tokens < 60000
    assert isinstance(waiting, Failed) and waiting.error.status == 503 and waiting.error.code == "server_stopping"


def test_a_prompt_longer_than_the_context_is_openais_400_unless_a_policy_is_asked_for(lane) -> None:
    chat = [m for i in range(12) for m in ({"role": "user", "content": f"Question {i}: " + "tell me more " * 8},
                                           {"role": "assistant", "content": "Here is more. " * 8})]
    chat.append({"role": "user", "content": "And the last question?"})

    async def main() -> tuple[Any, Any]:
        loop, lanes = asyncio.get_running_loop(), lane(n_ctx=256)
        plain = Job(TurnSpec(chat, {"max_tokens": 8, "temperature": 0}), loop=loop)
        lanes.submit(plain)
        fitted = Job(TurnSpec(chat, {"max_tokens": 8, "temperature": 0, "ignore_eos": True},
                              policy="truncate_middle"), loop=loop)
        lanes.submit(fitted)
        return (await collect(plain))[1], await collect(fitted)

    plain, (text, fitted) = asyncio.run(main())
    assert isinstance(plain, Failed) and plain.error.status == 400
    assert plain.error.code == "context_length_exceeded" and "256" in plain.error.message
    assert isinstance(fitted, Finished) and fitted.finish_reason == "length" and text
    assert fitted.context["policy"] == "truncate_middle" and fitted.context["dropped"] >= 2
    assert fitted.context["prompt_tokens"] == fitted.stats.prompt_tokens < 256


def test_a_stop_sequence_stops_the_engine(lane) -> None:
    async def main() -> tuple[str, str, Any]:
        loop, lanes = asyncio.get_running_loop(), lane()
        whole = Job(turn(60), loop=loop)
        lanes.submit(whole)
        full, _ = await collect(whole)
        stop = full[20:23]
        cut = Job(turn(2000, stops=(stop,)), loop=loop)
        lanes.submit(cut)
        text, fin = await collect(cut)
        return full[: full.index(stop)], text, fin

    expected, text, fin = asyncio.run(main())
    assert text == expected and fin.finish_reason == "stop"
    assert fin.stats.stop_reason == "stop" and fin.stats.output_tokens < 2000  # not generated to the end
    assert fin.completion_tokens <= fin.stats.output_tokens


def test_a_broken_model_file_fails_the_request_not_the_lane(lane, tiny: Path, tmp_path: Path) -> None:
    broken = gguf_files.truncated_in_data(tiny, tmp_path / "cut.gguf")

    async def main() -> Any:
        job = Job(turn(5), loop=asyncio.get_running_loop())
        lane(broken).submit(job)
        return await collect(job)

    _, ev = asyncio.run(main())
    assert isinstance(ev, Failed) and ev.error.status == 500 and "truncated" in ev.error.message


def test_queue_beyond_its_bound_is_refused(lane) -> None:
    async def main() -> Any:
        loop, lanes = asyncio.get_running_loop(), lane(max_queue=1)
        running, waiting = Job(turn(400), loop=loop), Job(turn(5), loop=loop)
        lanes.submit(running)
        lanes.submit(waiting)
        with pytest.raises(Exception) as e:
            lanes.submit(Job(turn(5), loop=loop))
        running.cancel("test")
        await collect(running)
        await collect(waiting)
        return e.value

    err = asyncio.run(main())
    assert err.status == 503 and err.code in ("model_busy", "model_loading") and err.headers["Retry-After"]


def test_energy_per_token_carries_the_power_label(lane, long_tiny: Path) -> None:
    energy = ServerEnergy(Sampler(hz=20, watts_per_core=5.0).start())  # the CPU-time estimate, labelled so
    try:
        async def main() -> Any:
            job = Job(turn(3000), loop=asyncio.get_running_loop())
            lane(long_tiny, energy=energy).submit(job)
            return await collect(job)

        _, fin = asyncio.run(main())
        assert isinstance(fin, Finished)
        figure = energy.figure(fin.window, fin.stats)
        label = energy.label()
        assert label.method == "estimated" and "not a measurement" in label.describe()
        assert figure.label["method"] == "estimated"
        assert figure.j_per_token is not None and figure.j_per_token > 0, figure.reason
    finally:
        energy.close()


def test_turns_that_overlap_get_no_energy_figure_and_say_why() -> None:
    energy = ServerEnergy(Sampler(hz=20, watts_per_core=5.0).start())
    try:
        a = energy.begin(None)
        b = energy.begin(None)
        energy.end(a)
        energy.end(b)
        c = energy.begin(None)
        energy.end(c)
        stats = {"t_start_ns": 1, "t_first_ns": 2, "t_end_ns": 3, "output_tokens": 3, "prompt_tokens": 1}
        assert energy.figure(a, stats).reason == OVERLAP_REASON == energy.figure(b, stats).reason
        assert energy.figure(c, stats).reason != OVERLAP_REASON
    finally:
        energy.close()
    off = ServerEnergy(None).figure(1, stats)
    assert off.j_per_token is None and off.reason == "power figures are turned off"
