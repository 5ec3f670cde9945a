"""F16 matrix products at attention sizes (engine patch 0007: the F16 dot product's vector tail).

Rows of 96 (a 96-wide attention head) or 32 * odd (a KV length without flash attention) are
where the tail of ggml_vec_dot_f16 runs; the product goes through ggml's CPU matmul on the
engine's own libraries (tests/support/ggml_matmul.py) and is compared with numpy, in which the
activations are rounded to F16 as ggml does before an F16 dot product.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.ggml_matmul import GgmlCpu

GGML_TYPE_F16 = 1


@pytest.fixture(scope="module")
def ggml() -> GgmlCpu:
    return GgmlCpu()


@pytest.mark.parametrize("k", [32, 80, 96, 160, 200, 1536])
@pytest.mark.parametrize("cols", [1, 3])
def test_f16_matmul_matches_numpy_at_attention_sizes(ggml: GgmlCpu, k: int, cols: int) -> None:
    rng = np.random.default_rng([k, cols])
    w = rng.standard_normal((11, k)).astype(np.float16)
    x = rng.standard_normal((cols, k)).astype(np.float32)
    got = ggml.matmul(GGML_TYPE_F16, w.view(np.uint8).reshape(11, -1), k, x, threads=2)
    xh = x.astype(np.float16).astype(np.float64)
    want = xh @ w.astype(np.float64).T
    scale = np.abs(xh) @ np.abs(w.astype(np.float64)).T
    err = np.abs(got - want) / scale
    assert err.max() < 1e-5, f"F16 rows of {k}: relative error {err.max():.2e}"
