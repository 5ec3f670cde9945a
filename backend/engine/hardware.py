"""Facts about this machine the engine needs: physical cores, process memory counters."""

from __future__ import annotations

import os
import sys

import psutil


def physical_cores() -> int:
    """Default engine threads: physical cores (hyper-threads slow llama.cpp's matmuls down)."""
    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def logical_cpus() -> int:
    """CPUs this process may run on (affinity where the OS has it), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def bound_threads(requested: object) -> int:
    """Engine threads for a request: 0/None/invalid → physical cores; never more than the machine's CPUs.

    llama.cpp starts one OS thread per requested thread; 100,000 of them make it crash (SIGSEGV),
    and more threads than CPUs only slow it down.
    """
    try:
        n = int(requested)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        n = 0
    if n <= 0:
        n = physical_cores()
    return max(1, min(n, logical_cpus()))


def peak_rss_self() -> int:
    """This process's peak resident memory in bytes, from the OS's own accounting."""
    if sys.platform == "win32":
        return int(psutil.Process().memory_info().peak_wset)
    if sys.platform.startswith("linux"):
        # Not getrusage: on Linux its ru_maxrss carries over the parent's peak across fork+exec,
        # so a small engine started by a big GUI would report the GUI's memory. VmHWM is this image's.
        try:
            with open("/proc/self/status", "rb") as f:
                for line in f:
                    if line.startswith(b"VmHWM:"):
                        return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def cpu_seconds_self() -> float:
    """CPU seconds of this process, all threads, at nanosecond resolution (os.times() ticks at 10 ms)."""
    import time

    return time.process_time()


def cpu_name() -> str:
    """The CPU's marketing name, as the OS reports it."""
    import platform

    if sys.platform.startswith("linux"):
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.lower().startswith(("model name", "hardware", "cpu model")):
                        return line.split(":", 1)[1].strip()
        except OSError:
            pass
    elif sys.platform == "darwin":
        import subprocess

        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                  timeout=2).stdout.strip() or platform.processor()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine()
