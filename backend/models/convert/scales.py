"""What a checkpoint's numbers mean: ternary codes and the one real scale per weight matrix.

- BitLinear (transformers `BitLinear`, the Falcon3/Falcon-E packing, tiiuae/onebitllms):
  `weight_scale` is 1/mean|W| and the layer divides: W = t ÷ weight_scale.
- AutoBitLinear offline (microsoft/bitnet-b1.58-2B-4T, `linear_class: autobitlinear`): the layer
  multiplies: W = t × weight_scale.
- Full-precision master weights (`quantization_mode: online`, and 1bitLLM's BitnetForCausalLM) are
  ternarized the way the model computes them at run time (transformers `WeightQuant`): s = 1/mean|W|
  (clamped at 1e-5), t = round(W·s) clamped to [-1, 1], W = t ÷ s.
- Already-ternary floats (TriLM *_Unpacked): each row holds 0 and ±m for one magnitude m; when the
  whole matrix shares one m it is a single scale, else one per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MULTIPLY, DIVIDE = "multiply", "divide"


@dataclass
class TernaryWeight:
    """t: int8 codes [out, in]; scale: the matrix's real scale; row_scale: one per row, when not shared."""

    t: np.ndarray
    scale: float
    row_scale: np.ndarray | None = None

    def values(self) -> np.ndarray:
        """The real weights as float32 (for encodings that carry the scale in their blocks)."""
        s = self.row_scale[:, None] if self.row_scale is not None else np.float32(self.scale)
        return self.t.astype(np.float32) * s


def real_scale(weight_scale: float, convention: str) -> float:
    """The factor that turns ternary codes into the layer's weights, per the checkpoint's convention."""
    if not np.isfinite(weight_scale) or weight_scale == 0:
        raise ValueError(f"weight_scale {weight_scale!r} is not a usable number")
    return float(weight_scale) if convention == MULTIPLY else float(np.float32(1.0) / np.float32(weight_scale))


def absmean_ternarize(w: np.ndarray) -> TernaryWeight:
    """transformers' WeightQuant on float32 weights: t = round(W / mean|W|) in [-1, 1]."""
    w = np.asarray(w, dtype=np.float32)
    s = np.float32(1.0) / np.maximum(np.float32(np.abs(w).mean(dtype=np.float64)), np.float32(1e-5))
    t = np.clip(np.round(w * s), -1, 1).astype(np.int8)
    return TernaryWeight(t, float(np.float32(1.0) / s))


def ternary_rows(w: np.ndarray) -> TernaryWeight | None:
    """Floats that are already ternary (0 or ±m, one m per row) as codes and scales; None if they are not."""
    w = np.asarray(w, dtype=np.float32)
    mag = np.abs(w)
    m = mag.max(axis=1)
    ok = (mag == 0) | (mag == m[:, None])
    if not bool(ok.all()):
        return None
    safe = np.where(m == 0, 1, m)
    t = np.sign(w).astype(np.int8)
    nonzero = m[m > 0]
    if nonzero.size == 0 or bool((nonzero == nonzero[0]).all()):
        return TernaryWeight(t, float(nonzero[0]) if nonzero.size else 1.0)
    return TernaryWeight(t, 1.0, safe.astype(np.float32))
