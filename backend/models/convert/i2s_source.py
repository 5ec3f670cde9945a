"""An I2_S GGUF file as tensors and keys to stream out (see i2s.py for what is renamed and why)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGUFValueType

from backend.models.convert.errors import ConvertError, clean
from backend.models.convert.gguf_out import (
    HEAD_ENCODINGS,
    HEAD_TOLERANCE,
    ROW_CHUNK_BYTES,
    TARGETS,
    Output,
    OutTensor,
    encode_head,
    head_sample_rows,
    linear_tensors,
    write_provenance,
)
from backend.models.convert.gguf_read import GGUFFile, GTensor, read_bytes, read_gguf
from backend.models.convert.i2s import BITNET_2B_TEMPLATE, I2SPlan, _size, plan_i2s, rope_freqs_neutral
from backend.models.convert.packing import unpack_i2s
from backend.models.convert.plan import I2S, KIND_TEXT
from backend.models.convert.scales import TernaryWeight
from backend.models.convert.vocab import LLAMA_CPP_PRE, turn_end
from backend.models.convert.writer import GGUFStream
from backend.models.gguf_header import type_name

F16_MAX = 65504.0
SKIP_KEYS = {"general.architecture", "general.file_type", "general.quantization_version", "general.alignment",
             "general.name"}


def _read(path: Path, t: GTensor, n: int, start: int = 0) -> np.ndarray:
    with open(path, "rb") as f:
        return read_bytes(f, t.offset + start, n, path.name)


def _linear(path: Path, t: GTensor, source: str) -> Callable[[], TernaryWeight]:
    def produce() -> TernaryWeight:
        raw = _read(path, t, _size(t) or 0)
        try:
            codes, scale = unpack_i2s(raw, (t.shape[0], t.shape[1]))
        except ValueError as e:
            raise ConvertError(f"{source} (tensor {t.name})", f"its I2_S data is corrupt ({e})", code="bad_file") from e
        if not np.isfinite(scale) or scale == 0:
            raise ConvertError(f"{source} (tensor {t.name})", f"its I2_S scale {scale!r} is not usable",
                               code="bad_file")
        return TernaryWeight(codes, scale)
    return produce


FLOAT_TYPES = {0: np.float32, 1: np.float16}  # ggml type id → numpy; 30 (BF16) is widened by hand


def _floats(raw: np.ndarray, type_id: int) -> np.ndarray:
    if type_id == 30:
        return (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    return raw.view(FLOAT_TYPES[type_id]).astype(np.float32)


def _copy(path: Path, t: GTensor, head_encoding: str | None = None, source: str = "") -> OutTensor:
    """Copy a tensor's bytes as they are, or (a float embedding/head) re-encoded in `head_encoding`,
    a block of rows at a time."""
    size = _size(t) or 0
    rows = t.shape[0] if t.shape else 1
    per = size // max(1, rows)
    step = max(1, ROW_CHUNK_BYTES // max(1, per))

    def values(raw: np.ndarray) -> np.ndarray:
        v = _floats(raw, t.type_id).reshape(-1, t.shape[1])
        if not np.isfinite(v).all() or np.abs(v).max(initial=0) > F16_MAX:
            raise ConvertError(f"{source} (tensor {t.name})", "it holds values the output head's encoding cannot "
                               "store (NaN, infinite or beyond ±65504)", code="bad_file")
        return v

    def chunks() -> Iterator[np.ndarray]:
        for r in range(0, rows, step):
            raw = _read(path, t, (min(rows, r + step) - r) * per, r * per)
            yield raw if head_encoding is None else encode_head(values(raw), head_encoding)

    if head_encoding is None:
        return OutTensor(t.name, t.shape, t.type_id, chunks)
    n = head_sample_rows(rows)
    return OutTensor(t.name, t.shape, int(HEAD_ENCODINGS[head_encoding]), chunks,
                     sample=lambda: _floats(_read(path, t, n * per), t.type_id).reshape(n, -1),
                     tolerance=HEAD_TOLERANCE[head_encoding])


def _vocab_keys(g: GGUFFile, plan: I2SPlan, source: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Tokenizer keys to write (changed ones) and what was changed, for provenance."""
    tokens = list(g.get("tokenizer.ggml.tokens") or [])
    fixes: dict[str, Any] = {}
    model = g.get("tokenizer.ggml.model")
    pre = g.get("tokenizer.ggml.pre")
    if model == "gpt2":
        if pre == "falcon_e":  # bitnet.cpp's name for the tokenizer llama.cpp calls falcon-h1 (same hash)
            fixes["tokenizer.ggml.pre"] = "falcon-h1"
        elif not pre:
            if "<|begin_of_text|>" in tokens and "<|eot_id|>" in tokens:
                fixes["tokenizer.ggml.pre"] = "llama-bpe"
            elif tokens[:1] == [">>TITLE<<"]:
                fixes["tokenizer.ggml.pre"] = "falcon3"
            else:
                raise ConvertError(source, "its BPE vocabulary names no pre-tokenizer and Tern cannot tell which "
                                   "one it needs, so llama.cpp would split text wrongly", code="unknown_tokenizer")
        elif pre not in LLAMA_CPP_PRE:
            raise ConvertError(source, f"its pre-tokenizer {clean(pre, 40)!r} is unknown to llama.cpp",
                               code="unknown_tokenizer")
    template = g.get("tokenizer.chat_template")
    if plan.arch == "bitnet" and plan.act == "relu2" and "<|eot_id|>" in tokens:
        fixes["tokenizer.chat_template"] = template = BITNET_2B_TEMPLATE
    eot = turn_end(template, tokens)
    if eot is not None and "tokenizer.ggml.eot_token_id" not in g.kv:
        fixes["tokenizer.ggml.eot_token_id"] = eot
    return fixes, {k: (v if k != "tokenizer.chat_template" else "replaced (2B-4T prompt format)")
                   for k, v in fixes.items()}


