"""ggml's Q6_K quantizer in numpy: `quantize_row_q6_K_ref` of ggml-quants.c, step for step.

gguf-py's `gguf.quants` decodes Q6_K but has no encoder, so this is a port of the reference
(no importance matrix) that llama-quantize uses for an output head. Each 256-value block holds
sixteen groups of 16; `make_qx_quants` (nmax 32, weights x², rmse_type 1) picks each group's scale
by trying 19 candidate scales around -32/max, then the group scales become int8 multiples of one
f16 super-scale and every value is re-rounded against its group's final scale. All arithmetic is
float32 in the C order (sums accumulated left to right), rounding is to nearest-even as
`nearest_int` does, so the bytes equal ggml's (tests/unit/models/test_head_encodings.py checks
them against the engine's own `ggml_quantize_chunk`).

Block layout (block_q6_K, 210 bytes): ql[128] low 4 bits, qh[64] high 2 bits, scales[16] int8, d f16.
"""

from __future__ import annotations

import numpy as np

QK_K = 256
BLOCK_BYTES = QK_K // 2 + QK_K // 4 + QK_K // 16 + 2
GROUP_MAX_EPS = np.float32(1e-15)
NMAX = 32
F32 = np.float32


def _nearest_int(v: np.ndarray) -> np.ndarray:
    return np.rint(v).astype(np.int32)


def _sums(x: np.ndarray, w: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ w·x·L and Σ w·L² over each group's 16 values, in float32, added left to right as C does.
    Arrays are [16, groups] (one row per position in the group)."""
    lf = codes.astype(F32)
    sumlx = np.zeros(x.shape[1], dtype=F32)
    suml2 = np.zeros(x.shape[1], dtype=F32)
    wx = w * x
    wl = w * lf
    for i in range(x.shape[0]):
        sumlx += wx[i] * lf[i]
        suml2 += wl[i] * lf[i]
    return sumlx, suml2


def _make_qx_quants(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """make_qx_quants(16, 32, x, L, rmse_type=1, NULL) for every group at once; x is [16, groups].
    Returns (the groups' scales, L codes 0..63 as [16, groups])."""
    n_groups = x.shape[1]
    ax = np.abs(x)
    idx = np.argmax(ax, axis=0)  # the first value of the largest magnitude, as the C loop's strict '>'
    cols = np.arange(n_groups)
    amax = ax[idx, cols]
    vmax = x[idx, cols]
    zero = amax < GROUP_MAX_EPS
    safe_max = np.where(zero, F32(1), vmax).astype(F32)
    w = x * x

    def codes(iscale: np.ndarray) -> np.ndarray:
        return np.clip(_nearest_int(iscale * x), -NMAX, NMAX - 1)

    iscale = (F32(-NMAX) / safe_max).astype(F32)
    lq = codes(iscale)
    sumlx, suml2 = _sums(x, w, lq)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(suml2 != 0, sumlx / suml2, F32(0)).astype(F32)
    best = (scale * sumlx).astype(F32)
    best_l = lq
    for step in range(-9, 10):
        if step == 0:
            continue
        iscale = (-(F32(NMAX) + F32(0.1) * F32(step)) / safe_max).astype(F32)
        lq = codes(iscale)
        sumlx, suml2 = _sums(x, w, lq)
        better = (suml2 > 0) & (sumlx * sumlx > best * suml2)
        if better.any():
            best_l = np.where(better[None, :], lq, best_l)
            with np.errstate(divide="ignore", invalid="ignore"):
                new_scale = (sumlx / suml2).astype(F32)
            scale = np.where(better, new_scale, scale)
            best = np.where(better, (scale * sumlx).astype(F32), best)
    scale = np.where(zero, F32(0), scale).astype(F32)
    best_l = np.where(zero[None, :], 0, best_l + NMAX)
    return scale, best_l


def quantize_q6_k(values: np.ndarray) -> np.ndarray:
    """float rows [rows, cols] (cols a multiple of 256) → Q6_K bytes [rows, cols / 256 * 210]."""
    x = np.ascontiguousarray(values, dtype=F32)
    rows, cols = x.shape
    if cols % QK_K:
        raise ValueError(f"a row of {cols} values is not a multiple of the {QK_K}-value Q6_K block")
    nb = rows * cols // QK_K
    blocks = x.reshape(nb, QK_K // 16, 16)
    groups = np.ascontiguousarray(blocks.reshape(-1, 16).T)  # [16, nb*16]: one row per position
    scales, codes = _make_qx_quants(groups)
    scales = scales.reshape(nb, QK_K // 16)
    codes = codes.T.reshape(nb, QK_K // 16, 16)

    abs_scales = np.abs(scales)
    pick = np.argmax(abs_scales, axis=1)
    max_scale = scales[np.arange(nb), pick]
    empty = abs_scales[np.arange(nb), pick] < GROUP_MAX_EPS
    with np.errstate(divide="ignore", invalid="ignore"):
        iscale = np.where(empty, F32(0), F32(-128) / np.where(empty, F32(1), max_scale)).astype(F32)
        d16 = np.where(empty, F32(0), F32(1) / np.where(empty, F32(1), iscale)).astype(np.float16)
    q_scales = np.minimum(127, _nearest_int(iscale[:, None] * scales)).astype(np.int8)
    q_scales[empty] = 0
    d = d16.astype(F32)[:, None] * q_scales.astype(F32)  # [nb, 16]
    nonzero = d != 0
    with np.errstate(divide="ignore", invalid="ignore"):
        requant = np.clip(_nearest_int(blocks / np.where(nonzero, d, F32(1))[..., None]), -32, 31) + 32
    L = np.where(nonzero[..., None], requant, codes).astype(np.uint8)
    L[empty] = 0

    L = L.reshape(nb, 2, 4, 32)  # two halves of 128; quarter q holds values l + 32q
    ql = np.empty((nb, 2, 64), dtype=np.uint8)
    ql[:, :, :32] = (L[:, :, 0] & 0xF) | ((L[:, :, 2] & 0xF) << 4)
    ql[:, :, 32:] = (L[:, :, 1] & 0xF) | ((L[:, :, 3] & 0xF) << 4)
    qh = (L[:, :, 0] >> 4) | ((L[:, :, 1] >> 4) << 2) | ((L[:, :, 2] >> 4) << 4) | ((L[:, :, 3] >> 4) << 6)
    out = np.concatenate([ql.reshape(nb, 128), qh.reshape(nb, 64), q_scales.view(np.uint8),
                          d16.reshape(nb, 1).view(np.uint8)], axis=1)
    return out.reshape(rows, cols // QK_K * BLOCK_BYTES)
