"""Choosing the power source: the platform's candidates in order, each probed before it is trusted.

Probing reads a source twice, a moment apart, and requires finite values that a counter does not
decrease (an instantaneous source must not be negative). The first source that passes is used;
the others stay in order as fallbacks for when it is demoted (it froze while the CPU was busy).
Every rejected candidate keeps its reason and its fix — the explanation shows them, e.g. "RAPL
exists but is root-only; an admin can enable it like this".
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from backend.metrics.power.base import PowerSource, SourceUnavailable
from backend.metrics.power.estimate import CpuTimeEstimate, EngineCpu
from backend.metrics.power.sysfs import Reader, read_text

log = logging.getLogger("tern.metrics.power")


@dataclass
class ProbeContext:
    """What some candidates need: the watched engine's CPU time, the CPU name, the user's figure."""

    engine_cpu: EngineCpu = lambda: (None, None)  # noqa: E731
    cpu_name: str = ""
    watts_per_core: float = 0.0  # Settings.cpu_watts_per_core; 0 = from the TDP table
    sysfs: Path = Path("/sys/class")  # Linux readers look under here (tests point it at a fake tree)
    reader: Reader = read_text  # how Linux readers read a sysfs file (tests inject errors)


Candidate = Callable[[ProbeContext], PowerSource]


@dataclass(frozen=True)
class Rejected:
    name: str
    reason: str
    hint: str = ""


@dataclass
class PowerChoice:
    source: PowerSource | None
    rejected: list[Rejected] = field(default_factory=list)
    remaining: list[tuple[str, Candidate]] = field(default_factory=list)  # fallbacks, in order

    @property
    def reason(self) -> str:
        """Why there is no source (or why better ones were passed over)."""
        return "; ".join(f"{r.name}: {r.reason}" for r in self.rejected)


def check(source: PowerSource, pause_s: float = 0.05, sleep: Callable[[float], None] = time.sleep) -> None:
    """Read twice; raise SourceUnavailable unless both are finite and plausible."""
    if source.info.per_process:
        return  # follows the engine, which may not be running yet: arithmetic, nothing to probe
    a = source.read()
    sleep(pause_s)
    b = source.read()
    for v in (a, b):
        if not isinstance(v, float | int) or not math.isfinite(v):
            raise SourceUnavailable(f"gave a value that is not a number ({v!r})")
    if source.info.kind == "counter" and b < a:
        raise SourceUnavailable(f"its counter went backwards ({a:.6f} J then {b:.6f} J)")
    if source.info.kind == "instant" and (a < 0 or b < 0):
        raise SourceUnavailable(f"reported negative power ({a} W, {b} W)")


def probe(
    candidates: Sequence[tuple[str, Candidate]],
    ctx: ProbeContext,
    pause_s: float = 0.05,
    sleep: Callable[[float], None] = time.sleep,
) -> PowerChoice:
    rejected: list[Rejected] = []
    for i, (name, make) in enumerate(candidates):
        source = None
        try:
            source = make(ctx)
            check(source, pause_s, sleep)
        except SourceUnavailable as e:
            if source is not None:
                source.close()
            rejected.append(Rejected(name, e.reason, e.hint))
            continue
        except Exception as e:  # a reader bug must not take the readouts down: note it, try the next
            log.exception("power source %s failed while probing", name)
            if source is not None:
                source.close()
            rejected.append(Rejected(name, f"failed while probing ({type(e).__name__}: {e})"))
            continue
        log.info("power source: %s", source.info.badge)
        return PowerChoice(source, rejected, list(candidates[i + 1 :]))
    return PowerChoice(None, rejected, [])


def platform_candidates(platform: str = sys.platform) -> list[tuple[str, Candidate]]:
    """The candidates for this OS, best first, ending with the labelled estimate."""
    out: list[tuple[str, Candidate]] = []
    if platform.startswith("linux"):
        from backend.metrics.power.battery_linux import LinuxBatterySource
        from backend.metrics.power.hwmon import AmdgpuPptSource, HwmonEnergySource
        from backend.metrics.power.rapl import RaplSource

        out += [
            ("RAPL (powercap)", lambda c: RaplSource(c.sysfs / "powercap", c.reader)),
            ("hwmon energy counters", lambda c: HwmonEnergySource(c.sysfs / "hwmon", c.reader)),
            ("amdgpu PPT", lambda c: AmdgpuPptSource(c.sysfs / "hwmon", c.reader, cpu_name=c.cpu_name)),
            ("battery", lambda c: LinuxBatterySource(c.sysfs / "power_supply", c.reader)),
        ]
    elif platform == "darwin":
        from backend.metrics.power.ioreport import IOReportSource
        from backend.metrics.power.mac_battery import MacBatterySource
        from backend.metrics.power.smc import SmcPowerSource

        out += [
            ("IOReport Energy Model", lambda c: IOReportSource()),
            ("SMC system power", lambda c: SmcPowerSource()),
            ("battery", lambda c: MacBatterySource()),
        ]
    elif platform == "win32":
        from backend.metrics.power.emi import EmiSource
        from backend.metrics.power.win_battery import WindowsBatterySource

        out += [
            ("Energy Meter Interface", lambda c: EmiSource()),
            ("battery", lambda c: WindowsBatterySource()),
        ]
    out.append(("CPU-time estimate", lambda c: CpuTimeEstimate(c.engine_cpu, c.cpu_name, c.watts_per_core)))
    return out
