"""A synthetic repo of BitNet b1.58 2B-4T's real dimensions, written tensor by tensor (it is ~1.2 GB).

Random packed ternary weights with bf16 weight_scale (AutoBitLinear, as microsoft/bitnet-b1.58-2B-4T
ships), bf16 embeddings and norms, the test tokenizer padded to 128,256 tokens. For benchmarks only.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from tests.support import ternary_repos as R

SHAPE_2B4T = R.Tiny(hidden=2560, intermediate=6912, layers=30, heads=20, kv_heads=5, vocab=128256, ctx=4096)
# every byte whose four 2-bit fields are valid codes (0, 1, 2)
_VALID_BYTES = np.array([a | b << 2 | c << 4 | d << 6 for a in range(3) for b in range(3) for c in range(3)
                         for d in range(3)], dtype=np.uint8)
CHUNK_ROWS = 4096


def _tensors(spec: R.Tiny) -> list[tuple[str, str, tuple[int, ...]]]:
    out = [("model.embed_tokens.weight", "BF16", (spec.vocab, spec.hidden)), ("model.norm.weight", "BF16",
                                                                            (spec.hidden,))]
    for i in range(spec.layers):
        p = f"model.layers.{i}."
        out += [(p + "input_layernorm.weight", "BF16", (spec.hidden,)),
                (p + "post_attention_layernorm.weight", "BF16", (spec.hidden,)),
                (p + "self_attn.attn_sub_norm.weight", "BF16", (spec.hidden,)),
                (p + "mlp.ffn_sub_norm.weight", "BF16", (spec.intermediate,))]
        for blk, names in R.LINEAR.items():
            for n in names:
                rows, cols = spec.out_in(n)
                out += [(f"{p}{blk}.{n}.weight", "U8", ((rows + 3) // 4, cols)),
                        (f"{p}{blk}.{n}.weight_scale", "BF16", (1,))]
    return out


def _bytes(name: str, dtype: str, shape: tuple[int, ...], rng: np.random.Generator) -> Iterator[bytes]:
    if dtype == "U8":
        yield _VALID_BYTES[rng.integers(0, 81, size=shape, dtype=np.uint8)].tobytes()
    elif name.endswith("weight_scale"):
        yield (np.array([0.05], dtype=np.float32).view(np.uint32) >> 16).astype("<u2").tobytes()
    elif len(shape) == 1:
        yield (np.ones(shape, dtype=np.float32).view(np.uint32) >> 16).astype("<u2").tobytes()
    else:
        for start in range(0, shape[0], CHUNK_ROWS):
            rows = min(CHUNK_ROWS, shape[0] - start)
            x = 0.02 * rng.standard_normal((rows, shape[1]), dtype=np.float32)
            yield (x.view(np.uint32) >> 16).astype("<u2").tobytes()


def write_2b4t_repo(folder: Path, spec: R.Tiny = SHAPE_2B4T, seed: int = 0,
                    progress: Callable[[float], None] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    items = _tensors(spec)
    sizes = {"BF16": 2, "U8": 1}
    header, offset = {}, 0
    for name, dtype, shape in items:
        n = int(np.prod(shape)) * sizes[dtype]
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    rng = np.random.default_rng(seed)
    with open(folder / "model.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head)
        for i, (name, dtype, shape) in enumerate(items):
            for block in _bytes(name, dtype, shape, rng):
                f.write(block)
            if progress:
                progress((i + 1) / len(items))
    tok = R.tokenizer()
    quant = {"quant_method": "bitnet", "linear_class": "autobitlinear", "quantization_mode": "offline"}
    (folder / "config.json").write_text(json.dumps(R.config(spec, tok, quant)), encoding="utf-8")
    R.write_tokenizer(folder, tok, R.BITNET_TEMPLATE)
    return folder
