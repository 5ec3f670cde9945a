"""Fair comparisons and benchmarks: the two sides one after the other, under identical conditions.

Both sides get the same prompt, seed, sampling, threads and context; each engine is warmed up
before its first measured reply (and again after a reload); an idle-power baseline is taken
before every measured reply; every reply starts from a fresh KV cache. Measured replies follow
`schedule.plan`: interleaved A B A B when both engines fit in RAM, in blocks when they swap.

Cancel keeps what was measured (the run is marked incomplete). An engine that crashes fails
only the reply it was generating; it is restarted (and warmed up) for the next one.

Every run's summary carries its memory roofline (backend/bench/roofline.py): each side's weight bytes
per token, the GB/s its median decode speed streams them at, that as a share of this machine's
bandwidth (backend/bench/bandwidth.py: the stored figure — a caller that wants it measured first
passes `bandwidth`), and the ideal ratios. The F16 side's GB/s raises the stored bandwidth when higher.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psutil

from backend import units
from backend.bench import bandwidth
from backend.bench.bandwidth import Bandwidth
from backend.bench.energy import EnergyFigure, EnergyMeter, NoEnergy
from backend.bench.engines import EnginePair, memory_plan
from backend.bench.fingerprint import fingerprint, model_hashes
from backend.bench.history import BenchHistory
from backend.bench.noise import LoadMeter
from backend.bench.pairing import F16, TERNARY, Pair
from backend.bench.results import (
    CANCELLED,
    COMPLETE,
    FAILED,
    INCOMPLETE,
    OK,
    RUN_FAILED,
    BenchConfig,
    RunResult,
    Sample,
)
from backend.bench.roofline import run_roofline, weight_traffic
from backend.bench.schedule import WARMUP, Step, plan
from backend.bench.summary import figures, summarize_run
from backend.chat.runner import Delta, Turn, TurnSpec
from backend.engine import EngineClient, EngineCrashed, Token, TurnStats
from backend.engine.hardware import physical_cores
from backend.errors import TernError

log = logging.getLogger("tern.bench")
SIDES = (TERNARY, F16)
LIVE_INTERVAL_S = 0.25
MAX_LOAD_FAILURES = 2


class NotRun(Exception):
    """A reply cancelled before the engine started it: no sample."""


@dataclass
class RunEvent:
    """What the runner tells its listener: phase, loaded, swap, warmup, token, live, sample, finished."""

    kind: str
    side: str | None = None
    data: Any = None


Listener = Callable[[RunEvent], None]


class Runner:
    def __init__(self, pair: Pair, config: BenchConfig, *, engines: EnginePair | None = None,
                 history: BenchHistory | None = None, meter: EnergyMeter | None = None,
                 listener: Listener | None = None, tern_version: str | None = None,
                 available_ram: int | None = None, label: str = "", bandwidth: Bandwidth | None = None) -> None:
        self.pair = pair
        self.bandwidth = bandwidth
        self.config = config
        self.history = history
        self.meter: EnergyMeter = meter or NoEnergy()
        self.listener = listener or (lambda ev: None)
        self.tern_version = tern_version
        self.label = label
        self.cancel_event = threading.Event()
        self.executed: list[Step] = []  # every step actually run, warm-ups included, in order
        self._own_engines = engines is None
        if engines is None:
            threads = config.threads or physical_cores()
            limit = min(s.header.context_length or 1 << 20 for s in pair.sides.values())
            n_ctx = min(config.n_ctx, limit) if config.n_ctx else config.auto_ctx(limit)
            engines = EnginePair(pair, n_ctx, threads, memory_plan(pair, n_ctx, available_ram),
                                 on_swap=lambda text: self._emit("swap", None, text))
        self.engines = engines
        self._load_failures = {side: 0 for side in SIDES}
        self.load = LoadMeter()  # how busy other programs kept the machine during the measured replies
        self._turns: dict[str, Turn] = {}  # the reply each side is writing (race mode: both at once)

    # -- control ------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop soon (thread-safe): the reply in progress ends within a token; results are kept."""
        self.cancel_event.set()
        for turn in list(self._turns.values()):
            turn.cancel()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def _emit(self, kind: str, side: str | None = None, data: Any = None) -> None:
        self.listener(RunEvent(kind, side, data))

    # -- the run ------------------------------------------------------------------------------
    def run(self) -> RunResult:
        cfg = self.config
        run = RunResult(cfg.kind, cfg, label=self.label or self._default_label())
        self._emit("phase", None, "checking the model files (sha256)")
        hashes = model_hashes(self.pair)
        run.fingerprint = self._fingerprint(hashes)
        if self.history:
            self.history.start(run)
        self._emit("started", None, run)
        steps = plan(SIDES, cfg.runs, len(cfg.prompts), interleaved=self.engines.plan.together)
        try:
            for step in steps:
                if self.cancelled:
                    break
                sample = self._step(step)
                if sample is None:
                    continue
                run.samples.append(sample)
                if self.history and run.id is not None:
                    self.history.add_sample(run.id, sample)
                self._emit("sample", step.side, sample)
        finally:
            if self._own_engines:
                self.engines.close()
        run.fingerprint = self._fingerprint(hashes)
        run.status = self._status(run)
        run.summary = summarize_run(run)
        run.summary["notes"] = self._notes()
        run.summary["roofline"] = self._roofline(run)
        load = self.load.load()
        run.summary["load"] = load.to_dict() if load else None
        if self.history and run.id is not None:
            self.history.finish(run)
        self._emit("finished", None, run)
        return run

    def _roofline(self, run: RunResult) -> dict[str, Any]:
        decode = {side: figures(run.summary, side).get("decode_tps") for side in SIDES}
        tps = {side: (s.median if s is not None else None) for side, s in decode.items()}
        headers = {side: spec.header for side, spec in self.pair.sides.items()}
        machine = self.bandwidth
        try:
            f16 = weight_traffic(self.pair.f16.header)
            gbs = f16.gb_per_s(tps[F16])
            if gbs and f16.linear_type == "F16" and run.kind != "race":
                how = (f"F16 decode of {self.pair.f16.model_name} in {run.kind} run #{run.id}: "
                       f"{units.tps(tps[F16])} × {units.size(f16.total)} of weights per token")
                machine = bandwidth.note_decode(gbs, how, f16.total) or machine
        except (ValueError, OSError) as e:  # an unknown encoding, or a cache that cannot be written
            log.info("no F16 decode bandwidth from this run: %s", e)
        machine = machine if machine is not None and machine.gb_per_s else bandwidth.cached()
        return run_roofline(headers, tps, machine, TERNARY, F16)

    def _default_label(self) -> str:
        t = self.pair.ternary
        return f"{t.model_name}: {t.encoding} vs {self.pair.f16.encoding}"

    def _fingerprint(self, hashes: dict[str, str | None]) -> dict[str, Any]:
        return fingerprint(self.pair, self.engines.n_threads, self.meter.label(), self.tern_version,
                           dict(self.engines.infos), hashes)

    def _status(self, run: RunResult) -> str:
        if self.cancelled:
            return INCOMPLETE
        if run.samples and not any(s.status == OK for s in run.samples):
            return RUN_FAILED
        return COMPLETE

    def _notes(self) -> list[str]:
        e = self.engines
        if self.config.runs * len(self.config.prompts) == 1:
            order = "ternary then F16, one after the other, each warmed up first"
        elif e.plan.together:
            order = "interleaved A B A B after a warm-up of each side"
        else:
            order = "one side after the other (blocks), each warmed up after loading"
        notes = [f"order: {order}", f"memory: {e.plan.note}",
                 f"context {e.n_ctx} tokens and {e.n_threads} threads on both sides; fresh KV cache per reply"]
        if e.swaps:
            notes.append(f"the engines were swapped {e.swaps} time(s) to fit in RAM")
        return notes

    # -- one step -----------------------------------------------------------------------------
    def _step(self, step: Step) -> Sample | None:
        side = step.side
        if self._load_failures[side] >= MAX_LOAD_FAILURES:
            if step.kind == WARMUP:
                return None
            return Sample(side, step.iteration, step.prompt_index, FAILED,
                          error="not run: this side's engine could not be loaded")
        try:
            engine = self._ready(side, step)
        except NotRun:
            return None
        except TernError as e:  # the model would not load (or the engine would not start)
            self._load_failures[side] += 1
            self.engines.close_side(side)
            log.warning("loading %s failed: %s", side, e)
            if step.kind == WARMUP:
                self._emit("phase", side, f"{self.pair.sides[side].encoding} could not be loaded: {e}")
                return None
            return Sample(side, step.iteration, step.prompt_index, FAILED, error=str(e))
        self._load_failures[side] = 0
        if step.kind == WARMUP or self.cancelled:
            return None
        prompt = self.config.prompts[step.prompt_index]
        if self.config.idle_baseline and self.meter.label().available:
            self._emit("phase", side, "measuring idle power")
            self.meter.idle_baseline(engine.pid or 0)
        self.executed.append(step)
        self.meter.begin(engine.pid or 0)
        self.load.begin()
        try:
            stats, text = self._generate(engine, side, prompt, self.config.params(), self.config.stream)
        except NotRun:
            return None
        except EngineCrashed as e:
            self.engines.close_side(side)  # the next step starts (and warms up) a new engine
            return Sample(side, step.iteration, step.prompt_index, FAILED, error=str(e),
                          energy=EnergyFigure(reason="the engine crashed during this reply"))
        except TernError as e:
            return Sample(side, step.iteration, step.prompt_index, FAILED, error=str(e),
                          energy=EnergyFigure(reason="the reply failed"))
        self.load.end(stats)
        energy = self.meter.end(stats)
        status = CANCELLED if stats.stop_reason == "cancelled" else OK
        return Sample(side, step.iteration, step.prompt_index, status, stats, energy, text=text)

    def _ready(self, side: str, step: Step) -> EngineClient:
        """A loaded, warmed-up engine for `side` (loading, swapping and warming up as needed)."""
        encoding = self.pair.sides[side].encoding
        if not self.engines.loaded(side):
            self._emit("phase", side, f"loading {encoding}")
            engine = self.engines.ensure(side)
            self._emit("loaded", side, self.engines.infos[side])
        else:
            engine = self.engines.engines[side]
        if side not in self.engines.warm and not self.cancelled:
            self._emit("phase", side, f"warming up {encoding}")
            self.executed.append(Step(WARMUP, side, -1, step.prompt_index))
            self._generate(engine, side, self.config.prompts[step.prompt_index],
                           self.config.params(self.config.warmup_tokens), stream=False)
            self.engines.warm.add(side)
            self._emit("warmup", side, None)
        return engine

    def _generate(self, engine: EngineClient, side: str, prompt: str, params: dict[str, Any],
                  stream: bool) -> tuple[TurnStats, str]:
        """One reply on the turn runner (the prompt sent as it is: no context policy in a measurement).

        Token events go out once per batch the engine sends. A crashed or hung engine raises, as the
        steps expect (a hung one has already been ended).
        """
        turn = Turn(TurnSpec([{"role": "user", "content": prompt}], params))
        self._turns[side] = turn
        if self.cancelled:
            turn.cancel()
        t_sent = time.time_ns()
        first_ns = 0
        last_live = 0.0
        proc = psutil.Process(engine.pid) if stream and engine.pid else None
        if stream:
            self._emit("reply_start", side, None)
        try:
            for ev in turn.events(engine):
                if not isinstance(ev, Delta) or not stream:
                    continue
                self._emit("token", side, ev.text)
                if not ev.tokens:
                    continue
                first_ns = first_ns or ev.tokens[0].t_ns
                now = time.monotonic()
                if now - last_live >= LIVE_INTERVAL_S:
                    last_live = now
                    self._emit("live", side, {**_live(ev.tokens[-1], t_sent, first_ns, proc),
                                              "watts": self.meter.live_watts()})
        finally:
            self._turns.pop(side, None)
        result = turn.result
        assert result is not None
        if result.error is not None:
            raise result.error
        if "total_ms" not in result.stats:
            raise NotRun("cancelled before the engine started this reply")
        return TurnStats.from_dict(result.stats), result.text


def _live(tok: Token, t_sent: int, first_ns: int, proc: psutil.Process | None) -> dict[str, Any]:
    """Figures while a reply streams (the exact ones come with the reply's end)."""
    rss = None
    if proc is not None:
        try:
            rss = proc.memory_info().rss
        except psutil.Error:
            rss = None
    secs = (tok.t_ns - first_ns) / 1e9
    return {
        "tokens": tok.index + 1,
        "ttft_ms": (first_ns - t_sent) / 1e6,
        "decode_tps": tok.index / secs if tok.index and secs > 0 else None,
        "rss": rss,
    }
