"""What both sources (safetensors folders, I2_S files) hand to the writer: keys and tensors to stream.

A converted model has TQ linear weights holding pure ternary codes (every block scale 1.0) and
the matrix's real scale in the one-number F32 tensor `blk.N.<name>.scale` next to it; llama.cpp
loads those optional tensors for every architecture and multiplies the matmul result by them
(llama-model.cpp, "generic pass: load optional per-tensor ... .scale tensors"; llama-graph.cpp
`build_lora_mm`). So the weights are exactly the checkpoint's — no f16 rounding of the scale —
and an F16 variant derived from the file holds the same numbers. Norms stay F32; embeddings and
a separate output head are F16 (`head_encoding`), never llama.cpp's TQ default of Q4_K.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gguf import GGMLQuantizationType, quants

from backend.models.convert.errors import ConvertError
from backend.models.convert.packing import encode_ternary, encode_values
from backend.models.convert.plan import HParams
from backend.models.convert.q6_k import quantize_q6_k
from backend.models.convert.scales import TernaryWeight
from backend.models.convert.writer import GGUFStream

TARGETS = {"tq2_0": GGMLQuantizationType.TQ2_0, "tq1_0": GGMLQuantizationType.TQ1_0}
ENCODING = {target: qtype.name for target, qtype in TARGETS.items()}  # "tq2_0" → "TQ2_0", the registry's name
FILE_TYPES = {"tq2_0": 37, "tq1_0": 36}  # llama.cpp's LLAMA_FTYPE_MOSTLY_TQ2_0 / TQ1_0
HEAD_ENCODINGS = {"f16": GGMLQuantizationType.F16, "q8_0": GGMLQuantizationType.Q8_0,
                  "q6_k": GGMLQuantizationType.Q6_K}
# The default, from tests/bench/test_head_bench.py on the 2-vCPU Zen 4: a 2B-4T-shaped model decodes 1.16× faster
# with a Q8_0 head than with F16 (Q6_K: 1.25×), and Q8_0 passed the reference check in 48 of 48 cases (8 formats ×
# 6 prompts) where Q6_K failed 4 (lowest cosine 0.964, top-1 87.5 %). So: the fastest head that always passes.
DEFAULT_HEAD = "q8_0"
# How far a head's decoded values may stray from the source (root-mean-square error over the rows' RMS):
# F16 rounds f32 (0.02 %), Q8_0 loses 0.5 %, Q6_K 1.8 % on Gaussian rows; a wrong layout gives ~140 %.
HEAD_TOLERANCE = {"f16": 1e-3, "q8_0": 0.01, "q6_k": 0.04}
ROW_CHUNK_BYTES = 32 << 20  # embeddings are converted this many bytes of rows at a time
HEAD_SAMPLE_ROWS = 64  # rows of the head decoded back and compared with the source after writing


@dataclass
class OutTensor:
    name: str
    shape: tuple[int, ...]  # numpy order
    qtype: int
    chunks: Callable[[], Iterator[np.ndarray | bytes]]  # produces the tensor's bytes, in order
    expected: Callable[[], np.ndarray] | None = None  # the float32 values the bytes must decode to (verify)
    sample: Callable[[], np.ndarray] | None = None  # a head's first rows as float32 in the source (verify)
    tolerance: float = 0.0  # how far `sample` may be from the decoded rows (relative RMS error)


@dataclass
class Output:
    kind: str
    arch: str
    tensors: list[OutTensor]
    write_keys: Callable[[GGUFStream], None]
    inputs: list[Any]  # the source files read (paths)
    info: dict[str, Any] = field(default_factory=dict)  # what the registry records about the conversion

    @property
    def n_params(self) -> int:
        return sum(int(np.prod(t.shape)) for t in self.tensors if not t.name.endswith(".scale"))


def permute_qk(t: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's row order for q/k in the `llama` graph (convert_hf_to_gguf.py LlamaModel.permute):
    Hugging Face rotates halves of each head; llama.cpp's rope rotates adjacent pairs."""
    rows = t.shape[0]
    return t.reshape(n_head, 2, rows // n_head // 2, *t.shape[1:]).swapaxes(1, 2).reshape(t.shape)


def write_hparams(w: GGUFStream, hp: HParams, name: str) -> None:
    a = hp.arch
    w.add_str("general.architecture", a)
    w.add_str("general.name", name)
    w.add_u32(f"{a}.vocab_size", hp.n_vocab)
    w.add_u32(f"{a}.context_length", hp.n_ctx)
    w.add_u32(f"{a}.embedding_length", hp.n_embd)
    w.add_u32(f"{a}.block_count", hp.n_layer)
    w.add_u32(f"{a}.feed_forward_length", hp.n_ff)
    w.add_u32(f"{a}.attention.head_count", hp.n_head)
    w.add_u32(f"{a}.attention.head_count_kv", hp.n_head_kv)
    w.add_u32(f"{a}.rope.dimension_count", hp.head_dim)
    if hp.head_dim * hp.n_head != hp.n_embd:
        w.add_u32(f"{a}.attention.key_length", hp.head_dim)
        w.add_u32(f"{a}.attention.value_length", hp.head_dim)
    w.add_f32(f"{a}.rope.freq_base", hp.rope_theta)
    w.add_f32(f"{a}.attention.layer_norm_rms_epsilon", hp.rms_eps)
    if a == "bitnet" and hp.act != "silu":
        w.add_str("bitnet.hidden_activation", hp.act)


def write_provenance(w: GGUFStream, target: str, kind: str, source: str, version: str) -> None:
    w.add_u32("general.file_type", FILE_TYPES[target])
    w.add_u32("general.quantization_version", 2)
    w.add_str("tern.converter.version", version)
    w.add_str("tern.converter.kind", kind)
    w.add_str("tern.converter.source", source)


def linear_tensors(name: str, out_in: tuple[int, int], qtype: int, produce: Callable[[], TernaryWeight],
                   permute_heads: int = 0, source: str = "") -> list[OutTensor]:
    """A linear weight and its `.scale` tensor. `produce` (run once, when the weight's turn comes)
    returns the codes and scale(s); q/k rows are put in llama.cpp's order when `permute_heads`.
    A weight whose every value is 0 is refused: no trained model has one, a damaged upload does."""
    box: dict[str, float] = {}

    def weight() -> Iterator[np.ndarray]:
        w = produce()
        if not w.t.any():
            raise ConvertError(source or name, f"its linear weight {name} is all zeros, which no trained model has: "
                               "the source is damaged", "Nothing was kept. Check the repo for a fixed upload "
                               "(for BitNet b1.58 2B-4T see microsoft/BitNet issue #608).", code="zero_weights")
        if permute_heads:
            w.t = permute_qk(w.t, permute_heads)
            if w.row_scale is not None:
                w.row_scale = permute_qk(w.row_scale, permute_heads)
        if w.row_scale is None:  # pure ternary, exact; the real scale goes to the .scale tensor
            box["scale"] = w.scale
            yield encode_ternary(w.t, GGMLQuantizationType(qtype))
        else:  # one magnitude per row: it becomes the rows' block scales (f16), no .scale needed
            box["scale"] = 1.0
            yield encode_values(w.values(), GGMLQuantizationType(qtype))

    def scale() -> Iterator[np.ndarray]:
        yield np.array([box["scale"]], dtype=np.float32)

    def expected() -> np.ndarray:  # what the TQ blocks must decode to, recomputed from the source
        w = produce()
        if permute_heads:
            w.t = permute_qk(w.t, permute_heads)
            w.row_scale = None if w.row_scale is None else permute_qk(w.row_scale, permute_heads)
        return w.t.astype(np.float32) if w.row_scale is None else w.values()

    return [OutTensor(name, out_in, qtype, weight, expected),
            OutTensor(name[: -len("weight")] + "scale", (1,), 0, scale)]


def float_rows(rows: int, row_bytes: int, read: Callable[[int, int], np.ndarray],
               convert: Callable[[np.ndarray], np.ndarray]) -> Callable[[], Iterator[np.ndarray]]:
    """Stream a big float tensor a block of rows at a time (read(start, stop) → convert → bytes)."""
    step = max(1, ROW_CHUNK_BYTES // max(1, row_bytes))

    def chunks() -> Iterator[np.ndarray]:
        for start in range(0, rows, step):
            yield convert(read(start, min(rows, start + step)))

    return chunks


def encode_head(values: np.ndarray, head_encoding: str) -> np.ndarray:
    """float32 rows of an embedding/output head → the bytes of `head_encoding` (f16, q8_0, q6_k)."""
    qtype = HEAD_ENCODINGS[head_encoding]
    if qtype == GGMLQuantizationType.F16:
        return values.astype(np.float16)
    if qtype == GGMLQuantizationType.Q6_K:
        return quantize_q6_k(values)
    return quants.quantize(np.ascontiguousarray(values, dtype=np.float32), qtype)


def head_sample_rows(rows: int) -> int:
    return min(rows, HEAD_SAMPLE_ROWS)
