"""The models a person can chat with, as the model picker lists them (from the registry)."""

from __future__ import annotations

from dataclasses import dataclass

from backend import units
from backend.models import SYNTHETIC_LABEL
from backend.models.registry import ENCODING_PREFERENCE, Registry

__all__ = ["SYNTHETIC_LABEL", "ModelChoice", "choices", "find_choice"]


@dataclass
class ModelChoice:
    """One loadable variant: its file, the name shown for it, and whether its weights are random."""

    path: str
    label: str  # "demo · TQ2_0", also stored with each reply as the model that wrote it
    spec: str  # registry spec, "demo:TQ2_0" (remembered as Settings.last_model)
    encoding: str = ""
    file_bytes: int = 0
    synthetic: bool = False
    chat: bool | None = None  # chat-tuned (True), base model (False), unknown (None)

    @property
    def title(self) -> str:
        """The picker's line: name, encoding, size, and the random-weights mark for synthetic models."""
        text = f"{self.label}  ·  {units.size(self.file_bytes)}"
        return text + "  ·  synthetic" if self.synthetic else text


def _rank(encoding: str) -> int:
    enc = encoding.upper()
    return ENCODING_PREFERENCE.index(enc) if enc in ENCODING_PREFERENCE else len(ENCODING_PREFERENCE)


def choices(registry: Registry) -> list[ModelChoice]:
    """Every usable variant, models by name, each model's variants fastest-kernel first."""
    out = []
    for m in registry.models():
        for v in sorted((v for v in m.variants if v.usable), key=lambda v: _rank(v.encoding)):
            out.append(ModelChoice(str(v.path), f"{m.name} · {v.encoding}", f"{m.name}:{v.encoding}",
                                   v.encoding, v.file_bytes, m.synthetic, m.chat))
    return out


def find_choice(options: list[ModelChoice], spec: str) -> ModelChoice | None:
    key = spec.lower()
    return next((c for c in options if c.spec.lower() == key or c.path == spec), None)
