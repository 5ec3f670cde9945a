"""Read a GGUF file's header (metadata and tensor table) without loading its tensors.

The parser reads through a `ByteSource`, so the same code inspects a local file and a file on the
Hub fetched by HTTP range requests (`backend.hub`). Big numeric arrays (token scores and types)
are skipped, never read; string arrays are walked but not kept.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from backend.models.gguf_values import ARRAY, STRING, ValueProblem, check_metadata
from backend.text import printable

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
# bitnet.cpp's own ggml fork numbers its I2_S format 36; mainline llama.cpp has no type 36.
I2_S_TYPE = 36
TERNARY_TYPES = {"TQ1_0", "TQ2_0"}

# ggml tensor types this llama.cpp build knows: id -> (name, block size, bytes per block). A table
# here, not gguf's enum, so inspecting a header needs neither numpy nor gguf (start-up time).
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20), 6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 40), 10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74), 18: ("IQ3_XXS", 256, 98), 19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110), 22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1), 25: ("I16", 1, 2), 26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56), 30: ("BF16", 1, 2), 34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17), 40: ("NVFP4", 64, 36), 41: ("Q1_0", 128, 18),
}

_SCALAR = {  # GGUF value type -> struct format
    0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d",
}
GGML_MAX_DIMS = 4
GGML_MAX_NAME = 64  # a tensor name must be shorter (ggml.h)
INT64_MAX = 2**63 - 1
# No header reaches this far; a count or length that points past it is corrupt, not a big file.
MAX_HEADER_END = 1 << 40
MAX_STRINGS = 1 << 24  # the largest vocabularies and merge lists hold a few hundred thousand
# Multi-line metadata text (a template, a licence) keeps its newlines; everything else is one line.
_MULTILINE_KEYS = ("tokenizer.chat_template", "general.license", "general.description")


class HeaderError(Exception):
    """The bytes are not a readable GGUF header; `reason` is a short phrase for a user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NeedMoreData(Exception):
    """The source ended before the header did (a truncated file, or a partial download)."""

    def __init__(self, needed_end: int) -> None:
        super().__init__(f"header continues past byte {needed_end}")
        self.needed_end = needed_end


class ByteSource(Protocol):
    def read_at(self, offset: int, size: int) -> bytes:
        """Up to `size` bytes from `offset`; fewer only at the end of the source."""
        ...


class FileSource:
    def __init__(self, path: Path) -> None:
        self._f = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.size: int | None = os.fstat(self._f.fileno()).st_size

    def read_at(self, offset: int, size: int) -> bytes:
        self._f.seek(offset)
        return self._f.read(size)

    def close(self) -> None:
        self._f.close()


@dataclass
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    type_id: int
    offset: int  # relative to the start of tensor data
    info_offset: int  # where this entry's type field sits in the file (used by tests to corrupt it)

    @property
    def type_name(self) -> str:
        return type_name(self.type_id)

    @property
    def n_elements(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int | None:
        known = GGML_TYPES.get(self.type_id)
        if known is None:
            return None
        _, block, size = known
        return self.n_elements // block * size


@dataclass
class GGUFHeader:
    version: int
    metadata: dict[str, Any]
    array_lengths: dict[str, int]
    tensors: list[TensorInfo]
    header_end: int
    data_start: int

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture") or "unknown")

    def arch_value(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(f"{self.architecture}.{key}", default)

    def arch_int(self, key: str) -> int | None:
        """A whole-number value of the architecture's (checked at parse time), or None if absent or an array."""
        v = self.arch_value(key)
        return v if isinstance(v, int) and not isinstance(v, bool) else None

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name") or "")

    @property
    def context_length(self) -> int | None:
        return self.arch_int("context_length")

    @property
    def n_params(self) -> int:
        return sum(t.n_elements for t in self.tensors)

    @property
    def chat_template(self) -> str | None:
        v = self.metadata.get("tokenizer.chat_template")
        return str(v) if v else None

    @property
    def split_count(self) -> int:
        v = self.metadata.get("split.count")  # a uint16, checked at parse time
        return v if isinstance(v, int) and v > 1 else 1

    @property
    def data_bytes(self) -> int | None:
        """Bytes of tensor data this file must hold, or None if a tensor type is unknown."""
        end = 0
        for t in self.tensors:
            n = t.nbytes
            if n is None:
                return None
            end = max(end, t.offset + n)
        return end

    @property
    def expected_file_size(self) -> int | None:
        n = self.data_bytes
        return None if n is None else self.data_start + n

    def type_counts(self) -> dict[str, int]:
        """Tensor encodings by number of parameters they hold, largest first."""
        counts: dict[str, int] = {}
        for t in self.tensors:
            counts[t.type_name] = counts.get(t.type_name, 0) + t.n_elements
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))

    @property
    def encoding(self) -> str:
        """The encoding of the bulk of the weights (what a person calls the file's quantization)."""
        big = [t for t in self.tensors if len(t.shape) >= 2 and not t.name.startswith("token_embd")]
        counts: dict[str, int] = {}
        for t in big or self.tensors:
            counts[t.type_name] = counts.get(t.type_name, 0) + t.n_elements
        return max(counts, key=counts.__getitem__) if counts else "unknown"

    @property
    def unknown_types(self) -> list[int]:
        return sorted({t.type_id for t in self.tensors if not is_known_type(t.type_id)})


