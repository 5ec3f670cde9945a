"""How each figure is written. Anything unknown is "—", never 0."""

from __future__ import annotations

NONE = "—"


def mib(n: float | None) -> str:
    if n is None or n <= 0:
        return NONE
    if n < 10 * 1024**2:
        return f"{n / 1024**2:.1f} MiB"
    return f"{n / 1024**2:,.0f} MiB" if n < 10 * 1024**3 else f"{n / 1024**3:,.1f} GiB"


def tps(v: float | None) -> str:
    return f"{v:,.1f} tok/s" if v else NONE


def ms(v: float | None) -> str:
    if v is None:
        return NONE
    return f"{v:,.0f} ms" if v < 1000 else f"{v / 1000:,.2f} s"


def ms_per_token(decode_tps: float | None) -> str:
    return f"{1000.0 / decode_tps:,.1f} ms" if decode_tps else NONE


def watts(v: float | None) -> str:
    if v is None:
        return NONE
    return f"{v:,.1f} W" if v >= 1 else f"{v * 1000:,.0f} mW"


def joules(v: float | None) -> str:
    if v is None:
        return NONE
    if v >= 1:
        return f"{v:,.3g} J" if v < 1000 else f"{v:,.0f} J"
    return f"{v * 1000:.3g} mJ"


def cores(v: float | None, n_cpus: int) -> str:
    if v is None:
        return NONE
    v = max(v, 0.0)
    return f"{v:.1f} cores ({100 * v / max(n_cpus, 1):.0f} % of {n_cpus})"


def mib_from_mib(v: float | None) -> str:
    return f"{v:,.0f} MiB" if v else NONE
