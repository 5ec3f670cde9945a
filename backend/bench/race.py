"""Race mode: both sides generate at the same time, for watching — not a fair measurement.

The two engines share the CPU cores and the memory bandwidth, so each slows the other down by
an amount that depends on the machine; the figures are kept (and labelled) but never quoted as
a comparison. Energy per token is not measured: one power reading cannot be split between two
engines running at once. Race mode needs both engines in RAM together.
"""

from __future__ import annotations

import threading

from backend.bench.energy import EnergyFigure
from backend.bench.pairing import PairError
from backend.bench.results import CANCELLED, FAILED, OK, RACE, RACE_NOTE, RunResult, Sample
from backend.bench.runner import SIDES, Runner
from backend.bench.schedule import MEASURED, Step
from backend.bench.summary import summarize_run
from backend.engine import EngineCrashed
from backend.errors import TernError

RACE_ENERGY_REASON = "race mode: one power reading cannot be split between two engines running at once"


class RaceRunner(Runner):
    def run(self) -> RunResult:
        if not self.engines.plan.together:
            raise PairError("Race mode needs both engines in RAM at once, and they do not fit together.",
                            "Use the fair mode: it runs the two sides one after the other.", code="race_ram")
        self.config.kind = RACE
        self.config.stream = True
        run = RunResult(RACE, self.config, label=self.label or self._default_label())
        run.fingerprint = self._fingerprint({})
        if self.history:
            self.history.start(run)
        self._emit("started", None, run)
        prompt = self.config.prompts[0]
        samples: dict[str, Sample] = {}
        try:
            for side in SIDES:  # load and warm up both, one at a time
                self._ready(side, Step(MEASURED, side, 0, 0))
            if not self.cancelled:
                threads = [threading.Thread(target=self._race_one, args=(side, prompt, samples), daemon=True,
                                            name=f"race-{side}") for side in SIDES]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                for side in SIDES:  # a crashed engine is restarted next time
                    if side in self.engines.engines and not self.engines.engines[side].alive:
                        self.engines.close_side(side)
        except TernError as e:
            self._emit("phase", None, f"race stopped: {e}")
        finally:
            if self._own_engines:
                self.engines.close()
        run.samples = [samples[s] for s in SIDES if s in samples]
        if self.history and run.id is not None:
            for s in run.samples:
                self.history.add_sample(run.id, s)
        run.fingerprint = self._fingerprint({})
        run.status = self._status(run)
        run.summary = summarize_run(run)
        run.summary["notes"] = [RACE_NOTE, *self._notes()[1:]]
        run.summary["roofline"] = self._roofline(run)
        run.summary["fair"] = False
        run.summary["headline"] = ["race — not a fair measurement", *run.summary["headline"]]
        if self.history and run.id is not None:
            self.history.finish(run)
        self._emit("finished", None, run)
        return run

    def _race_one(self, side: str, prompt: str, out: dict[str, Sample]) -> None:
        engine = self.engines.engines[side]
        energy = EnergyFigure(reason=RACE_ENERGY_REASON)
        try:
            stats, text = self._generate(engine, side, prompt, self.config.params(), stream=True)
        except EngineCrashed as e:
            out[side] = Sample(side, 0, 0, FAILED, error=str(e), energy=energy)
            return
        except TernError as e:
            out[side] = Sample(side, 0, 0, FAILED, error=str(e), energy=energy)
            return
        status = CANCELLED if stats.stop_reason == "cancelled" else OK
        out[side] = Sample(side, 0, 0, status, stats, energy, text=text)
        self._emit("sample", side, out[side])