def is_known_type(type_id: int) -> bool:
    return type_id in GGML_TYPES


def type_name(type_id: int) -> str:
    if type_id == I2_S_TYPE:
        return "I2_S"
    known = GGML_TYPES.get(type_id)
    return known[0] if known else f"type {type_id}"


class _Cursor:
    """Reads little-endian values in order; every length and count from the file is bounded before use."""

    def __init__(self, src: ByteSource, chunk: int) -> None:
        self.src, self.pos, self.chunk = src, 0, chunk
        self.buf, self.buf_start = b"", 0

    @property
    def limit(self) -> int:
        """Where the source ends, if it says (a local file, or a Hub file once its size is known)."""
        size = getattr(self.src, "size", None)
        return size if isinstance(size, int) else MAX_HEADER_END

    def check_room(self, n: int, what: str) -> None:
        """`what` claims the next `n` bytes: refuse a claim the source cannot hold."""
        if self.pos + n > min(self.limit, MAX_HEADER_END):
            raise HeaderError(f"the file is truncated or corrupt: {what} runs past its end")

    def _need(self, n: int) -> memoryview:
        end = self.pos + n
        if self.pos < self.buf_start or end > self.buf_start + len(self.buf):
            want = min(max(n, self.chunk), MAX_HEADER_END - self.pos)
            self.buf = self.src.read_at(self.pos, want)
            self.buf_start = self.pos
            if len(self.buf) < n:
                raise NeedMoreData(end)
        rel = self.pos - self.buf_start
        self.pos = end
        return memoryview(self.buf)[rel : rel + n]

    def unpack(self, fmt: str) -> Any:
        size = struct.calcsize("<" + fmt)
        return struct.unpack("<" + fmt, self._need(size))[0]

    def string(self, what: str, limit: int = 1 << 26) -> str:
        n = self.unpack("Q")
        if n > limit:
            raise HeaderError(f"the header is corrupt: {what} claims {n:,} bytes")
        self.check_room(n, what)
        return bytes(self._need(n)).decode("utf-8", errors="replace")

    def skip(self, n: int, what: str) -> None:
        self.check_room(n, what)
        self.pos += n


def parse_header(src: ByteSource, chunk: int = 1 << 20) -> GGUFHeader:
    """Parse the header from `src`; raises HeaderError (naming the key or tensor at fault) or NeedMoreData.

    Strings come back without control characters (`backend.text.printable`), numbers checked against
    what llama.cpp accepts (`gguf_values`), tensors against the rules of llama.cpp's own reader (gguf.cpp).
    """
    cur = _Cursor(src, chunk)
    try:
        magic = bytes(cur._need(4))
    except NeedMoreData as e:
        raise HeaderError("the file is empty or shorter than a GGUF header") from e
    if magic != GGUF_MAGIC:
        raise HeaderError("it is not a GGUF file (no GGUF signature at the start)")
    version = cur.unpack("I")
    if version not in (2, 3):
        raise HeaderError(f"GGUF version {version} is not supported (expected 2 or 3)")
    n_tensors, n_kv = cur.unpack("Q"), cur.unpack("Q")
    if n_tensors > 1 << 24 or n_kv > 1 << 24:
        raise HeaderError("the header is corrupt (implausible tensor or key count)")
    metadata, array_lengths, types = _read_metadata(cur, n_kv)
    try:
        check_metadata(metadata, types)
    except ValueProblem as e:
        raise HeaderError(str(e)) from None
    align = int(metadata.get("general.alignment", DEFAULT_ALIGNMENT))
    tensors = _read_tensors(cur, n_tensors, align)
    header_end = cur.pos
    data_start = (header_end + align - 1) // align * align
    return GGUFHeader(version, metadata, array_lengths, tensors, header_end, data_start)


