"""Memory and CPU time of one process (the engine child), read the way its OS accounts for them.

On Linux, /proc/PID/stat and /proc/PID/status are read directly (half psutil's cost per tick);
elsewhere psutil. The peak is the OS's own high-water mark where another process can read it —
Linux `VmHWM` (this process image's own peak), Windows `peak_wset` — and None elsewhere (macOS),
where the sampler keeps the highest sample.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import psutil


class ProcessGone(Exception):
    """The process exited (or can no longer be read)."""


@dataclass(frozen=True)
class ProcessReading:
    rss: int  # bytes
    peak_rss: int | None  # bytes, the OS's high-water mark since the process started
    cpu_s: float  # user + system CPU seconds since the process started


class ProcessReader:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        try:
            self.proc = psutil.Process(pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied) as e:
            raise ProcessGone(f"process {pid} cannot be read: {e}") from None
        self._status = f"/proc/{pid}/status" if sys.platform.startswith("linux") else None

    def read(self) -> ProcessReading:
        if self._status:
            return self._read_proc()
        try:
            with self.proc.oneshot():
                mem = self.proc.memory_info()
                t = self.proc.cpu_times()
            peak = getattr(mem, "peak_wset", None)  # Windows; None on macOS
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied, ProcessLookupError) as e:
            raise ProcessGone(f"process {self.pid} is gone ({type(e).__name__})") from None
        return ProcessReading(int(mem.rss), int(peak) if peak is not None else None, float(t.user + t.system))

    def _read_proc(self) -> ProcessReading:
        """Linux: /proc/PID/stat and /proc/PID/status read directly — half psutil's cost per tick."""
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as f:
                stat = f.read()
            with open(self._status, "rb") as f:  # type: ignore[arg-type]
                status = f.read()
        except (FileNotFoundError, ProcessLookupError):
            raise ProcessGone(f"process {self.pid} is gone") from None
        except OSError as e:
            raise ProcessGone(f"process {self.pid} cannot be read: {e}") from None
        fields = stat[stat.rindex(b")") + 2 :].split()  # after "(comm)": field 3 (state) is index 0
        if fields[0] == b"Z":
            raise ProcessGone(f"process {self.pid} has exited (zombie)")
        cpu = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime (fields 14, 15)
        rss, peak = _kb(status, b"VmRSS:"), _kb(status, b"VmHWM:")
        if rss is None:
            raise ProcessGone(f"process {self.pid} has no memory any more (exiting)")
        return ProcessReading(rss, peak, cpu)


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _kb(status: bytes, key: bytes) -> int | None:
    i = status.find(key)
    if i < 0:
        return None
    return int(status[i + len(key) : status.index(b"\n", i)].split()[0]) * 1024
