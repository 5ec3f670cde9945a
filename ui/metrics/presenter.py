"""The presenter: polls the metrics sampler on a QTimer in the GUI thread and publishes a `Readout`.

It follows the engine and its replies through slots (connected to the chat controller by
`attach`), keeps the live token arrival times for the tok/s figure and sparkline, and computes
a reply's energy once the sampler has a reading after the reply's end — a quick calculation over
samples already taken, never a wait. The sampler's thread does all the reading; nothing here blocks.
"""

from __future__ import annotations

import collections
import logging
import time
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from backend.metrics import Sampler, TurnEnergy
from ui.metrics.readout import Readout, TurnView, build

log = logging.getLogger("tern.ui.metrics")
SPAN_NS = 60 * 1_000_000_000


class MetricsPresenter(QObject):
    updated = Signal(object)  # Readout

    def __init__(
        self,
        sampler: Sampler | None = None,
        *,
        hz: float = 10.0,
        watts_per_core: float = 0.0,
        interval_ms: int = 500,
        settings: Any = None,
        parent: QObject | None = None,
    ) -> None:
        """`settings`: where the user's watts-per-core figure is saved (and followed), when there are any."""
        super().__init__(parent)
        self._own_sampler = sampler is None
        self.sampler = sampler or Sampler(hz=hz, watts_per_core=watts_per_core)
        self.watts_per_core = watts_per_core
        self.settings = settings
        self.info: dict[str, Any] | None = None
        self.running = False
        self.arrivals: collections.deque[int] = (
            collections.deque()
        )  # token arrival times (time_ns), last minute
        self.turn_arrivals: list[int] = []
        self.tps_points: collections.deque[tuple[int, float]] = collections.deque()
        self.stats: dict[str, Any] | None = None
        self.energy: TurnEnergy | None = None
        self._pending: dict[str, Any] | None = None
        self._pending_since = 0.0
        self.readout: Readout | None = None
        self._stopped = False
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.refresh)

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> MetricsPresenter:
        if self.settings is not None:
            self.settings.subscribe(self.apply_settings)
        self.sampler.start()
        self.timer.start()
        QTimer.singleShot(0, self.refresh)
        return self

    @Slot()
    def shutdown(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.timer.stop()
        if self.settings is not None:
            self.settings.unsubscribe(self.apply_settings)
        if self._own_sampler:
            self.sampler.stop()

    def attach(self, controller: QObject) -> None:
        """Follow a chat controller's engine and replies (signals documented in ui/chat/controller.py)."""
        controller.engine_started.connect(self.engine_started)  # type: ignore[attr-defined]
        controller.engine_stopped.connect(self.engine_stopped)  # type: ignore[attr-defined]
        controller.turn_started.connect(self.turn_started)  # type: ignore[attr-defined]
        # Live tok/s from the engine's own token timestamps, the clock its final figure uses.
        controller.reply_token_times.connect(self.tokens_arrived)  # type: ignore[attr-defined]
        controller.turn_finished.connect(self.turn_finished)  # type: ignore[attr-defined]
        pid = getattr(controller, "engine_pid", None)
        info = getattr(controller, "info", None)
        if isinstance(pid, int) and info is not None:  # attached after a model was already loaded
            self.engine_started(pid, info if isinstance(info, dict) else info.to_dict())

    def set_watts_per_core(self, watts: float) -> None:
        """The user's figure for the estimate: saved in settings when there are any (which re-probes)."""
        if self.settings is not None:
            self.settings.update(cpu_watts_per_core=float(watts))  # → apply_settings via the subscription
        else:
            self.watts_per_core = float(watts)
            self.sampler.reprobe(self.watts_per_core)

    def connect_badge(self, badge: Any) -> None:
        badge.offer_watts(lambda: self.watts_per_core, self.set_watts_per_core)

    def apply_settings(self, settings: Any) -> None:
        """Settings changed: sampling rate now; a new watts-per-core figure re-chooses the power source."""
        hz = float(getattr(settings, "sampler_hz", self.sampler.hz) or self.sampler.hz)
        if hz != self.sampler.hz:
            self.sampler.set_hz(hz)
        w = float(getattr(settings, "cpu_watts_per_core", self.watts_per_core) or 0.0)
        if w != self.watts_per_core:
            self.watts_per_core = w
            self.sampler.reprobe(w)

    # -- the engine and its replies ---------------------------------------------------------
    @Slot(int, object)
    def engine_started(self, pid: int, info: Any) -> None:
        info = dict(info) if info else {}
        if self.info is None or info.get("path") != self.info.get("path") or info.get("pid") != self.info.get("pid"):
            # another model, or a fresh engine: the last reply's figures belonged to the one before
            self.stats, self.energy, self._pending = None, None, None
        self.info = info
        self.sampler.watch(pid)
        self.refresh()

    @Slot()
    def engine_stopped(self) -> None:
        self.info = None
        self.running = False
        self.sampler.watch(None)
        self.refresh()

    @Slot()
    def turn_started(self) -> None:
        self.running = True
        self.turn_arrivals = []
        self.energy, self._pending = None, None
        self.refresh()

    @Slot(str)
    def token_arrived(self, _text: str = "", t_ns: int | None = None) -> None:
        t = t_ns or time.time_ns()
        self.arrivals.append(t)
        if self.running:
            self.turn_arrivals.append(t)

    @Slot(object)
    def tokens_arrived(self, times: list[int]) -> None:
        """One batch of tokens (the engine sends them ~25 ms apart), each with the engine's own time."""
        for t in times:
            self.token_arrived("", t)

    @Slot(object)
    def turn_finished(self, stats: dict[str, Any]) -> None:
        self.running = False
        self.stats = dict(stats)
        self.energy = None
        ok = stats.get("stop_reason") != "error" and stats.get("t_end_ns")
        self._pending = self.stats if ok else None
        self._pending_since = time.monotonic()
        self.refresh()

    # -- polling ----------------------------------------------------------------------------
    def live_tps(self) -> float | None:
        """Decode speed of the running reply from arrival times, with the engine's formula."""
        a = self.turn_arrivals
        if len(a) < 3 or a[-1] <= a[0]:
            return None
        return (len(a) - 1) / ((a[-1] - a[0]) / 1e9)

    def _tps_series(self, now: int) -> tuple[tuple[int, float], ...]:
        while self.arrivals and self.arrivals[0] < now - SPAN_NS - 2_000_000_000:
            self.arrivals.popleft()
        recent = sum(1 for t in self.arrivals if t >= now - 1_000_000_000)
        self.tps_points.append((now, float(recent)))
        while self.tps_points and self.tps_points[0][0] < now - SPAN_NS:
            self.tps_points.popleft()
        return tuple(self.tps_points)

    def _settle_energy(self, snap_t_ns: int) -> None:
        stats = self._pending
        if stats is None:
            return
        after = int(stats["t_end_ns"]) + int(1e9 / self.sampler.hz)
        if snap_t_ns < after and time.monotonic() - self._pending_since < 5.0:
            return  # the reading after the reply's end is not in yet
        self._pending = None
        try:
            self.energy = self.sampler.turn_energy(stats, wait_s=0.0)
        except Exception:  # a bug in a figure must not take the window down
            log.exception("energy of the last reply could not be computed")
            self.energy = None

    @Slot()
    def refresh(self) -> Readout:
        snap = self.sampler.snapshot(60.0)
        now = time.time_ns()
        self._settle_energy(snap.t_ns)
        turn = TurnView(
            info=self.info,
            running=self.running,
            live_tps=self.live_tps() if self.running else None,
            live_tokens=len(self.turn_arrivals),
            stats=self.stats,
            energy=self.energy,
            energy_pending=self._pending is not None,
            tps_series=self._tps_series(now),
        )
        self.readout = build(snap, turn)
        self.updated.emit(self.readout)
        return self.readout
