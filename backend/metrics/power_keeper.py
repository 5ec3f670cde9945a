"""The sampler's power source over time: chosen by probing, read every tick, demoted when it freezes.

Kept apart from the sampler so each stays small: the sampler reads the engine process and keeps
the ring buffer; this object owns the `PowerSource`, the candidates passed over (with their
reasons and fixes), the fallbacks still to try, and the notices a person should see. The `epoch`
changes whenever the source does, so energy is never computed across two different sources.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence

from backend.metrics.power.base import PowerSource, SourceUnavailable
from backend.metrics.power.probe import Candidate, ProbeContext, Rejected, platform_candidates, probe
from backend.metrics.snapshot import PowerState, Sample

log = logging.getLogger("tern.metrics")
NO_POWER = "No power reading"
Power = PowerSource | Sequence[tuple[str, Candidate]] | str | None


class PowerKeeper:
    def __init__(
        self, power: Power, ctx: ProbeContext, freeze_s: float = 3.0, busy_cores: float = 0.5
    ) -> None:
        """`power`: "auto" probes this OS's sources, a list probes those, a source is used as is,
        None turns power off."""
        self.ctx = ctx
        self.freeze_s, self.busy_cores = freeze_s, busy_cores
        self.lock = threading.Lock()
        self.source: PowerSource | None = None
        self.remaining: list[tuple[str, Candidate]] = []
        self.rejected: list[Rejected] = []
        self.notices: list[str] = []
        self.epoch = 0
        self.probed = threading.Event()
        self._to_probe: Sequence[tuple[str, Candidate]] | None = None
        self._candidates: Sequence[tuple[str, Candidate]] | None = None  # what reprobe() probes again
        self._reprobe = False
        self._frozen_since: Sample | None = None
        if power == "auto":
            self._to_probe = self._candidates = platform_candidates()
        elif power is None:
            self.rejected = [Rejected("power", "power readings are turned off")]
            self.probed.set()
        elif isinstance(power, PowerSource):
            self.source = power
            self.probed.set()
        else:
            self._to_probe = self._candidates = list(power)  # type: ignore[arg-type]

    # -- choosing ---------------------------------------------------------------------------
    def probe_now(self) -> None:
        """Choose the source (the sampler thread does this first; tests without a thread call it)."""
        if self._to_probe is not None:
            choice = probe(self._to_probe, self.ctx)
            self._to_probe = None
            with self.lock:
                self.source, self.remaining, self.rejected = choice.source, choice.remaining, choice.rejected
        self.probed.set()

    def request_reprobe(self, watts_per_core: float | None = None) -> None:
        """Choose again on the sampler thread's next tick (e.g. the user entered watts per core)."""
        if watts_per_core is not None:
            self.ctx.watts_per_core = watts_per_core
        if self._candidates is not None:
            self._reprobe = True

    def reprobe_if_asked(self) -> None:
        if not self._reprobe:
            return
        self._reprobe = False
        old = self.source
        choice = probe(self._candidates or [], self.ctx)
        with self.lock:
            self.source, self.remaining, self.rejected = choice.source, choice.remaining, choice.rejected
            self.epoch += 1
            self._frozen_since = None
        if old is not None and old is not choice.source:
            old.close()

    def close(self) -> None:
        if self.source is not None:
            self.source.close()

    # -- every tick -------------------------------------------------------------------------
    def read(self) -> tuple[float | None, str]:
        """(value, "") or (None, why) — cheap: no explanation text is built here."""
        src = self.source
        if src is None:
            if not self.probed.is_set():
                return None, "still looking for a power source"
            return None, self.rejected[-1].reason if self.rejected else "no power source can be read here"
        try:
            value = float(src.read())
        except SourceUnavailable as e:
            return None, e.reason
        except Exception as e:
            log.exception("power source %s failed", src.info.key)
            return None, f"the power source failed: {type(e).__name__}: {e}"
        if not math.isfinite(value):
            return None, f"the power source gave {value}"
        return value, ""

    def check_freeze(self, s: Sample) -> None:
        """Demote a measured source whose value has not moved while the engine kept the CPU busy."""
        src = self.source
        if src is None or src.info.per_process or s.power is None or s.cpu_s is None:
            self._frozen_since = None
            return
        first = self._frozen_since
        if first is None or first.power != s.power or first.pid != s.pid or first.epoch != s.epoch:
            self._frozen_since = s
            return
        span = (s.t_ns - first.t_ns) / 1e9
        if span < max(self.freeze_s, 3 * src.info.resolution_s) or first.cpu_s is None:
            return
        cores = (s.cpu_s - first.cpu_s) / span
        if cores >= self.busy_cores:
            self._demote(
                f"{src.info.badge} stopped changing for {span:.1f} s while the engine kept "
                f"{cores:.1f} cores busy"
            )

    def _demote(self, why: str) -> None:
        old = self.source
        if old is not None:
            old.close()
        choice = probe(self.remaining, self.ctx)
        with self.lock:
            self.source, self.remaining = choice.source, choice.remaining
            self.rejected += choice.rejected
            self.epoch += 1
            self._frozen_since = None
            then = (
                f"; Tern now uses {choice.source.info.badge}"
                if choice.source
                else "; no other power source is left"
            )
            self.notices.append(f"{why}, so Tern stopped trusting it{then}.")
        log.warning("power source demoted: %s", self.notices[-1])

    # -- describing -------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self.source.info.kind if self.source else "counter"

    @property
    def resolution_s(self) -> float:
        return self.source.info.resolution_s if self.source else 0.0

    def state(self) -> PowerState:
        with self.lock:
            src, rejected, notices = self.source, list(self.rejected), tuple(self.notices)
        hints = tuple(r.hint for r in rejected if r.hint)
        passed = "\n".join(f"• {r.name}: {r.reason}" for r in rejected)
        extra = ""
        if passed:
            heading = "Sources tried before this one, and why they were not used" if src else "Sources tried"
            extra += f"\n\n{heading}:\n" + passed
        if hints:
            extra += "\n\nHow to get a better source:\n" + "\n".join(hints)
        if notices:
            extra += "\n\nNotices:\n" + "\n".join(f"• {n}" for n in notices)
        if src is None:
            if not self.probed.is_set():
                return PowerState(
                    False, "Power: looking for a source…", reason="still looking for a power source"
                )
            reason = "; ".join(r.reason for r in rejected[-1:]) or "no power source can be read here"
            explanation = "Tern found no way to read power on this computer." + extra
            return PowerState(
                False, NO_POWER, reason=reason, notices=notices, hints=hints, explanation=explanation
            )
        i = src.info
        return PowerState(
            True,
            i.badge,
            i.key,
            i.kind,
            i.measured,
            i.covers,
            i.method,
            "",
            i.explanation + extra,
            notices,
            hints,
        )
