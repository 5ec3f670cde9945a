"""The sampler: a thread that reads the engine child's RSS and CPU time and the power source.

At `hz` (default 10) it appends one immutable `Sample` to a ring buffer; readers take a
`Snapshot` (the GUI polls one on a QTimer) or ask for the energy of a window. It never touches
widgets. The power source is probed on the sampler's own thread at start; a measured source
whose value stops changing while the engine keeps the CPU busy is demoted to the next candidate,
with a notice that says so.
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from backend.metrics.energy import Baseline, Point, TurnEnergy, baseline, turn_energy
from backend.metrics.power.probe import ProbeContext
from backend.metrics.power_keeper import Power, PowerKeeper
from backend.metrics.process import ProcessGone, ProcessReader
from backend.metrics.snapshot import PowerState, Sample, Snapshot

log = logging.getLogger("tern.metrics")


class Sampler:
    def __init__(
        self,
        hz: float = 10.0,
        power: Power = "auto",
        *,
        cpu_name: str | None = None,
        watts_per_core: float = 0.0,
        history_s: float = 900.0,
        clock: Callable[[], int] = time.time_ns,
        sysfs: Path = Path("/sys/class"),
        freeze_s: float = 3.0,
        busy_cores: float = 0.5,
    ) -> None:
        """`power`: "auto" probes this OS's sources, a list probes those, a source is used as is,
        None turns power off."""
        self.hz = min(max(float(hz), 0.5), 100.0)  # a bad setting must not stop (or flood) the sampler
        self.clock = clock
        self.n_cpus = psutil.cpu_count(logical=True) or 1
        self._lock = threading.Lock()
        self._appended = threading.Condition(self._lock)
        self._ring: collections.deque[Sample] = collections.deque(maxlen=max(16, int(history_s * self.hz)))
        self._pid: int | None = None
        self._reader: ProcessReader | None = None
        self._sampled_peak = 0
        self._engine_cpu: tuple[int | None, float | None] = (None, None)
        self._own_cpu_s = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if cpu_name is None:
            from backend.engine.hardware import cpu_name as _cpu_name

            cpu_name = _cpu_name()
        self._ctx = ProbeContext(
            engine_cpu=lambda: self._engine_cpu,
            cpu_name=cpu_name,
            watts_per_core=watts_per_core,
            sysfs=Path(sysfs),
        )
        self.power = PowerKeeper(power, self._ctx, freeze_s, busy_cores)

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> Sampler:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="metrics-sampler", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.power.close()

    def __enter__(self) -> Sampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_hz(self, hz: float) -> None:
        self.hz = min(max(float(hz), 0.5), 100.0)

    def probe_now(self) -> None:
        """Choose the power source (the thread does this first; tests without a thread call it)."""
        self.power.probe_now()

    def reprobe(self, watts_per_core: float | None = None) -> None:
        """Choose the power source again, on the sampler thread (e.g. the user entered watts per core)."""
        self.power.request_reprobe(watts_per_core)

    def wait_probed(self, timeout: float = 5.0) -> bool:
        return self.power.probed.wait(timeout)

    def watch(self, pid: int | None) -> None:
        """Follow this engine process (None: none). Call when an engine starts, restarts or closes."""
        reader = None
        if pid is not None:
            try:
                reader = ProcessReader(pid)
            except ProcessGone as e:
                log.warning("cannot watch engine: %s", e)
        with self._lock:
            self._pid, self._reader, self._sampled_peak = pid, reader, 0

    @property
    def pid(self) -> int | None:
        return self._pid

    def _run(self) -> None:
        self.probe_now()
        next_t = time.monotonic()
        while not self._stop.is_set():
            c0 = time.thread_time()
            try:
                self.power.reprobe_if_asked()
                self.sample_once()
            except Exception:  # keep sampling: one bad read must not stop the readouts
                log.exception("metrics sample failed")
            self._own_cpu_s += time.thread_time() - c0
            next_t += 1.0 / self.hz
            delay = next_t - time.monotonic()
            if delay < 0:
                next_t, delay = time.monotonic(), 0.0
            self._stop.wait(delay)

    # -- one tick ---------------------------------------------------------------------------
    def sample_once(self) -> Sample:
        t = self.clock()
        with self._lock:
            pid, reader = self._pid, self._reader
        reading = None
        if reader is not None:
            try:
                reading = reader.read()
            except ProcessGone:
                with self._lock:
                    if self._reader is reader:
                        self._reader = None
        self._engine_cpu = (pid, reading.cpu_s) if reading else (None, None)
        power, note = self.power.read()
        sample = Sample(
            t,
            pid if reading else None,
            reading.rss if reading else None,
            reading.peak_rss if reading else None,
            reading.cpu_s if reading else None,
            power,
            self.power.epoch,
            note,
        )
        with self._appended:
            self._ring.append(sample)
            if reading and reading.rss > self._sampled_peak:
                self._sampled_peak = reading.rss
            self._appended.notify_all()
        self.power.check_freeze(sample)
        return sample

    # -- reading ----------------------------------------------------------------------------
    @property
    def sampler_cpu_s(self) -> float:
        return self._own_cpu_s

    def min_window_s(self) -> float:
        """The shortest window this sampler and source can measure: 2× the coarser of the two."""
        return 2 * max(self.power.resolution_s, 1.0 / self.hz)

    def power_state(self) -> PowerState:
        return self.power.state()

    def _recent(self, n: int) -> tuple[list[Sample], int]:
        """The last n samples (oldest first) and the highest RSS sampled since watch()."""
        with self._lock:
            out = list(itertools.islice(reversed(self._ring), n))
            peak = self._sampled_peak
        out.reverse()
        return out, peak

    def snapshot(self, window_s: float = 60.0) -> Snapshot:
        samples, sampled_peak = self._recent(int(window_s * self.hz * 1.2) + 4)
        power = self.power_state()
        if not samples:
            return Snapshot(
                self.clock(),
                self.hz,
                self._pid,
                None,
                None,
                "",
                None,
                self.n_cpus,
                None,
                power.reason or "no sample yet",
                power,
                (),
                self._own_cpu_s,
            )
        last = samples[-1]
        cutoff = last.t_ns - int(window_s * 1e9)
        samples = [s for s in samples if s.t_ns >= cutoff]
        ago = _one_second_before(samples)
        cores = None
        if ago is not None and ago.pid == last.pid and ago.cpu_s is not None and last.cpu_s is not None:
            cores = (last.cpu_s - ago.cpu_s) / ((last.t_ns - ago.t_ns) / 1e9)
        watts, note = None, last.note
        if last.power is not None:
            if power.kind == "instant":
                watts = last.power
            elif ago is not None and ago.power is not None and ago.epoch == last.epoch:
                watts = (last.power - ago.power) / ((last.t_ns - ago.t_ns) / 1e9)
            else:
                note = "measuring…"
        peak, kind = (
            (last.peak_rss, "os")
            if last.peak_rss is not None
            else ((sampled_peak or None), "sampled" if last.rss is not None else "")
        )
        return Snapshot(
            last.t_ns,
            self.hz,
            last.pid,
            last.rss,
            peak if last.rss is not None else None,
            kind,
            cores,
            self.n_cpus,
            watts,
            note if watts is None else "",
            power,
            tuple(samples),
            self._own_cpu_s,
        )

    def points(self) -> tuple[list[Point], str]:
        with self._lock:
            ring = list(self._ring)
        return [Point(s.t_ns, s.power, s.epoch, s.note) for s in ring], self.power.kind

    def wait_for(self, t_ns: int, timeout: float = 2.0) -> bool:
        """Block until a sample at or after t_ns exists (False on timeout or when not running)."""
        deadline = time.monotonic() + timeout
        with self._appended:
            while not self._ring or self._ring[-1].t_ns < t_ns:
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None:
                    return bool(self._ring) and self._ring[-1].t_ns >= t_ns
                self._appended.wait(min(left, 0.25))
        return True

    # -- energy -----------------------------------------------------------------------------
    def baseline_seconds(self) -> float:
        return max(3.0, 2.5 * self.power.resolution_s, 3.0 / self.hz)

    def idle_baseline_between(self, t0_ns: int, t1_ns: int, max_cores: float = 0.1) -> Baseline:
        if self.power.source is None:
            return Baseline.unavailable(self.power_state().reason)
        with self._lock:
            ring = [s for s in self._ring if t0_ns <= s.t_ns <= t1_ns]
        busy = [s for s in ring if s.cpu_s is not None]
        if len(busy) >= 2 and busy[0].pid == busy[-1].pid:
            cores = (busy[-1].cpu_s - busy[0].cpu_s) / max((busy[-1].t_ns - busy[0].t_ns) / 1e9, 1e-9)  # type: ignore[operator]
            if cores > max_cores:
                return Baseline.unavailable(
                    f"the engine was busy ({cores:.1f} cores) when idle power was due to be measured"
                )
        points, kind = self.points()
        return baseline(points, kind, t0_ns, t1_ns, self.min_window_s())

    def idle_baseline_before(self, t_ns: int, seconds: float | None = None) -> Baseline:
        """Idle power over the seconds just before t_ns, if the engine was idle then."""
        seconds = seconds or self.baseline_seconds()
        end = t_ns - int(1.5e9 / self.hz)  # keep clear of the sample interval the reply starts in
        b = self.idle_baseline_between(end - int(seconds * 1e9), end)
        if b.status != "ok" and "started after" in b.reason:
            return Baseline.unavailable("the sampler had not been running long enough before the reply")
        return b

    def measure_idle(self, seconds: float | None = None) -> Baseline:
        """Measure idle power now, blocking for `seconds` (run it off the GUI thread)."""
        if not self.wait_probed():
            return Baseline.unavailable("still looking for a power source")
        seconds = seconds or self.baseline_seconds()
        t0 = self.clock()
        t1 = t0 + int(seconds * 1e9)
        if not self.wait_for(t1 + int(1e9 / self.hz), timeout=seconds + 3.0):
            return Baseline.unavailable("the sampler is not running")
        return self.idle_baseline_between(t0, t1)

    def turn_energy(self, stats: Any, base: Baseline | None = None, wait_s: float = 2.0) -> TurnEnergy:
        """J total, J/output-token and the prefill/decode split of one reply, from its TurnStats."""
        get = stats.get if isinstance(stats, dict) else lambda k, d=None: getattr(stats, k, d)
        t_start, t_first, t_end = (
            int(get("t_start_ns", 0)),
            int(get("t_first_ns", 0) or 0),
            int(get("t_end_ns", 0)),
        )
        out_tokens = int(get("output_tokens", 0))
        prefill_tokens = int(get("prompt_tokens", 0)) - int(get("prompt_cached", 0))
        state = self.power_state()
        if not state.available:
            return TurnEnergy(state.badge, "", False, "unavailable", state.reason, output_tokens=out_tokens)
        self.wait_for(t_end + int(1e9 / self.hz), timeout=wait_s)
        if base is None:
            base = self.idle_baseline_before(t_start)
        points, kind = self.points()
        return turn_energy(
            points,
            kind,
            t_start_ns=t_start,
            t_first_ns=t_first,
            t_end_ns=t_end,
            output_tokens=out_tokens,
            prefill_tokens=prefill_tokens,
            base=base,
            min_seconds=self.min_window_s(),
            source=state.badge,
            covers=state.covers,
            measured=state.measured,
        )


def _one_second_before(samples: list[Sample]) -> Sample | None:
    if len(samples) < 2:
        return None
    target = samples[-1].t_ns - 1_000_000_000
    for s in reversed(samples[:-1]):
        if s.t_ns <= target:
            return s
    return samples[0]
