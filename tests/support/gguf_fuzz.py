"""A corpus of damaged GGUF files, made at test time from a real synthetic model with a fixed seed.

Each case is (name, bytes): the tiny TQ2_0 model with one thing wrong — a header value out of range,
a value of the wrong type, a structural field that lies (counts, lengths, dimensions, offsets), random
bytes, a truncation, or NaN/inf scales in the tensor data. The layout reader here is independent of
`backend.models.gguf_header` (it only needs to understand the synthetic file it was given), so a bug in
the parser under test cannot hide a case.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass

ARCH = "bitnet"
_SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
NAN32 = struct.pack("<f", float("nan"))
INF32 = struct.pack("<f", float("inf"))


@dataclass
class Entry:
    key: str
    vtype: int
    payload: bytes  # everything after the type field (for an array: element type, count, values)
    start: int  # offset of the key's length field in the original file
    value_at: int  # offset of the payload in the original file


@dataclass
class TensorEntry:
    name: str
    start: int
    dims_at: int  # offset of n_dims
    type_at: int
    offset_at: int
    shape: tuple[int, ...]
    type_id: int
    offset: int


@dataclass
class Layout:
    data: bytes
    entries: list[Entry]
    tensors: list[TensorEntry]
    kv_end: int
    header_end: int
    data_start: int

    def entry(self, key: str) -> Entry:
        return next(e for e in self.entries if e.key == key)


def read_layout(data: bytes) -> Layout:
    pos = 24
    n_tensors, n_kv = struct.unpack_from("<QQ", data, 8)

    def string(p: int) -> tuple[str, int]:
        (n,) = struct.unpack_from("<Q", data, p)
        return data[p + 8 : p + 8 + n].decode(), p + 8 + n

    def value_end(vtype: int, p: int) -> int:
        if vtype in _SCALAR:
            return p + struct.calcsize("<" + _SCALAR[vtype])
        if vtype == STR:
            return string(p)[1]
        etype, count = struct.unpack_from("<IQ", data, p)
        p += 12
        for _ in range(count):
            p = value_end(etype, p)
        return p

    entries = []
    for _ in range(n_kv):
        start = pos
        key, pos = string(pos)
        (vtype,) = struct.unpack_from("<I", data, pos)
        end = value_end(vtype, pos + 4)
        entries.append(Entry(key, vtype, data[pos + 4 : end], start, pos + 4))
        pos = end
    kv_end = pos
    tensors = []
    for _ in range(n_tensors):
        start = pos
        name, pos = string(pos)
        dims_at = pos
        (n_dims,) = struct.unpack_from("<I", data, pos)
        shape = struct.unpack_from(f"<{n_dims}Q", data, pos + 4)
        pos += 4 + 8 * n_dims
        type_id, offset = struct.unpack_from("<IQ", data, pos)
        tensors.append(TensorEntry(name, start, dims_at, pos, pos + 4, shape, type_id, offset))
        pos += 12
    return Layout(data, entries, tensors, kv_end, pos, (pos + 31) // 32 * 32)


def _str(s: str | bytes) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def rebuild(lay: Layout, replace: dict[str, tuple[int, bytes] | None] | None = None,
            add: list[tuple[str, int, bytes]] | None = None) -> bytes:
    """The file with some key-value pairs replaced (None removes one) or added; tensor data re-aligned to 32."""
    replace = replace or {}
    kvs = []
    for e in lay.entries:
        new = replace.get(e.key, (e.vtype, e.payload))
        if new is not None:
            kvs.append((e.key, *new))
    kvs += add or []
    out = bytearray(lay.data[:8])
    out += struct.pack("<QQ", len(lay.tensors), len(kvs))
    for key, vtype, payload in kvs:
        out += _str(key) + struct.pack("<I", vtype) + payload
    out += lay.data[lay.kv_end : lay.header_end]
    out += b"\0" * (-len(out) % 32)
    out += lay.data[lay.data_start :]
    return bytes(out)


def patched(data: bytes, at: int, fmt: str, *values: object) -> bytes:
    out = bytearray(data)
    struct.pack_into("<" + fmt, out, at, *values)
    return bytes(out)


def value_cases(lay: Layout) -> Iterator[tuple[str, bytes]]:
    """In-place changes of numeric values: the file stays well-formed, the numbers are wrong."""
    ints = [f"{ARCH}.{k}" for k in ("context_length", "embedding_length", "block_count", "feed_forward_length",
                                    "attention.head_count", "attention.head_count_kv", "vocab_size")]
    ints += ["general.file_type", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"]
    for key in ints:
        e = lay.entry(key)
        for v in (0, 0xFFFFFFFF, 1 << 31):
            yield f"value {key}={v}", patched(lay.data, e.value_at, "I", v)
    for key in (f"{ARCH}.attention.layer_norm_rms_epsilon", f"{ARCH}.rope.freq_base"):
        e = lay.entry(key)
        for label, raw in (("nan", NAN32), ("inf", INF32), ("-1", struct.pack("<f", -1.0)), ("0", b"\0" * 4)):
            out = bytearray(lay.data)
            out[e.value_at : e.value_at + 4] = raw
            yield f"value {key}={label}", bytes(out)


def type_cases(lay: Layout) -> Iterator[tuple[str, bytes]]:
    """A key with a value of the wrong type (or a value llama.cpp reads specially), header rebuilt around it."""
    wrong_for_int = [
        ("string", STR, _str("abc")), ("f32 NaN", F32, NAN32), ("f32 inf", F32, INF32),
        ("f64 1e300", F64, struct.pack("<d", 1e300)), ("i64 -1", I64, struct.pack("<q", -1)),
        ("bool", BOOL, b"\1"), ("array", ARR, struct.pack("<IQ", U32, 2) + struct.pack("<II", 7, 7)),
    ]
    for key in ("context_length", "embedding_length", "block_count", "attention.head_count",
                "attention.head_count_kv"):
        for label, vtype, payload in wrong_for_int:
            yield f"type {ARCH}.{key} as {label}", rebuild(lay, {f"{ARCH}.{key}": (vtype, payload)})
    for label, vtype, payload in (("string", STR, _str("64")), ("f32 NaN", F32, NAN32), ("u32 0", U32, b"\0" * 4),
                                  ("u32 32", U32, struct.pack("<I", 32))):
        yield f"added {ARCH}.attention.key_length as {label}", rebuild(
            lay, add=[(f"{ARCH}.attention.key_length", vtype, payload)])
    for label, vtype, payload in (("string", STR, _str("2")), ("u16 0", U16, b"\0\0"), ("u16 65535", U16, b"\xff\xff"),
                                  ("f32 NaN", F32, NAN32)):
        yield f"added split.count as {label}", rebuild(lay, add=[("split.count", vtype, payload)])
    for label, vtype, payload in (("string", STR, _str("32")), ("u32 0", U32, struct.pack("<I", 0)),
                                  ("u32 3", U32, struct.pack("<I", 3)), ("u32 2^31", U32, struct.pack("<I", 1 << 31)),
                                  ("u64 64", U64, struct.pack("<Q", 64))):
        yield f"added general.alignment as {label}", rebuild(lay, add=[("general.alignment", vtype, payload)])
    for key in ("general.architecture", "tokenizer.ggml.model", "tokenizer.chat_template", "general.name"):
        yield f"type {key} as u32", rebuild(lay, {key: (U32, struct.pack("<I", 7))})
    yield "missing general.architecture", rebuild(lay, {"general.architecture": None})
    yield "missing tokenizer.ggml.tokens", rebuild(lay, {"tokenizer.ggml.tokens": None})
    yield "architecture llama2000", rebuild(lay, {"general.architecture": (STR, _str("llama2000"))})
    yield "name with escape sequences", rebuild(
        lay, {"general.name": (STR, _str(b"\x1b[2J\x1b]0;pwned\x07evil\x9b31m\xff\xfe name"))})
    yield "tokens array claims 2^62 strings", rebuild(
        lay, {"tokenizer.ggml.tokens": (ARR, struct.pack("<IQ", STR, 1 << 62) + lay.entry(
            "tokenizer.ggml.tokens").payload[12:])})
    yield "scores array claims 2^61 floats", rebuild(
        lay, {"tokenizer.ggml.scores": (ARR, struct.pack("<IQ", F32, 1 << 61) + lay.entry(
            "tokenizer.ggml.scores").payload[12:])})


def structure_cases(lay: Layout) -> Iterator[tuple[str, bytes]]:
    """Counts, lengths, dimensions, types and offsets that lie."""
    d = lay.data
    yield "version 1", patched(d, 4, "I", 1)
    yield "n_tensors 2^63", patched(d, 8, "Q", 1 << 63)
    yield "n_tensors 0", patched(d, 8, "Q", 0)
    yield "n_tensors +1", patched(d, 8, "Q", len(lay.tensors) + 1)
    yield "n_kv 2^64-1", patched(d, 16, "Q", (1 << 64) - 1)
    yield "n_kv +1", patched(d, 16, "Q", len(lay.entries) + 1)
    first = lay.entries[0]
    yield "key length 2^63", patched(d, first.start, "Q", 1 << 63)
    name = lay.entry("general.name")
    yield "string value length 2^64-1", patched(d, name.value_at, "Q", (1 << 64) - 1)
    yield "string value length past the file", patched(d, name.value_at, "Q", len(d))
    yield "value type 13", patched(d, name.value_at - 4, "I", 13)
    yield "value type 2^31", patched(d, name.value_at - 4, "I", 1 << 31)
    toks = lay.entry("tokenizer.ggml.tokens")
    yield "array element type 13", patched(d, toks.value_at, "I", 13)
    yield "array element type array", patched(d, toks.value_at, "I", ARR)
    scores = lay.entry("tokenizer.ggml.scores")
    yield "scores count 2^63 (seek past 2^64)", patched(d, scores.value_at + 4, "Q", 1 << 63)
    yield "scores count 2^64-1", patched(d, scores.value_at + 4, "Q", (1 << 64) - 1)
    q = next(t for t in lay.tensors if t.name == "blk.0.attn_q.weight")
    out = lay.tensors[-1]
    yield "tensor n_dims 5", patched(d, q.dims_at, "I", 5)
    yield "tensor n_dims 2^32-1", patched(d, q.dims_at, "I", 0xFFFFFFFF)
    yield "tensor dim 0", patched(d, q.dims_at + 4, "Q", 0)
    yield "tensor dim 2^63-1", patched(d, q.dims_at + 4, "Q", (1 << 63) - 1)
    yield "tensor dim 2^64-1 (-1 as int64)", patched(d, q.dims_at + 4, "Q", (1 << 64) - 1)
    yield "tensor dims overflow int64", patched(patched(d, q.dims_at + 4, "Q", 1 << 40), q.dims_at + 12, "Q", 1 << 40)
    yield "tensor row not a multiple of its block", patched(d, q.dims_at + 4, "Q", 255)
    yield "tensor type 36 (I2_S)", patched(d, q.type_at, "I", 36)
    yield "tensor type 99", patched(d, q.type_at, "I", 99)
    yield "tensor type 2^31", patched(d, q.type_at, "I", 1 << 31)
    yield "tensor type F32 (size mismatch)", patched(d, q.type_at, "I", 0)
    yield "tensor offset 2^64-1", patched(d, q.offset_at, "Q", (1 << 64) - 1)
    yield "tensor offset unaligned", patched(d, q.offset_at, "Q", q.offset + 1)
    yield "tensor offset past the end", patched(d, out.offset_at, "Q", len(d))
    yield "last tensor offset 2^62", patched(d, out.offset_at, "Q", 1 << 62)
    yield "tensor name length 2^40", patched(d, q.start, "Q", 1 << 40)
    dup = bytearray(d)
    other = lay.tensors[3]
    dup[other.start + 8 : other.dims_at] = d[q.start + 8 : q.dims_at][: other.dims_at - other.start - 8].ljust(
        other.dims_at - other.start - 8, b"x")
    yield "tensor name changed (missing tensor)", bytes(dup)
    k = lay.tensors[3]
    yield "tensor name length off by one", patched(d, k.start, "Q", k.dims_at - k.start - 8 + 1)


def random_byte_cases(lay: Layout, rng: random.Random, n: int) -> Iterator[tuple[str, bytes]]:
    """A few random bytes overwritten somewhere in the header."""
    for i in range(n):
        out = bytearray(lay.data)
        spots = sorted(rng.randrange(0, lay.header_end) for _ in range(rng.choice((1, 2, 4, 8))))
        for s in spots:
            out[s] = rng.randrange(256)
        yield f"random bytes #{i} at {spots}", bytes(out)


def truncation_cases(lay: Layout, rng: random.Random, n: int) -> Iterator[tuple[str, bytes]]:
    d = lay.data
    cuts = [0, 3, 4, 8, 20, lay.kv_end, lay.header_end, lay.data_start, (lay.data_start + len(d)) // 2, len(d) - 1]
    cuts += sorted(rng.randrange(24, lay.header_end) for _ in range(n))
    for c in cuts:
        yield f"truncated at {c}", d[:c]


def scale_cases(lay: Layout) -> Iterator[tuple[str, bytes]]:
    """NaN or inf in the tensor data: TQ2_0 block scales (the f16 after each block's 64 bytes) and F32 norms."""
    nan16, inf16 = struct.pack("<e", float("nan")), struct.pack("<e", float("inf"))
    q = next(t for t in lay.tensors if t.name == "blk.0.attn_q.weight")
    base = lay.data_start + q.offset
    n_blocks = q.shape[0] * q.shape[1] // 256
    for label, raw, every in (("NaN", nan16, 1), ("inf", inf16, 1), ("NaN", nan16, 7)):
        out = bytearray(lay.data)
        for b in range(0, n_blocks, every):
            out[base + b * 66 + 64 : base + b * 66 + 66] = raw
        yield f"TQ2_0 scales {label} in every {every}th block of {q.name}", bytes(out)
    norm = next(t for t in lay.tensors if t.name == "output_norm.weight")
    out = bytearray(lay.data)
    at = lay.data_start + norm.offset
    out[at : at + 4 * norm.shape[0]] = NAN32 * norm.shape[0]
    yield "output_norm all NaN", bytes(out)


def corpus(model: bytes, seed: int = 11) -> list[tuple[str, bytes]]:
    """Every case, in a fixed order (the seed fixes the random ones)."""
    lay = read_layout(model)
    rng = random.Random(seed)
    cases = [*value_cases(lay), *type_cases(lay), *structure_cases(lay), *random_byte_cases(lay, rng, 30),
             *truncation_cases(lay, rng, 6), *scale_cases(lay)]
    names = [n for n, _ in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return cases
