"""The converted output head in F16, Q8_0 or Q6_K: the bytes are ggml's own, the model still computes what the
checkpoint computes, and the choice is recorded.

Q6_K is Tern's numpy port of ggml's `quantize_row_q6_K_ref` (gguf-py has no Q6_K encoder); it is held to the
engine's own quantizer (`ggml_quantize_chunk` in the libggml-base llama_cpp loads) byte for byte, and its
bytes are decoded by the engine's own `to_float`. Q8_0 is gguf-py's encoder, held to ggml the same way.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import pytest
from gguf import GGMLQuantizationType, quants

from backend.models.convert import ConvertError, convert_and_register, convert_file
from backend.models.convert.gguf_out import HEAD_ENCODINGS, encode_head
from backend.models.convert.q6_k import quantize_q6_k
from backend.models.gguf_header import read_header
from backend.models.registry import Registry
from backend.store import Store
from tests.support import reference as ref
from tests.support import ternary_repos as R
from tests.support.ggml_matmul import cpu_library_paths

COS, TOP1 = 0.98, 0.90
TOKENS = [int(t) for t in np.random.default_rng(42).integers(0, 504, 128)]


class _Traits(ctypes.Structure):  # ggml_type_traits (ggml.h): the fields up to to_float
    _fields_ = [("type_name", ctypes.c_char_p), ("blck_size", ctypes.c_int64), ("blck_size_interleave", ctypes.c_int64),
                ("type_size", ctypes.c_size_t), ("is_quantized", ctypes.c_bool), ("to_float", ctypes.c_void_p)]


_TO_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)


@pytest.fixture(scope="module")
def ggml() -> ctypes.CDLL:
    base = ctypes.CDLL(str(cpu_library_paths()[0]))
    base.ggml_quantize_chunk.restype = ctypes.c_size_t
    base.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                         ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
    base.ggml_quantize_init.argtypes = [ctypes.c_int]
    base.ggml_get_type_traits.restype = ctypes.POINTER(_Traits)
    base.ggml_get_type_traits.argtypes = [ctypes.c_int]
    return base


def ggml_quantize(base: ctypes.CDLL, qtype: GGMLQuantizationType, x: np.ndarray) -> np.ndarray:
    from gguf import GGML_QUANT_SIZES

    block, size = GGML_QUANT_SIZES[qtype]
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.zeros(x.size // block * size, dtype=np.uint8)
    base.ggml_quantize_init(int(qtype))
    base.ggml_quantize_chunk(int(qtype), x.ctypes.data, out.ctypes.data, 0, x.shape[0], x.shape[1], None)
    return out.reshape(x.shape[0], -1)


def ggml_dequantize(base: ctypes.CDLL, qtype: GGMLQuantizationType, raw: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.float32)
    raw = np.ascontiguousarray(raw)
    _TO_FLOAT(base.ggml_get_type_traits(int(qtype)).contents.to_float)(raw.ctypes.data, out.ctypes.data, n)
    return out


def rows() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    gauss = (0.02 * rng.standard_normal((64, 1024))).astype(np.float32)
    bf16 = (gauss.view(np.uint32) & 0xFFFF0000).view(np.float32)  # what a bf16 checkpoint holds
    edge = np.zeros((6, 512), dtype=np.float32)
    edge[1] = 1.0  # one value everywhere
    edge[2, ::7] = -3.0  # one sign, a few values
    edge[3, 5] = 1e-20  # below ggml's "all zero" threshold
    edge[4] = rng.integers(-31, 32, 512)  # Q6_K's own grid
    edge[5, :16] = 60000.0  # near F16's largest
    outlier = gauss[:8].copy()
    outlier[:, 3] = 0.9  # one large value per row: a group's scale follows it
    return {"gaussian": gauss, "bf16": bf16, "edge": edge, "outlier": outlier}


@pytest.mark.parametrize("kind", ["gaussian", "bf16", "edge", "outlier"])
@pytest.mark.parametrize("qtype", [GGMLQuantizationType.Q6_K, GGMLQuantizationType.Q8_0])
def test_head_bytes_equal_ggml_and_llama_cpp_decodes_them(ggml: ctypes.CDLL, qtype: GGMLQuantizationType,
                                                          kind: str) -> None:
    x = rows()[kind]
    ours = quantize_q6_k(x) if qtype == GGMLQuantizationType.Q6_K else quants.quantize(x, qtype)
    assert np.array_equal(ours, ggml_quantize(ggml, qtype, x)), f"{qtype.name} bytes differ from ggml's"
    decoded = ggml_dequantize(ggml, qtype, ours, x.size).reshape(x.shape)
    assert np.array_equal(decoded, quants.dequantize(ours, qtype))
    scale = np.abs(x).max(axis=1, keepdims=True)
    assert np.all(np.abs(decoded - x) <= 0.04 * scale + 1e-12)


def test_encode_head_refuses_a_row_that_is_not_whole_blocks() -> None:
    with pytest.raises(ValueError):
        encode_head(np.ones((2, 100), dtype=np.float32), "q6_k")


@pytest.fixture(scope="module")
def falcon_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = R.Tiny(arch="llama", act="silu", tied=False, rope_theta=1000042.0)
    return R.packed_repo(tmp_path_factory.mktemp("head") / "falcon", R.make_truth(spec, 2), "bitlinear",
                         R.LLAMA3_TEMPLATE, True)


# F16 and Q8_0 pass the reference check; Q6_K loses more (tests/bench/test_head_bench.py: 44 of 48 cases pass,
# the worst at cosine 0.964 and top-1 87.5 %), so it is held to a looser bar that a wrong layout still fails by far.
BAR = {"f16": (COS, TOP1), "q8_0": (COS, TOP1), "q6_k": (0.95, 0.85)}


@pytest.mark.parametrize("head", list(HEAD_ENCODINGS))
def test_each_head_encoding_computes_what_the_checkpoint_computes(falcon_repo: Path, tmp_path: Path,
                                                                  head: str) -> None:
    out = convert_file(falcon_repo, tmp_path / f"{head}.gguf", head_encoding=head).path
    types = {t.name: t.type_name for t in read_header(out).tensors}
    assert types["token_embd.weight"] == types["output.weight"] == HEAD_ENCODINGS[head].name
    assert types["blk.0.ffn_down.weight"] == "TQ2_0"
    cos, top1 = ref.agreement(ref.engine_logits(out, TOKENS), ref.logits(ref.load_repo(falcon_repo), TOKENS))
    assert cos >= BAR[head][0] and top1 >= BAR[head][1], f"{head}: lowest cosine {cos:.4f}, top-1 {top1:.0%}"


def test_the_choice_is_recorded_and_an_unknown_one_refused(falcon_repo: Path, tern_home: Path) -> None:
    registry = Registry(Store(tern_home / "t.sqlite3"))
    v = convert_and_register(registry, falcon_repo, name="falcon", head_encoding="q8_0")
    conv = v.info["converted"]
    assert conv["head_encoding"] == "Q8_0" and conv["head_encoding_requested"] == "Q8_0"
    with pytest.raises(ConvertError, match="q4_k"):
        convert_and_register(registry, falcon_repo, name="other", head_encoding="q4_k")
    assert registry.find("other") is None
