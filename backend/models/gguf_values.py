"""What the header values Tern and llama.cpp read must be: their GGUF type and their range.

`check_metadata` runs as a file's key-value pairs are read (`gguf_header.parse_header`), so a wrong
value is refused there with the key named, and everything downstream (RAM fit, split parts, the verdict) gets
plain, valid numbers. The types are the ones llama.cpp insists on (`llama-model-loader.cpp` refuses a
key of another type; `gguf.cpp` refuses a `general.alignment` that is not a uint32 power of two).
"""

from __future__ import annotations

import math
from typing import Any

UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)
TYPE_NAMES = {
    UINT8: "an 8-bit unsigned integer", INT8: "an 8-bit integer", UINT16: "a 16-bit unsigned integer",
    INT16: "a 16-bit integer", UINT32: "a 32-bit unsigned integer", INT32: "a 32-bit integer",
    FLOAT32: "a 32-bit float", BOOL: "a boolean", STRING: "text", ARRAY: "an array",
    UINT64: "a 64-bit unsigned integer", INT64: "a 64-bit integer", FLOAT64: "a 64-bit float",
}
# llama.cpp hands sizes to its callers as int32 (llama_model_n_ctx_train, n_embd, n_layer): a uint32
# above this comes out negative there (llama-cpp-python then fails with "Array length must be >= 0").
INT32_MAX = 2**31 - 1

# Keys of the model's own architecture ("bitnet.context_length"): (type, smallest, largest, per-layer array ok).
# The smallest values are what llama.cpp needs to build any graph: 0 layers aborts it, and a key length
# of 0 trips an assertion in the attention graph.
ARCH_INTS: dict[str, tuple[int, int, int, bool]] = {
    "context_length": (UINT32, 1, INT32_MAX, False),
    "embedding_length": (UINT32, 1, INT32_MAX, False),
    "block_count": (UINT32, 1, INT32_MAX, False),
    "feed_forward_length": (UINT32, 0, INT32_MAX, True),
    "attention.head_count": (UINT32, 0, INT32_MAX, True),
    "attention.head_count_kv": (UINT32, 0, INT32_MAX, True),
    "attention.key_length": (UINT32, 1, INT32_MAX, False),
    "attention.value_length": (UINT32, 1, INT32_MAX, False),
    "vocab_size": (UINT32, 0, INT32_MAX, False),
}
# Float keys: (smallest, whether the smallest itself is allowed). NaN or a negative epsilon aborts llama.cpp
# in the middle of a reply (ops.cpp: GGML_ASSERT(eps >= 0)); a rope base that is not a positive number
# gives garbage.
ARCH_FLOATS: dict[str, tuple[float, bool]] = {
    "attention.layer_norm_rms_epsilon": (0.0, True),
    "attention.layer_norm_epsilon": (0.0, True),
    "rope.freq_base": (0.0, False),
}
GENERAL_INTS: dict[str, tuple[int, int, int]] = {
    "general.alignment": (UINT32, 1, 2**31),  # and a power of two
    "split.count": (UINT16, 0, 65535),
    "split.no": (UINT16, 0, 65535),
}
STRINGS = frozenset({"general.architecture", "general.name", "tokenizer.ggml.model", "tokenizer.ggml.pre",
                     "tokenizer.chat_template"})


class ValueProblem(Exception):
    """A header value of the wrong type or out of range; the message names the key."""


def check_metadata(metadata: dict[str, Any], types: dict[str, tuple[int, int | None]]) -> None:
    """Raise ValueProblem for the first value that is not what llama.cpp and Tern need.

    `types` maps each key to its GGUF type (and an array's element type); `metadata` holds the
    scalar values (arrays are not kept).
    """
    arch = metadata.get("general.architecture")
    if types.get("general.architecture", (STRING,))[0] == STRING and not arch:
        raise ValueProblem("the header names no architecture (general.architecture is missing)")
    for key, (vtype, elem_type) in types.items():
        _check(key, vtype, metadata.get(key), arch if isinstance(arch, str) else "", elem_type)


def _check(key: str, vtype: int, value: Any, arch: str, elem_type: int | None) -> None:
    sub = key[len(arch) + 1 :] if arch and key.startswith(arch + ".") else None
    if sub in ARCH_INTS:
        want, lo, hi, array_ok = ARCH_INTS[sub]
        if vtype == ARRAY and array_ok:
            if elem_type not in (UINT32, INT32):
                raise ValueProblem(f"{key} is an array of {_name(elem_type)}, not of 32-bit integers")
            return
        _int(key, vtype, value, want, lo, hi)
    elif sub in ARCH_FLOATS:
        lo, inclusive = ARCH_FLOATS[sub]
        if vtype != FLOAT32:
            raise ValueProblem(f"{key} is {_name(vtype)}, not a 32-bit float")
        if not math.isfinite(value) or value < lo or (value == lo and not inclusive):
            raise ValueProblem(f"{key} is {value}, not a {'non-negative' if inclusive else 'positive'} number")
    elif key in GENERAL_INTS:
        want, lo, hi = GENERAL_INTS[key]
        _int(key, vtype, value, want, lo, hi)
        if key == "general.alignment" and value & (value - 1):
            raise ValueProblem(f"general.alignment is {value}, not a power of two")
    elif key in STRINGS and vtype != STRING:
        raise ValueProblem(f"{key} is {_name(vtype)}, not text")


def _int(key: str, vtype: int, value: Any, want: int, lo: int, hi: int) -> None:
    if vtype != want:
        raise ValueProblem(f"{key} is {_name(vtype)}, not {TYPE_NAMES[want]}")
    if not lo <= value <= hi:
        raise ValueProblem(f"{key} is {value}, outside {lo}…{hi}")


def _name(vtype: int | None) -> str:
    return TYPE_NAMES.get(vtype, f"value type {vtype}") if vtype is not None else "unknown type"
