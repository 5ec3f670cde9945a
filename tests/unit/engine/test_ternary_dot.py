"""The engine's ternary matrix products (TQ1_0 / TQ2_0 weights x Q8_K activations) against numpy.

Weights are packed by gguf.quants; the expected product is gguf's dequantization of them times a
numpy Q8_K quantization of the activations (the kernels multiply 8-bit activations, so this is
the exact product up to float rounding). The product under test is ggml's own CPU matmul, run
through ctypes on the libraries llama_cpp loads (tests/support/ggml_matmul.py): one activation
column goes through the vec_dot kernel a decode step uses, 8 or more through the tiled GEMM of
prompt processing, with 1 and 2 threads. Shapes include odd row and column counts, one-block
rows and 1536/4096-wide rows (the 700M shape's), and edge values: rows of all -1, all 0, all +1,
activations at the Q8_K extremes (+-127) and an all-zero activation block.
"""

from __future__ import annotations

import numpy as np
import pytest
from gguf import GGMLQuantizationType, quants

from tests.support.ggml_matmul import GgmlCpu

TYPES = {"tq1_0": GGMLQuantizationType.TQ1_0, "tq2_0": GGMLQuantizationType.TQ2_0}
# Relative to sum(|w| |x|) per output: float32 rounding of the block sums stays below ~1e-6; one
# wrong weight among 4096 moves an output by ~1e-4 of that.
RTOL = 2e-5


@pytest.fixture(scope="module")
def ggml() -> GgmlCpu:
    return GgmlCpu()


def q8_k(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """quantize_row_q8_K_ref in numpy: per 256 values, scale -127 / (the first value of largest
    magnitude), products in float32 rounded to nearest even, capped at 127. Returns (qs int8, d)."""
    b = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, 256)
    mx = b[np.arange(len(b)), np.argmax(np.abs(b), axis=1)]
    zero = mx == 0
    iscale = np.where(zero, np.float32(0), np.float32(-127.0) / np.where(zero, np.float32(1), mx)).astype(np.float32)
    q = np.minimum(np.rint(iscale[:, None] * b), 127).astype(np.int8)
    d = np.where(zero, np.float32(0), np.float32(1) / np.where(zero, np.float32(1), iscale)).astype(np.float32)
    return q.reshape(x.shape), d.reshape(*x.shape[:-1], -1)


def expected(kind: str, packed: np.ndarray, k: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(W @ Q8_K(x), sum |W| |Q8_K(x)|) in float64, W dequantized by gguf."""
    w = quants.dequantize(packed, TYPES[kind]).astype(np.float64).reshape(packed.shape[0], k)
    q, d = q8_k(x)
    xd = (q.astype(np.float64).reshape(x.shape[0], -1, 256) * d[..., None]).reshape(x.shape)
    return xd @ w.T, np.abs(xd) @ np.abs(w).T


def ternary(rng: np.random.Generator, rows: int, k: int) -> np.ndarray:
    """Random ternary rows with one power-of-two scale per row (exact in fp16), plus edge rows:
    all -1, all 0, all +1 (each scaled), when there is room."""
    t = rng.integers(-1, 2, size=(rows, k)).astype(np.float32)
    for i, v in enumerate((-1.0, 0.0, 1.0)[: max(0, rows - 1)]):
        t[i] = v
    return t * (2.0 ** rng.integers(-6, 0, size=(rows, 1))).astype(np.float32)


def check(ggml: GgmlCpu, kind: str, w: np.ndarray, x: np.ndarray, threads: int) -> None:
    packed = quants.quantize(w, TYPES[kind])
    got = ggml.matmul(int(TYPES[kind]), packed, w.shape[1], x, threads)
    want, scale = expected(kind, packed, w.shape[1], x)
    err = np.abs(got - want) / (scale + 1e-30)
    worst = np.unravel_index(np.argmax(err), err.shape)
    assert err.max() <= RTOL, (
        f"{kind} {w.shape[0]}x{w.shape[1]} x {x.shape[0]} columns, {threads} threads: output row {worst[1]} "
        f"column {worst[0]} is {got[worst]:.6g}, numpy says {want[worst]:.6g} (relative error {err.max():.2e})")


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(("rows", "k", "cols"), [
    (7, 256, 1),     # one block per row, odd rows, decode (vec_dot)
    (33, 1536, 1),   # the 700M shape's width, decode
    (16, 4096, 3),   # ffn_down's width, a short batch (vec_dot, odd columns)
    (9, 1536, 8),    # the smallest batch the tiled GEMM takes
    (35, 512, 19),   # tiled, ragged rows and columns
])
def test_matmul_matches_numpy_on_random_ternary_weights(ggml: GgmlCpu, kind: str, threads: int,
                                                        rows: int, k: int, cols: int) -> None:
    rng = np.random.default_rng([rows, k, cols, threads])
    x = rng.standard_normal((cols, k)).astype(np.float32) * 3
    if k > 256:
        x[0, 256:512] = 0  # an all-zero activation block (Q8_K scale 0)
    check(ggml, kind, ternary(rng, rows, k), x, threads)


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("cols", [1, 8])
def test_matmul_at_the_extremes(ggml: GgmlCpu, kind: str, cols: int) -> None:
    """Weights all +1 / all -1 against activations all at +-127 after quantization: the largest
    sums a block can produce (no 16-bit partial sum may wrap), and alternating signs."""
    k = 1024
    w = np.stack([np.ones(k), -np.ones(k), np.zeros(k), np.tile([1.0, -1.0, 0.0, 1.0], k // 4)]).astype(np.float32)
    w = np.concatenate([w, w * 0.5, -w])  # 12 rows, several scales
    x = np.full((cols, k), 1e4, dtype=np.float32)
    x[1::2] = -1e4
    if cols > 2:
        x[2] = np.where(np.arange(k) % 2 == 0, 7.5, -7.5)
        x[3, ::3] = -3e4
    check(ggml, kind, w, x, threads=2)


def test_activation_quantizer_is_q8_k_exactly(ggml: GgmlCpu) -> None:
    """The CPU backend's Q8_K quantizer (SIMD on AVX-512) gives the reference's bytes, including ties
    between +max and -max (the first one sets the sign of the scale) and exact .5 products."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal(256 * 8).astype(np.float32) * 4
    x[256:512] = np.where(np.arange(256) % 2 == 0, -3.0, 3.0)      # -max comes first
    x[512:768] = np.arange(256, dtype=np.float32) - 127.0            # many exact halves after scaling
    x[768:1024] = 0                                                  # all zero
    x[1024 + 255] = 1e3                                              # the maximum at the very end
    blocks = ggml.quantize_q8_k(x)
    q, d = q8_k(x)
    got_d = blocks[:, :4].copy().view(np.float32).ravel()
    got_q = blocks[:, 4:260].copy().view(np.int8)
    got_bsums = blocks[:, 260:].copy().view(np.int16)
    np.testing.assert_array_equal(got_d, d)
    np.testing.assert_array_equal(got_q, q.reshape(-1, 256))
    live = d != 0  # the reference leaves bsums unset in an all-zero block
    np.testing.assert_array_equal(got_bsums[live], q.reshape(-1, 16, 16).sum(axis=2)[live])
