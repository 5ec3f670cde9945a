"""Download progress: bytes, speed over a sliding window, ETA — reported at most ~10 times a second.

Speed is measured from bytes that came over the network in the last few seconds (bytes found on
disk when resuming, or re-read to verify, count towards "done" but not towards speed), and is
None until there is a measurement, so nothing shows a made-up figure.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass

from backend.hub.api import HubFile

PROGRESS_EVERY = 0.1
SPEED_WINDOW = 3.0


@dataclass(frozen=True)
class Progress:
    """Where a download stands. Bytes cover the whole job (every part of a split model)."""

    repo: str
    filename: str  # the file being fetched or verified now
    done_bytes: int
    total_bytes: int
    speed_bps: float | None  # measured over the last few seconds; None until there is a measurement
    eta_s: float | None
    phase: str  # "download" | "verify" (against the Hub's sha256) | "hash" (the Hub lists none) | "done"
    file_index: int = 1
    file_count: int = 1
    resumed_bytes: int = 0  # bytes that were already on disk when this call started
    # A download that is converted goes through stages, one progress display for all of them:
    # "download" → "convert" (bytes written of the converted file) → "verify" (read back and compared).
    stage: str = "download"
    stage_index: int = 1
    stage_count: int = 1
    detail: str = ""  # the tensor being converted, for a status line

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 0.0


ProgressFn = Callable[[Progress], None]


class Job:
    """Progress bookkeeping for one call: totals, a speed window, a throttled callback."""

    def __init__(self, repo: str, files: list[HubFile], progress: ProgressFn | None) -> None:
        self.repo, self.progress = repo, progress
        self.sizes = [f.size or 0 for f in files]
        self.total = sum(self.sizes)
        self.count = len(files)
        self.done = 0
        self.resumed = 0
        self.index, self.filename, self.phase = 1, files[0].name if files else "", "download"
        self._window: collections.deque[tuple[float, int]] = collections.deque()
        self._last = 0.0

    def bytes_after(self, index: int) -> int:
        """The listed bytes of the files after file `index` (1-based): still to come."""
        return sum(self.sizes[index:])

    def start_file(self, index: int, filename: str, phase: str = "download") -> None:
        self.index, self.filename, self.phase = index, filename, phase
        self._window.clear()

    def advance(self, n: int, network: bool = True) -> None:
        self.done += n
        now = time.monotonic()
        if network:
            self._window.append((now, self.done))
            while len(self._window) > 2 and now - self._window[0][0] > SPEED_WINDOW:
                self._window.popleft()
        if now - self._last >= PROGRESS_EVERY:
            self.emit(now)

    def emit(self, now: float | None = None, phase: str | None = None) -> None:
        now = now or time.monotonic()
        self._last = now
        if self.progress is None:
            return
        speed = eta = None
        if len(self._window) >= 2 and now - self._window[0][0] > 0.2:
            t0, b0 = self._window[0]
            speed = (self.done - b0) / (now - t0)
            eta = (self.total - self.done) / speed if speed > 0 else None
        self.progress(Progress(self.repo, self.filename, self.done, self.total, speed, eta,
                               phase or self.phase, self.index, self.count, self.resumed))
