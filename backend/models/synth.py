"""Synthetic ternary models: `bitnet`-architecture GGUFs with random ternary weights.

They exist to measure speed and memory (and to test Tern) without downloading anything: the
same seed gives the same ternary weights in F16, TQ2_0 and TQ1_0, so the encodings can be
compared fairly. Their replies are random words, and every place that shows one says so.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFWriter, quants

from backend.models import SYNTHETIC_LABEL

ARCH = "bitnet"
ENCODINGS = {
    "f16": GGMLQuantizationType.F16,
    "tq2_0": GGMLQuantizationType.TQ2_0,
    "tq1_0": GGMLQuantizationType.TQ1_0,
}
# llama.cpp's LLAMA_FTYPE values, written to general.file_type.
_FILE_TYPES = {"f16": 1, "tq1_0": 36, "tq2_0": 37}
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


@dataclass(frozen=True)
class Shape:
    name: str
    n_embd: int
    n_ff: int
    n_layer: int
    n_head: int
    n_vocab: int
    n_ctx: int = 2048
    paper_label: str = ""  # the BitNet b1.58 paper's size this shape stands for

    @property
    def n_params(self) -> int:
        per_layer = 4 * self.n_embd * self.n_embd + 3 * self.n_embd * self.n_ff
        return self.n_layer * per_layer + self.n_vocab * self.n_embd

    def file_bytes(self, encoding: str) -> int:
        """Approximate file size: linear weights in `encoding`, embeddings always F16."""
        block, size = GGML_QUANT_SIZES[ENCODINGS[encoding]]
        linear = self.n_params - self.n_vocab * self.n_embd
        return linear // block * size + self.n_vocab * self.n_embd * 2


# Published BitNet b1.58 sizes (arXiv 2402.17764, table 1) with dimensions rounded to multiples of
# 256 so every weight matrix can be stored in TQ1_0/TQ2_0 blocks; vocabulary as LLaMA's, 32000.
SHAPES: dict[str, Shape] = {
    s.name: s
    for s in (
        Shape("tiny", 256, 512, 2, 4, 512),
        Shape("demo", 1024, 2816, 12, 16, 32000),
        Shape("700M", 1536, 4096, 24, 16, 32000, paper_label="700M"),
        Shape("1.3B", 2048, 5376, 24, 32, 32000, paper_label="1.3B"),
        Shape("3B", 3328, 8704, 26, 32, 32000, paper_label="3B"),
    )
}


def vocabulary(n_vocab: int) -> tuple[list[str], list[float], list[int]]:
    """Specials, the 256 byte tokens, then made-up words, as a SentencePiece ("llama") vocabulary.

    The words make random replies read as words instead of stray bytes; the byte tokens let any
    prompt be tokenized.
    """
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3] + [6] * 256  # unknown, control, control, byte
    words = _words()
    while len(tokens) < n_vocab:
        tokens.append(next(words))
        types.append(1)
    scores = [0.0] * 259 + [-float(i) for i in range(len(tokens) - 259)]
    return tokens[:n_vocab], scores[:n_vocab], types[:n_vocab]


def _words() -> Iterator[str]:
    syllables = [c + v for c in "bdfghjklmnprstvwz" for v in "aeiou"]
    for n in itertools.count(1):
        for parts in itertools.product(syllables, repeat=n):
            word = "".join(parts)
            yield "\u2581" + word
            yield word


def _tensor_plan(shape: Shape) -> list[tuple[str, tuple[int, ...], bool]]:
    """(name, numpy shape, is_linear) in file order; linear weights carry the encoding."""
    e, f = shape.n_embd, shape.n_ff
    plan: list[tuple[str, tuple[int, ...], bool]] = [("token_embd.weight", (shape.n_vocab, e), False)]
    for i in range(shape.n_layer):
        b = f"blk.{i}."
        plan += [
            (b + "attn_norm.weight", (e,), False),
            (b + "attn_q.weight", (e, e), True),
            (b + "attn_k.weight", (e, e), True),
            (b + "attn_v.weight", (e, e), True),
            (b + "attn_output.weight", (e, e), True),
            (b + "attn_sub_norm.weight", (e,), False),
            (b + "ffn_norm.weight", (e,), False),
            (b + "ffn_gate.weight", (f, e), True),
            (b + "ffn_up.weight", (f, e), True),
            (b + "ffn_down.weight", (e, f), True),
            (b + "ffn_sub_norm.weight", (f,), False),
        ]
    plan.append(("output_norm.weight", (e,), False))
    return plan


def ternary_values(seed: int, index: int, tshape: tuple[int, ...]) -> np.ndarray:
    """The float32 values of tensor `index`: ternary × one F16-exact scale per matrix; norms ≈ 1."""
    rng = np.random.default_rng([seed, index])
    if len(tshape) == 1:
        return (1.0 + 0.05 * rng.standard_normal(tshape)).astype(np.float32)
    scale = np.float32(np.float16(1.0 / np.sqrt(tshape[1])))
    t = rng.integers(-1, 2, size=tshape, dtype=np.int8)
    return t.astype(np.float32) * scale


def _encode(values: np.ndarray, qtype: GGMLQuantizationType) -> np.ndarray:
    if qtype == GGMLQuantizationType.F16:
        return values.astype(np.float16)
    return quants.quantize(values, qtype)


def make_model(
    path: str | Path,
    shape: str | Shape = "tiny",
    encoding: str = "tq2_0",
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
    tensor_encodings: dict[str, str] | None = None,
) -> Path:
    """Write a synthetic `bitnet` GGUF; atomically (a temp file renamed into place).

    `tensor_encodings` overrides the encoding of single tensors by name (e.g. to store the
    embeddings in TQ2_0 too, or to make a file llama.cpp loads but cannot compute, for tests).
    """
    shp = SHAPES[shape] if isinstance(shape, str) else shape
    encoding = encoding.lower()
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; choose one of {', '.join(ENCODINGS)}")
    qtype = ENCODINGS[encoding]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")

    w = GGUFWriter(tmp, ARCH)
    w.add_name(f"Tern synthetic {shp.name} ({SYNTHETIC_LABEL})")
    w.add_description(SYNTHETIC_LABEL)
    w.add_file_type(_FILE_TYPES[encoding])
    w.add_uint32(f"{ARCH}.vocab_size", shp.n_vocab)
    w.add_uint32(f"{ARCH}.context_length", shp.n_ctx)
    w.add_uint32(f"{ARCH}.embedding_length", shp.n_embd)
    w.add_uint32(f"{ARCH}.block_count", shp.n_layer)
    w.add_uint32(f"{ARCH}.feed_forward_length", shp.n_ff)
    w.add_uint32(f"{ARCH}.attention.head_count", shp.n_head)
    w.add_uint32(f"{ARCH}.attention.head_count_kv", shp.n_head)
    w.add_float32(f"{ARCH}.attention.layer_norm_rms_epsilon", 1e-5)
    w.add_float32(f"{ARCH}.rope.freq_base", 10000.0)
    w.add_bool("tern.synthetic", True)
    w.add_string("tern.shape", shp.name)
    w.add_uint32("tern.seed", seed)
    tokens, scores, types = vocabulary(shp.n_vocab)
    w.add_string("tokenizer.ggml.model", "llama")
    w.add_array("tokenizer.ggml.tokens", tokens)
    w.add_array("tokenizer.ggml.scores", scores)
    w.add_array("tokenizer.ggml.token_type", types)
    w.add_uint32("tokenizer.ggml.unknown_token_id", 0)
    w.add_uint32("tokenizer.ggml.bos_token_id", 1)
    w.add_uint32("tokenizer.ggml.eos_token_id", 2)
    w.add_bool("tokenizer.ggml.add_bos_token", True)
    w.add_bool("tokenizer.ggml.add_eos_token", False)
    w.add_string("tokenizer.chat_template", CHAT_TEMPLATE)

    plan = _tensor_plan(shp)
    overrides = {k: ENCODINGS[v.lower()] for k, v in (tensor_encodings or {}).items()}
    types = []
    for name, tshape, linear in plan:
        t = qtype if linear else (GGMLQuantizationType.F16 if len(tshape) == 2 else GGMLQuantizationType.F32)
        t = overrides.get(name, t)
        types.append(t)
        block, size = GGML_QUANT_SIZES[t]
        nbytes = int(np.prod(tshape)) // block * size
        w.add_tensor_info(name, tshape, np.dtype(np.float32), nbytes, raw_dtype=t)

    try:
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_ti_data_to_file()
        total = sum(int(np.prod(s)) for _, s, _ in plan)
        done = 0
        for index, ((_name, tshape, _linear), t) in enumerate(zip(plan, types, strict=True)):
            values = ternary_values(seed, index, tshape)
            w.write_tensor_data(values if t == GGMLQuantizationType.F32 else _encode(values, t))
            done += values.size
            if progress:
                progress(done / total)
        w.close()
        os.replace(tmp, path)
    except BaseException:
        w.close()
        tmp.unlink(missing_ok=True)
        raise
    return path


def model_filename(shape: str, encoding: str, seed: int = 0) -> str:
    return f"tern-synthetic-{shape}-s{seed}-{encoding.upper()}.gguf"


def make_pair(
    folder: Path, shape: str = "demo", seed: int = 0, encodings: tuple[str, ...] = ("tq2_0", "f16"),
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, Path]:
    """A variant pair (or trio): the same seed in several encodings; existing files are kept."""
    out: dict[str, Path] = {}
    for enc in encodings:
        path = folder / model_filename(shape, enc, seed)
        if not path.exists():
            make_model(path, shape, enc, seed, (lambda f, e=enc: progress(e, f)) if progress else None)
        out[enc] = path
    return out
