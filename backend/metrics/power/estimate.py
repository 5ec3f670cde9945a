"""The fallback everywhere: an estimate from the engine's CPU time × watts per busy core.

Not a measurement, and labelled so: it assumes each fully busy core draws the CPU's TDP divided
by its core count (or the watts per core the user entered), ignores idle power, memory, the
screen and everything else, and follows only the engine process it is given. It is a counter of
estimated joules that grows with the engine's CPU seconds.
"""

from __future__ import annotations

from collections.abc import Callable

from backend.metrics.power.base import PowerSource, SourceInfo, SourceUnavailable
from backend.metrics.power.tdp import lookup

EngineCpu = Callable[[], tuple[int | None, float | None]]  # (pid, CPU seconds) of the watched engine


class CpuTimeEstimate(PowerSource):
    def __init__(self, engine_cpu: EngineCpu, cpu_name: str, user_watts_per_core: float = 0.0) -> None:
        self.engine_cpu = engine_cpu
        if user_watts_per_core > 0:
            self.watts_per_core = user_watts_per_core
            basis = f"{user_watts_per_core:g} W per core (your setting)"
            badge = f"Estimated · CPU time × {user_watts_per_core:g} W/core (your figure) — not a measurement"
        else:
            entry = lookup(cpu_name)
            if entry is None:
                raise SourceUnavailable(
                    f"no power meter can be read here, and this CPU ({cpu_name or 'unknown'}) is "
                    "not in Tern's TDP "
                    "table, so not even an estimate is possible",
                    hint="Enter your CPU's watts per core (its TDP divided by its core count) in the power "
                    "figure's explanation to get an estimate, clearly labelled as such.",
                )
            self.watts_per_core = entry.watts_per_core
            basis = (
                f"{entry.model}: {entry.tdp_w:g} W TDP ÷ {entry.cores} cores = "
                f"{entry.watts_per_core:.2f} W per core"
            )
            badge = f"Estimated · CPU time × {entry.tdp_w:g} W TDP — not a measurement"
        self.total_j = 0.0
        self._pid: int | None = None
        self._cpu: float | None = None
        self.info = SourceInfo(
            key="estimate",
            kind="counter",
            measured=False,
            covers="engine CPU time",
            method="TDP estimate",
            resolution_s=0.1,
            per_process=True,
            badge_text=badge,
            explanation=(
                "No power meter could be read, so this is arithmetic, not a measurement: the "
                "engine's CPU seconds × "
                f"{basis}. It assumes a busy core draws its share of the TDP, and leaves out idle "
                "power, RAM, the "
                "screen and the rest of the computer. Use it to compare runs on this machine, not "
                "as watts you "
                "could check with a meter."
            ),
        )

    def read(self) -> float:
        pid, cpu = self.engine_cpu()
        if pid is None or cpu is None:
            self._pid = self._cpu = None
            raise SourceUnavailable("no engine is running: the estimate follows the engine's CPU time only")
        if pid == self._pid and self._cpu is not None and cpu >= self._cpu:
            self.total_j += (cpu - self._cpu) * self.watts_per_core
        self._pid, self._cpu = pid, cpu
        return self.total_j
