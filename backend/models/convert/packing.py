"""Bit layouts of ternary weights: the packings people publish in, and the TQ blocks llama.cpp reads.

- transformers' `pack_weights` (integrations/bitnet.py): a uint8 tensor [R, in] with R = ceil(out/4);
  output row r lives in packed row `r % R`, bits `2 * (r // R)`, as code+1 (0, 1, 2 = -1, 0, +1).
  Four contiguous bands of rows, not interleaved.
- bitnet.cpp's I2_S (src/ggml-bitnet-mad.cpp, `quantize_i2_s`, x86/ACT_PARALLEL layout): the tensor
  flattened row-major in blocks of 128 values → 32 bytes; value j of a block sits in byte `j % 32`,
  bits `6 - 2 * (j // 32)`; codes 0, 1, 2 = -1, 0, +1; then one float32 scale and padding (32 bytes).
- ggml's TQ2_0: blocks of 256 values → 64 bytes of 2-bit codes + an f16 scale; byte m of each
  128-value half holds values `m + 32n` at bits `2n`. TQ1_0 (base-3, 54 bytes) is left to gguf.quants.
"""

from __future__ import annotations

import numpy as np
from gguf import GGMLQuantizationType, quants

QK_K = 256
I2S_TAIL = 32  # the float32 scale and its padding after the packed codes


def unpack_bitnet(packed: np.ndarray, out_features: int) -> np.ndarray:
    """transformers' packed uint8 [R, in] → int8 ternary [out_features, in]."""
    bands = [((packed >> (2 * i)) & 3) for i in range(4)]
    codes = np.concatenate(bands, axis=0)[:out_features]
    return codes.astype(np.int8) - np.int8(1)


def i2s_nbytes(n_elements: int) -> int:
    return n_elements // 4 + I2S_TAIL


def unpack_i2s(raw: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, float]:
    """I2_S bytes of a [out, in] tensor → (int8 ternary [out, in], the tensor's float32 scale)."""
    n = shape[0] * shape[1]
    body = raw[: n // 4].reshape(-1, 1, 32)
    scale = float(raw[n // 4 : n // 4 + 4].view(np.float32)[0])
    shifts = np.array([6, 4, 2, 0], dtype=np.uint8).reshape(1, 4, 1)
    codes = (body >> shifts) & 3  # [blocks, 4 groups of 32, 32]
    if np.any(codes == 3):
        raise ValueError("code 3 does not exist in I2_S")
    return (codes.reshape(shape).astype(np.int8) - np.int8(1)), scale


def ternary_to_tq2(t: np.ndarray) -> np.ndarray:
    """int8 ternary [rows, in] (in a multiple of 256) → TQ2_0 bytes [rows, in/256*66], every block scale 1.0.

    Pure ternary with unit block scales stores the values exactly; the tensor's real scale goes into
    the model's `.scale` tensor (see gguf_out). Equal to gguf.quants.quantize for ternary input,
    except that an all-zero block gets scale 1.0 instead of 0 (the same zeros either way).
    """
    rows, cols = t.shape
    codes = (t.astype(np.uint8) + np.uint8(1)).reshape(rows, cols // QK_K, 2, 4, 32)
    qs = codes[..., 0, :] | (codes[..., 1, :] << 2) | (codes[..., 2, :] << 4) | (codes[..., 3, :] << 6)
    qs = qs.reshape(rows, cols // QK_K, 64)
    d = np.full((rows, cols // QK_K, 1), np.float16(1.0)).view(np.uint8)
    return np.concatenate([qs, d], axis=-1).reshape(rows, -1)


def encode_ternary(t: np.ndarray, qtype: GGMLQuantizationType) -> np.ndarray:
    """int8 ternary → TQ2_0 (fast path) or TQ1_0 (gguf.quants), unit block scales."""
    if qtype == GGMLQuantizationType.TQ2_0:
        return ternary_to_tq2(t)
    return quants.quantize(t.astype(np.float32), qtype)


def encode_values(w: np.ndarray, qtype: GGMLQuantizationType) -> np.ndarray:
    """float32 values that are ternary up to one magnitude per row → TQ blocks with absmax scales."""
    return quants.quantize(np.ascontiguousarray(w, dtype=np.float32), qtype)
