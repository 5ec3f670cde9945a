"""How Tern writes a figure, everywhere: the command line, the status line, the live-figures panel,
Compare and the Library all call these, so one number reads the same in every place.

The rules, once:
- Anything not measured is "—" (`DASH`), never 0. A figure a working measurement cannot produce —
  a process with no resident memory, a speed of 0 tokens per second — is "—" too: it means the
  reading failed, not that the value is zero. A file or a download of 0 bytes is a real "0 B".
- Files and downloads in decimal units (kB, MB, GB: what file managers and the Hub show); memory in
  binary units (MiB, GiB: what the OS counts RSS in). Three significant figures at most, grouped
  thousands ("1,535 MiB").
- Durations in ms below one second and in seconds above ("840 ms", "1.23 s", "4 min 39 s"), the same
  for time to first token wherever it is shown.
- Counts agree with their noun ("1 thread", "2 threads").
"""

from __future__ import annotations

import math

DASH = "—"
MIB = 1024**2
GIB = 1024**3


def _known(v: float | None) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def _three(v: float) -> str:
    """Three significant figures, never fewer than the integer part: 1.46, 27.5, 275, 1,535."""
    if v < 10:
        return f"{v:.2f}"
    if v < 100:
        return f"{v:.1f}"
    return f"{v:,.0f}"


def size(n: float | None) -> str:
    """A file or download size: "0 B", "512 B", "12.3 kB", "275 MB", "1.46 GB"."""
    if not _known(n):
        return DASH
    assert n is not None
    for unit, div in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= div:
            return f"{_three(n / div)} {unit}"
    return f"{n:,.0f} B"


def rate(bytes_per_s: float | None) -> str:
    """A transfer speed: "2.10 MB/s"; "—" until it is measured."""
    return DASH if not _known(bytes_per_s) or (bytes_per_s or 0) <= 0 else f"{size(bytes_per_s)}/s"


def memory(n: float | None) -> str:
    """Resident memory (RSS, peak RSS, KV cache): "9.6 MiB", "516 MiB", "1,535 MiB", "12.3 GiB"."""
    if not _known(n) or (n or 0) <= 0:
        return DASH
    assert n is not None
    if n >= 10 * GIB:
        return f"{n / GIB:,.1f} GiB"
    if n < 10 * MIB:
        return f"{n / MIB:.1f} MiB"
    return f"{n / MIB:,.0f} MiB"


def memory_mib(v: float | None) -> str:
    """`memory` for a figure already in MiB (chart axes)."""
    return memory(None if v is None else v * MIB)


def ms(v: float | None) -> str:
    """A latency or duration given in milliseconds: "4.2 ms", "840 ms", "1.23 s", "12.5 s", "2 min 05 s"."""
    if not _known(v) or (v or 0) < 0:
        return DASH
    assert v is not None
    if v < 10:
        return f"{v:.1f} ms"
    if v < 999.5:
        return f"{v:.0f} ms"
    if v < 60_000:
        s = v / 1000
        return f"{s:.2f} s" if s < 10 else f"{s:.1f} s"
    return clock(v / 1000)


def clock(seconds: float | None) -> str:
    """A longer span in words: "45 s", "4 min 39 s", "1 h 02 min"."""
    if not _known(seconds) or (seconds or 0) < 0:
        return DASH
    assert seconds is not None
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def tps(v: float | None) -> str:
    """Tokens per second: "57.7 tok/s"."""
    return DASH if not _known(v) or (v or 0) <= 0 else f"{v:,.1f} tok/s"


def ms_per_token(tokens_per_s: float | None) -> str:
    """Milliseconds per token from a speed: "17.3 ms"."""
    return DASH if not _known(tokens_per_s) or (tokens_per_s or 0) <= 0 else f"{1000.0 / tokens_per_s:,.1f} ms"


def watts(v: float | None) -> str:
    """Power: "12.3 W", "850 mW"."""
    if not _known(v):
        return DASH
    assert v is not None
    return f"{v:,.1f} W" if abs(v) >= 1 else f"{v * 1000:,.0f} mW"


def joules(v: float | None) -> str:
    """Energy: "0.84 mJ", "28.0 mJ", "3.51 J", "1,204 J"."""
    if not _known(v):
        return DASH
    assert v is not None
    return f"{_three(v)} J" if abs(v) >= 1 else f"{_three(v * 1000)} mJ"


def per_token(joules_per_token: float | None) -> str:
    """Energy per output token: "0.028 J/token" from 0.01 J, "2.80 mJ/token" below."""
    if not _known(joules_per_token):
        return DASH
    assert joules_per_token is not None
    if abs(joules_per_token) >= 0.01:
        return f"{joules_per_token:.3f} J/token"
    return f"{joules_per_token * 1000:.2f} mJ/token"


def cores(v: float | None, n_cpus: int) -> str:
    """CPU use in cores and as a share of the machine: "1.6 cores (80 % of 2)"."""
    if not _known(v):
        return DASH
    assert v is not None
    v = max(v, 0.0)
    return f"{v:.1f} cores ({100 * v / max(n_cpus, 1):.0f} % of {n_cpus})"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """ "1 thread", "2 threads", "2,048 tokens"."""
    word = noun if n == 1 else (plural or noun + "s")
    return f"{n:,} {word}"


def times(x: float | None) -> str:
    """A ratio: "1.23×" near 1 where the decimals matter, "3.2×" further out, "12×" beyond ten."""
    if not _known(x):
        return DASH
    assert x is not None
    if x < 2:
        return f"{x:.2f}×"
    if x < 10:
        return f"{x:.1f}×"
    return f"{x:.0f}×"


def by_unit(unit: str, v: float | None) -> str:
    """A benchmark figure by the unit it is recorded in: "bytes" (engine memory), "ms", "tok/s", "J/token"."""
    writers = {"bytes": memory, "ms": ms, "tok/s": tps, "J/token": per_token}
    return writers[unit](v) if unit in writers else (DASH if not _known(v) else f"{v:,.1f} {unit}")
