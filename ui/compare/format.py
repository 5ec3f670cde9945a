"""How the comparison panel writes figures: units, "—" for anything not measured, and why."""

from __future__ import annotations

from backend.bench.energy import EnergyFigure, PowerLabel

DASH = "—"


def mib(n: float | None) -> str:
    return DASH if n is None else f"{n / 1024**2:,.0f} MiB"


def ms(v: float | None) -> str:
    return DASH if v is None else (f"{v:,.0f} ms" if v >= 10 else f"{v:.1f} ms")


def tps(v: float | None) -> str:
    return DASH if v is None else f"{v:,.1f} tok/s"


def watts(v: float | None) -> str:
    return DASH if v is None else f"{v:.1f} W"


def jpt(v: float | None) -> str:
    return DASH if v is None else (f"{v:.3f} J/token" if v >= 0.01 else f"{v * 1000:.2f} mJ/token")


def size(n: float | None) -> str:
    if n is None:
        return DASH
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:,.0f} MB"


def energy_tooltip(e: EnergyFigure) -> str:
    label = PowerLabel.from_dict(e.label) if e.label else None
    if e.j_per_token is None:
        why = e.reason or (label.reason if label else "") or "no power reading"
        return f"Energy per token: not measured — {why}."
    how = label.describe() if label else "power source"
    parts = [f"Decode energy per output token, from {how}."]
    if e.baseline_note:
        parts.append(e.baseline_note[0].upper() + e.baseline_note[1:] + ".")
    if e.prefill_j is not None:
        parts.append(f"Prompt processing took {e.prefill_j:.2f} J more.")
    return " ".join(parts)