def i2s_output(path: Path, source: str, target: str, head_encoding: str, name: str, version: str) -> Output:
    g = read_gguf(path)
    meta = {k: v.value for k, v in g.kv.items() if v.vtype != GGUFValueType.ARRAY}
    plan = plan_i2s(meta, g.tensors, g.size, source)
    if plan.problems:
        raise ConvertError(source, "its weights cannot be stored in TQ1_0/TQ2_0 blocks: " + "; ".join(plan.problems),
                           code="not_tq_encodable")
    src, hp = plan.src_arch, plan.hp
    head_dim = int(meta.get(f"{src}.rope.dimension_count") or hp["n_embd"] // hp["n_head"])
    theta = float(meta.get(f"{src}.rope.freq_base") or 10000.0)
    qtype = int(TARGETS[target])
    heads = {"attn_q": hp["n_head"], "attn_k": hp["n_head_kv"]}
    out: list[OutTensor] = []
    dropped: list[str] = []
    head_types: list[str] = []  # what the embedding/output tensors are written as
    for oname, t, role in plan.tensors:
        if role == "linear":
            perm = heads.get(oname.split(".")[2], 0) if plan.permute else 0
            out += linear_tensors(oname, (t.shape[0], t.shape[1]), qtype, _linear(path, t, source), perm, source)
        elif role == "rope":
            values = _read(path, t, _size(t) or 0).view(np.float32) if t.type_id == 0 else None
            if values is not None and rope_freqs_neutral(values, head_dim, theta):
                dropped.append(f"{t.name} (plain RoPE frequencies, which llama.cpp computes itself)")
            elif plan.arch == "llama" and t.type_id == 0:
                out.append(_copy(path, t))
            else:
                raise ConvertError(source, "it carries RoPE frequency factors that llama.cpp's bitnet graph would "
                                   "ignore", code="unsupported_model")
        elif role == "embedding" and t.type_id in (0, 1, 30) and len(t.shape) == 2:
            out.append(_copy(path, t, head_encoding, source))
            head_types.append(HEAD_ENCODINGS[head_encoding].name)
        else:  # norms; an embedding already quantized in the file is kept as it is
            out.append(_copy(path, t))
            if role == "embedding":
                head_types.append(type_name(t.type_id))
    fixes, changed = _vocab_keys(g, plan, source)

    def keys(w: GGUFStream) -> None:
        w.add_str("general.architecture", plan.arch)
        w.add_str("general.name", name)
        for key, item in g.kv.items():
            if key in SKIP_KEYS or key in fixes or key.endswith(".hidden_activation"):
                continue
            if key.startswith(src + "."):
                key = plan.arch + key[len(src):]
            w.add(key, item.vtype, item.value, item.subtype)
        for key, value in fixes.items():
            if isinstance(value, str):
                w.add_str(key, value)
            else:
                w.add_u32(key, value)
        if plan.arch == "bitnet" and plan.act != "silu":
            w.add_str("bitnet.hidden_activation", plan.act)
        write_provenance(w, target, I2S, source, version)

    info = {"kind": I2S, "kind_text": KIND_TEXT[I2S], "arch": plan.arch, "activation": plan.act,
            "source_architecture": src, "q_k_permuted": plan.permute, "metadata_changed": changed,
            "dropped_tensors": dropped, "head_encoding": "/".join(dict.fromkeys(head_types)) or None,
            "chat_template": bool(fixes.get("tokenizer.chat_template") or g.get("tokenizer.chat_template"))}
    return Output(I2S, plan.arch, out, keys, [path], info)
