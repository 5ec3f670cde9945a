"""One request's turn over HTTP: a JSON answer when it ends, or server-sent events as it streams.

The response waits for the turn's first event before it sends its status line, so a prompt too
long for the context or a model that fails to load is still a proper error status, not a broken
stream. While it waits and while it streams it listens for the client leaving (`http.disconnect`)
and then cancels the turn in the engine; the request log still gets the record (`cancelled`,
with the tokens generated until then) once the engine has stopped.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import anyio

from backend.bench.energy import EnergyFigure, PowerLabel
from backend.server.errors import ApiError
from backend.server.lane import Failed, Finished, Job, Text
from backend.server.params import TurnRequest
from backend.server.pool import ModelRef
from backend.server.requestlog import RequestLog, RequestRecord
from backend.server.shapes import DONE, Render, sse, tern_figures, usage

log = logging.getLogger("tern.server")
_SSE_HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache"),
                (b"x-accel-buffering", b"no")]
_draining: set[asyncio.Task[None]] = set()  # records of turns whose client left, still being finished


class TurnResponse:
    def __init__(self, job: Job, ref: ModelRef, req: TurnRequest, endpoint: str, energy: Any,
                 requests: RequestLog) -> None:
        self.job = job
        self.ref = ref
        self.req = req
        self.endpoint = endpoint
        self.energy = energy
        self.requests = requests
        self.render = Render(req.kind, ref.spec, req.include_usage)
        self.answered = False  # the last event was handled and recorded
        self._pending: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def watch_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            tg.cancel_scope.cancel()

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(watch_disconnect)
                if self.req.stream:
                    await self._stream(send)
                else:
                    await self._whole(send)
                tg.cancel_scope.cancel()
        finally:
            if not self.answered:  # the client left (or the server is stopping): stop the engine, record later
                self.job.cancel("the client disconnected")
                task = asyncio.get_running_loop().create_task(self._record_when_stopped())
                _draining.add(task)
                task.add_done_callback(_draining.discard)

    # -- the two shapes ---------------------------------------------------------------------
    async def _whole(self, send: Any) -> None:
        parts: list[str] = []
        ev = await self._next()
        while isinstance(ev, Text):
            parts.append(ev.text)
            ev = await self._next()
        if isinstance(ev, Failed) or ev.stats is None or ev.finish_reason == "cancelled":
            err = ev.error if isinstance(ev, Failed) else _stopped()
            await _send_json(send, err.status, err.body(), err.headers)
            self._record_error(err)
            return
        tern, counts, energy = await self._figures(ev)
        self._record(ev, energy, 200)  # before the answer: a client that has it finds it in the log
        await _send_json(send, 200, self.render.whole("".join(parts), ev.finish_reason, counts, tern))

    async def _stream(self, send: Any) -> None:
        ev = await self._next()
        if isinstance(ev, Failed):  # nothing sent yet: a proper error status
            await _send_json(send, ev.error.status, ev.error.body(), ev.error.headers)
            self._record_error(ev.error)
            return
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        for chunk in self.render.opening():
            await _body(send, sse(chunk))
        while isinstance(ev, Text):
            text = ev.text
            while not self.job.events.empty():  # everything that arrived meanwhile goes in one chunk
                ev = self.job.events.get_nowait()
                if not isinstance(ev, Text):
                    self._pending = ev
                    break
                text += ev.text
            await _body(send, sse(self.render.piece(text)))
            ev = await self._next()
        if isinstance(ev, Failed) or ev.stats is None or ev.finish_reason == "cancelled":
            err = ev.error if isinstance(ev, Failed) else _stopped()
            await _body(send, sse(err.body()) + DONE, more=False)
            self._record_error(err, status=200)
            return
        tern, counts, energy = await self._figures(ev)
        await _body(send, sse(self.render.closing(ev.finish_reason, tern)))
        if self.req.include_usage:
            await _body(send, sse(self.render.usage_chunk(counts)))
        self._record(ev, energy, 200)
        await _body(send, DONE, more=False)

    # -- helpers ----------------------------------------------------------------------------
    async def _next(self) -> Any:
        if self._pending is not None:
            ev, self._pending = self._pending, None
            return ev
        return await self.job.events.get()

    async def _figures(self, fin: Finished) -> tuple[dict[str, Any], dict[str, int], EnergyFigure]:
        energy = await anyio.to_thread.run_sync(self.energy.figure, fin.window, fin.stats)
        assert fin.stats is not None
        return tern_figures(self.ref, fin, energy), usage(fin.stats.prompt_tokens, fin.completion_tokens), energy

    def _record(self, fin: Finished, energy: EnergyFigure | None, status: int, outcome: str = "ok",
                message: str = "") -> None:
        self.answered = True
        s = fin.stats
        label = PowerLabel.from_dict(energy.label) if energy is not None else None
        self.requests.add(RequestRecord(
            self.endpoint, self.ref.spec, status, outcome, self.req.stream,
            prompt_tokens=s.prompt_tokens if s else None, completion_tokens=fin.completion_tokens if s else None,
            finish_reason=fin.finish_reason if outcome == "ok" else "", ttft_ms=s.ttft_ms if s else None,
            decode_tps=s.decode_tps if s else None, j_per_token=energy.j_per_token if energy else None,
            energy_label=label.describe() if label and label.available else "",
            energy_reason=energy.reason if energy else "", message=message))

    def _record_error(self, err: ApiError, status: int | None = None) -> None:
        self.answered = True
        self.requests.add(RequestRecord(self.endpoint, self.ref.spec, status or err.status, "error",
                                        self.req.stream, message=err.message))

    async def _record_when_stopped(self) -> None:
        """After the client left: wait for the engine to stop the turn, then record what it did."""
        ev = self._pending
        with anyio.move_on_after(60):
            while not isinstance(ev, Finished | Failed):
                ev = await self.job.events.get()
        reason = self.job.cancel_reason or "the client disconnected"
        if isinstance(ev, Finished):
            generated = ev.stats.output_tokens if ev.stats else 0
            self._record(Finished(ev.stats, "cancelled", generated, ev.queue_ms, ev.load_ms), None, 0,
                         "cancelled", f"{reason} after {generated} generated tokens")
        else:
            self.requests.add(RequestRecord(self.endpoint, self.ref.spec, 0, "cancelled", self.req.stream,
                                            message=reason))


def _stopped() -> ApiError:
    return ApiError(503, "The server is stopping; the reply was cut off.", code="server_stopping")


async def _body(send: Any, data: bytes, more: bool = True) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": more})


async def _send_json(send: Any, status: int, obj: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data, "more_body": False})
