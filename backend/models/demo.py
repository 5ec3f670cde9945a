"""The offline demo: a synthetic variant pair (TQ2_0 and F16 of one seed) in the user data dir."""

from __future__ import annotations

from collections.abc import Callable

from backend.models.registry import Registry, Variant
from backend.models.synth import SHAPES, SYNTHETIC_LABEL, make_pair
from backend.paths import paths

DEMO_MODEL = "demo"
DEMO_SHAPE = "demo"


def make_demo(registry: Registry, progress: Callable[[str, float], None] | None = None,
              shape: str = DEMO_SHAPE) -> list[Variant]:
    """Make (or reuse) the demo pair and record it in the registry as model `demo`."""
    folder = paths().demo
    files = make_pair(folder, shape=shape, seed=0, encodings=("tq2_0", "f16"), progress=progress)
    shp = SHAPES[shape]
    fields = {"family": "synthetic", "n_params": shp.n_params, "chat": 0, "license": "none (random weights)",
              "synthetic": 1}
    out = []
    for enc, path in files.items():
        v = registry.variant_by_path(path)
        if v is None:
            v = registry.add_variant(DEMO_MODEL, path, enc, "synthetic", model_fields=fields,
                                     info={"label": SYNTHETIC_LABEL, "shape": shape, "seed": 0})
        out.append(v)
    return out
