"""What the comparison panel says about a figure beyond its value (the value itself: backend.units)."""

from __future__ import annotations

from backend import units
from backend.bench.energy import EnergyFigure, PowerLabel

DASH = units.DASH


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