def _read_metadata(cur: _Cursor, n_kv: int) -> tuple[dict[str, Any], dict[str, int], dict[str, tuple[int, int | None]]]:
    metadata: dict[str, Any] = {}
    array_lengths: dict[str, int] = {}
    types: dict[str, tuple[int, int | None]] = {}
    for i in range(n_kv):
        key = printable(cur.string(f"the name of key {i + 1}", 1 << 16))
        if key in types:
            raise HeaderError(f"the header is corrupt: key {key} appears twice")
        vtype = cur.unpack("I")
        if vtype in _SCALAR:
            metadata[key] = cur.unpack(_SCALAR[vtype])
            types[key] = (vtype, None)
        elif vtype == STRING:
            metadata[key] = printable(cur.string(key), multiline=key in _MULTILINE_KEYS)
            types[key] = (vtype, None)
        elif vtype == ARRAY:
            etype, count = cur.unpack("I"), cur.unpack("Q")
            array_lengths[key] = count
            types[key] = (vtype, etype)
            if etype in _SCALAR:
                cur.skip(struct.calcsize("<" + _SCALAR[etype]) * count, f"the array {key} ({count:,} values)")
            elif etype == STRING:
                if count > MAX_STRINGS:  # walked one by one: a corrupt count over zeros would take minutes
                    raise HeaderError(f"the header is corrupt: the array {key} claims {count:,} strings")
                cur.check_room(8 * count, f"the array {key} ({count:,} strings)")
                for _ in range(count):
                    cur.skip(cur.unpack("Q"), f"a string in the array {key}")
            else:
                raise HeaderError(f"the header is corrupt (array of value type {etype} in {key})")
        else:
            raise HeaderError(f"the header is corrupt (value type {vtype} in {key})")
    return metadata, array_lengths, types


def _read_tensors(cur: _Cursor, n_tensors: int, align: int) -> list[TensorInfo]:
    """The tensor table, checked as llama.cpp's reader checks it: names, dimensions, sizes, offsets."""
    tensors: list[TensorInfo] = []
    seen: set[str] = set()
    expected_offset: int | None = 0  # None once a tensor of an unknown encoding makes sizes unknowable
    for i in range(n_tensors):
        raw = cur.string(f"the name of tensor {i + 1}", 1 << 16)
        name = printable(raw)
        if len(raw.encode()) >= GGML_MAX_NAME:
            raise HeaderError(f"the header is corrupt: tensor name {name[:40]}… is longer than "
                              f"{GGML_MAX_NAME - 1} bytes")
        if name in seen:
            raise HeaderError(f"the header is corrupt: tensor {name} appears twice")
        seen.add(name)
        n_dims = cur.unpack("I")
        if n_dims > GGML_MAX_DIMS:
            raise HeaderError(f"the header is corrupt (tensor {name} has {n_dims} dimensions)")
        shape = tuple(cur.unpack("Q") for _ in range(n_dims))
        if any(d > INT64_MAX for d in shape) or math.prod(shape) > INT64_MAX:
            raise HeaderError(f"the header is corrupt: tensor {name} has an impossible shape {shape}")
        info_offset = cur.pos
        type_id = cur.unpack("I")
        offset = cur.unpack("Q")
        t = TensorInfo(name, shape, type_id, offset, info_offset)
        known = GGML_TYPES.get(type_id)
        if known is not None and shape and shape[0] % known[1]:
            raise HeaderError(f"the header is corrupt: tensor {name} has rows of {shape[0]} values, not a multiple "
                              f"of its {known[0]} block of {known[1]}")
        if expected_offset is not None:
            if offset != expected_offset:
                raise HeaderError(f"the header is corrupt: tensor {name}'s data is said to start at byte {offset:,} "
                                  f"of the data section, where byte {expected_offset:,} was expected")
            n = t.nbytes
            expected_offset = None if n is None else offset + (n + align - 1) // align * align
        tensors.append(t)
    return tensors


def read_header(path: Path) -> GGUFHeader:
    """Parse a local file's header; a file that ends inside its header raises HeaderError."""
    src = FileSource(path)
    try:
        return parse_header(src)
    except NeedMoreData as e:
        raise HeaderError("the file is truncated: it ends inside its header") from e
    finally:
        src.close()
