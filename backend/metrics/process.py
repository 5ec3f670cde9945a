"""Memory and CPU time of one process (the engine child), read the way its OS accounts for them.

RSS and CPU seconds come from psutil. The peak is the OS's own high-water mark where another
process can read it — Linux `VmHWM` in /proc/PID/status (what the child's getrusage reports),
Windows `peak_wset` — and None elsewhere (macOS), where the sampler keeps the highest sample.
"""

from __future__ import annotations

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
        try:
            with self.proc.oneshot():
                mem = self.proc.memory_info()
                t = self.proc.cpu_times()
            peak = getattr(mem, "peak_wset", None)
            if self._status:
                peak = _vm_hwm(self._status)
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied, ProcessLookupError) as e:
            raise ProcessGone(f"process {self.pid} is gone ({type(e).__name__})") from None
        return ProcessReading(int(mem.rss), int(peak) if peak is not None else None, float(t.user + t.system))


def _vm_hwm(path: str) -> int | None:
    try:
        with open(path, "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except (FileNotFoundError, ProcessLookupError):
        raise ProcessGone(f"{path} vanished") from None
    except (OSError, ValueError, IndexError):
        return None
    return None
