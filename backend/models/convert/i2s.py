"""bitnet.cpp I2_S GGUF files → the same weights in TQ2_0/TQ1_0 for mainline llama.cpp.

I2_S (microsoft/BitNet `src/ggml-bitnet-mad.cpp`) stores each weight matrix as 2-bit codes plus one
float32 scale: ternary with one scale per tensor, exactly what TQ2_0 with a `.scale` tensor holds.
The architectures bitnet.cpp writes are renamed to what mainline reads:
- `bitnet-25` and `bitnet-b1.58`/`bitnet-1.58` with sub-norms (BitNet b1.58 2B-4T; bitnet.cpp renamed the
  first to the second in April 2025) → `bitnet` with ReLU² (`bitnet.hidden_activation = relu2`);
- `bitnet` (1bitLLM's models, sub-norms, SiLU) → `bitnet`;
- `bitnet-b1.58`/`bitnet-1.58` without sub-norms (Falcon3/Falcon-E, written in Hugging Face row order)
  → `llama`, q/k rows permuted for llama.cpp's rope; a `llama` file is already in llama.cpp's order.
TL1/TL2 files (bitnet.cpp's lookup-table layouts, made for one CPU kind) are refused by their
metadata: their type ids collide with mainline's (39 is MXFP4 there).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from backend.models.convert.errors import ConvertError, clean
from backend.models.convert.gguf_read import GTensor
from backend.models.convert.packing import i2s_nbytes
from backend.models.gguf_header import GGML_TYPES

I2S_TYPE, I8S_TYPE, TL1_TYPE, TL2_TYPE = 36, 37, 38, 39
BITNET_CPP_ARCHS = ("bitnet-25", "bitnet-b1.58", "bitnet-1.58", "bitnet")
LINEAR_RE = re.compile(r"^blk\.\d+\.(attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down)\.weight$")
SUB_NORM_RE = re.compile(r"^blk\.\d+\.(attn_sub_norm|ffn_sub_norm)\.weight$")
BITNET_OTHER_RE = re.compile(r"^(token_embd|output_norm)\.weight$|^blk\.\d+\.(attn_norm|ffn_norm)\.weight$")
# 2B-4T's prompt format (transformers' BitNet docs; ik_llama.cpp#339): the template inside the
# published I2_S GGUF is a broken placeholder, so the converter writes this one instead.
BITNET_2B_TEMPLATE = (
    "{% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}"
    "{% if message['role'] == 'system' %}{{ 'System: ' + message['content'] + '<|eot_id|>' }}"
    "{% elif message['role'] == 'user' %}{{ 'User: ' + message['content'] + '<|eot_id|>' }}"
    "{% elif message['role'] == 'assistant' %}{{ 'Assistant: ' + message['content'] + '<|eot_id|>' }}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}"
)


@dataclass
class I2SPlan:
    source: str
    src_arch: str
    arch: str
    act: str
    permute: bool
    hp: dict[str, Any]
    tensors: list[tuple[str, GTensor, str]]  # output name, source tensor, role
    dropped: list[str] = field(default_factory=list)  # tensors left out, with the reason
    problems: list[str] = field(default_factory=list)


def _size(t: GTensor) -> int | None:
    n = 1
    for d in t.shape:
        n *= d
    if t.type_id == I2S_TYPE:
        return i2s_nbytes(n)
    known = GGML_TYPES.get(t.type_id)
    return None if known is None else n // known[1] * known[2]


def is_i2s_file(meta: Mapping[str, Any], tensors: list[GTensor]) -> bool:
    return any(t.type_id == I2S_TYPE for t in tensors) or str(meta.get("general.architecture")) in BITNET_CPP_ARCHS


def _refuse_lut_layouts(meta: Mapping[str, Any], tensors: list[GTensor], source: str) -> None:
    ftype = meta.get("general.file_type")
    lut = [t for t in tensors if t.type_id in (TL1_TYPE, TL2_TYPE)] or [t for t in tensors if t.name.endswith("_scale")]
    if lut or ftype in (TL1_TYPE, TL2_TYPE):
        which = "TL1" if (lut and lut[0].type_id == TL1_TYPE) or ftype == TL1_TYPE else "TL2"
        raise ConvertError(source, f"it is in bitnet.cpp's {which} layout, a lookup-table format made for one kind "
                           "of CPU that Tern cannot read back", "Use the repo's I2_S file (ggml-model-i2_s.gguf).",
                           code="unsupported_type")
    if any(t.type_id == I8S_TYPE for t in tensors):
        raise ConvertError(source, "it holds bitnet.cpp I8_S tensors, which Tern cannot convert",
                           code="unsupported_type")


def _check_extents(tensors: list[GTensor], file_size: int, source: str) -> None:
    spans = sorted(tensors, key=lambda t: t.offset)
    for i, t in enumerate(spans):
        size = _size(t)
        if size is None:
            raise ConvertError(source, f"tensor {clean(t.name)} has type {t.type_id}, which Tern does not know",
                               code="unsupported_type")
        limit = spans[i + 1].offset if i + 1 < len(spans) else file_size
        if t.offset + size > limit:
            what = "the next tensor" if i + 1 < len(spans) else "the end of the file"
            kind = "I2_S " if t.type_id == I2S_TYPE else ""
            raise ConvertError(source, f"{kind}tensor {clean(t.name)} of shape {list(t.shape)} needs {size:,} "
                               f"bytes but only {max(0, limit - t.offset):,} lie before {what} "
                               "(truncated, or the shape lies)",
                               code="bad_file")


def plan_i2s(meta: Mapping[str, Any], tensors: list[GTensor], file_size: int, source: str) -> I2SPlan:
    """Check an I2_S file's header (metadata scalars and tensor table) and plan its conversion."""
    src = str(meta.get("general.architecture", ""))
    if not is_i2s_file(meta, tensors):
        raise ConvertError(source, "it is not a bitnet.cpp I2_S file", "A GGUF llama.cpp already runs needs no "
                           "conversion: add it with `tern models import`.", code="not_i2s")
    if src not in (*BITNET_CPP_ARCHS, "llama"):
        raise ConvertError(source, f"its architecture {clean(src, 40)!r} is not one bitnet.cpp writes for these models",
                           code="unsupported_model")
    _refuse_lut_layouts(meta, tensors, source)
    _check_extents(tensors, file_size, source)

    def key(name: str, default: Any = None) -> Any:
        v = meta.get(f"{src}.{name}", default)
        if v is None:
            raise ConvertError(source, f"its metadata lacks {src}.{name}", code="bad_file")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise ConvertError(source, f"its {src}.{name} is {clean(v, 30)!r}, not a positive number", code="bad_file")
        return v

    n_head = int(key("attention.head_count"))
    hp = {"n_embd": int(key("embedding_length")), "n_ff": int(key("feed_forward_length")),
          "n_layer": int(key("block_count")), "n_head": n_head,
          "n_head_kv": int(key("attention.head_count_kv", n_head)),
          "rms_eps": float(key("attention.layer_norm_rms_epsilon"))}
    if n_head % hp["n_head_kv"] or hp["n_embd"] % n_head:
        raise ConvertError(source, f"its {n_head} heads, {hp['n_head_kv']} KV heads and width {hp['n_embd']} do not "
                           "fit together", code="bad_file")
    sub_norms = any(SUB_NORM_RE.match(t.name) for t in tensors)
    arch = "bitnet" if sub_norms else "llama"
    act = str(meta.get(f"{src}.hidden_activation") or ("silu" if src in ("bitnet", "llama") else "relu2"))
    if arch == "llama":
        act = "silu"
    plan = I2SPlan(source, src, arch, act, permute=(arch == "llama" and src != "llama"), hp=hp, tensors=[])
    for t in tensors:
        role = ("linear" if LINEAR_RE.match(t.name)
                else "embedding" if t.name in ("token_embd.weight", "output.weight") else "other")
        if role == "linear":
            if t.type_id != I2S_TYPE:
                raise ConvertError(source, f"linear weight {clean(t.name)} is not I2_S (type {t.type_id})",
                                   code="bad_file")
            if len(t.shape) != 2 or t.shape[1] % 256:
                plan.problems.append(f"{t.name} has input size {t.shape[-1]}, not a multiple of 256")
        elif t.type_id == I2S_TYPE:
            raise ConvertError(source, f"tensor {clean(t.name)} is I2_S but is not a linear weight", code="bad_file")
        if arch == "bitnet" and t.name == "output.weight":
            raise ConvertError(source, "it has its own output head, but llama.cpp's bitnet graph always uses the token "
                               "embeddings as the head", code="unsupported_model")
        if t.name == "rope_freqs.weight":
            role = "rope"  # kept, dropped or refused by its values (see rope_freqs_neutral)
        elif arch == "bitnet" and role == "other" and not (SUB_NORM_RE.match(t.name) or BITNET_OTHER_RE.match(t.name)):
            raise ConvertError(source, f"tensor {clean(t.name)} has no place in llama.cpp's bitnet graph",
                               code="unexpected_tensor")
        plan.tensors.append((t.name, t, role))
    return plan


def rope_freqs_neutral(values: Any, head_dim: int, theta: float) -> bool:
    """A stored rope_freqs tensor that changes nothing: all ones (llama.cpp reads it as per-dimension
    factors), or the plain RoPE frequencies themselves (what bitnet.cpp's 2B-4T converter computes)."""
    import numpy as np

    got = np.asarray(values, dtype=np.float64).reshape(-1)
    plain = 1.0 / (theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    return bool(np.allclose(got, 1.0)) or (got.shape == plain.shape and bool(np.allclose(got, plain, rtol=1e-4)))
