"""Read safetensors files without torch: a validated header, then tensors (or row ranges) on demand.

Format (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of JSON
(`{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`, offsets
relative to the end of the header), then the data. Every claim in the header is checked against
the others and against the file size before a byte of weights is trusted: a header that lies
(a shape that does not match its byte range, overlapping tensors, data past the end of the file)
is refused with the file and tensor named. The header parser reads through a `ByteSource`, so a
file on the Hub can be checked with HTTP range requests before it is downloaded.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backend.models.convert.errors import ConvertError, clean
from backend.models.gguf_header import ByteSource, FileSource

MAX_HEADER = 100 * 1024**2  # the safetensors library's own limit
# dtype -> (numpy dtype of the raw bytes, bytes per element). BF16 is read as uint16 and widened.
DTYPES: dict[str, tuple[Any, int]] = {
    "F64": (np.float64, 8), "F32": (np.float32, 4), "F16": (np.float16, 2), "BF16": (np.uint16, 2),
    "I64": (np.int64, 8), "I32": (np.int32, 4), "I16": (np.int16, 2), "I8": (np.int8, 1),
    "U64": (np.uint64, 8), "U32": (np.uint32, 4), "U16": (np.uint16, 2), "U8": (np.uint8, 1),
    "BOOL": (np.bool_, 1), "F8_E4M3": (np.uint8, 1), "F8_E5M2": (np.uint8, 1),
}
FLOATS = {"F32", "F16", "BF16"}


@dataclass(frozen=True)
class STensor:
    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int  # absolute offsets in the file
    end: int
    file: str

    @property
    def n_elements(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.end - self.begin


@dataclass(frozen=True)
class STFile:
    name: str
    size: int
    data_start: int
    tensors: dict[str, STensor]
    metadata: dict[str, str]


def parse_header(src: ByteSource, file_size: int, name: str) -> STFile:
    """Parse and validate a safetensors header; raises ConvertError naming `name` and the fault."""
    first = src.read_at(0, 8)
    if len(first) < 8 or file_size < 8:
        raise ConvertError(name, "the file is shorter than a safetensors header", code="bad_file")
    (n,) = struct.unpack("<Q", first)
    if n < 2 or n > MAX_HEADER or 8 + n > file_size:
        raise ConvertError(name, f"its header claims {n:,} bytes, which the {file_size:,}-byte file cannot hold "
                           "(truncated or not a safetensors file)", code="bad_file")
    raw = src.read_at(8, n)
    if len(raw) < n:
        raise ConvertError(name, "the file ends inside its header (truncated)", code="bad_file")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ConvertError(name, f"its header is not valid JSON ({clean(e, 80)})", code="bad_file") from e
    if not isinstance(doc, dict):
        raise ConvertError(name, "its header is not a JSON object", code="bad_file")
    data_start, data_len = 8 + n, file_size - 8 - n
    meta = doc.pop("__metadata__", None)
    meta = meta if isinstance(meta, dict) else {}
    tensors: dict[str, STensor] = {}
    for tname, entry in doc.items():
        tensors[tname] = _entry(name, tname, entry, data_start, data_len)
    spans = sorted(tensors.values(), key=lambda t: t.begin)
    for a, b in zip(spans, spans[1:], strict=False):
        if b.begin < a.end:
            raise ConvertError(name, f"tensors {clean(a.name)} and {clean(b.name)} overlap in the file "
                               "(the header lies)", code="bad_file")
    return STFile(name, file_size, data_start, tensors, {str(k): clean(v) for k, v in meta.items()})


def _entry(file: str, tname: str, entry: Any, data_start: int, data_len: int) -> STensor:
    where = f"{file} (tensor {clean(tname)})"
    if not isinstance(entry, dict):
        raise ConvertError(where, "its header entry is not an object", code="bad_file")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in DTYPES:
        raise ConvertError(where, f"its dtype {clean(dtype, 20)!r} is not a safetensors dtype", code="bad_file")
    if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
        raise ConvertError(where, "its shape is not a list of non-negative integers", code="bad_file")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
        raise ConvertError(where, "its data_offsets are not two integers", code="bad_file")
    begin, end = offsets
    need = math.prod(shape) * DTYPES[dtype][1]
    if not 0 <= begin <= end:
        raise ConvertError(where, f"its byte range {begin}–{end} is backwards", code="bad_file")
    if end - begin != need:
        raise ConvertError(where, f"its shape {shape} in {dtype} needs {need:,} bytes but the header gives it "
                           f"{end - begin:,} (the header lies about shape or dtype)", code="bad_file")
    if end > data_len:
        raise ConvertError(where, f"its data ends at byte {data_start + end:,}, past the end of the file "
                           f"({data_start + data_len:,} bytes; truncated?)", code="bad_file")
    return STensor(tname, dtype, tuple(shape), data_start + begin, data_start + end, file)


def read_header(path: Path) -> STFile:
    try:
        size = path.stat().st_size
        src = FileSource(path)
    except OSError as e:
        raise ConvertError(path, f"it cannot be read ({e.strerror})", code="unreadable") from e
    try:
        return parse_header(src, size, path.name)
    finally:
        src.close()


def row_bytes(t: STensor) -> int:
    return math.prod(t.shape[1:]) * DTYPES[t.dtype][1] if t.shape else DTYPES[t.dtype][1]


def read_rows(f: Any, t: STensor, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Rows [start, stop) of tensor `t` from the open file `f`, in the file's own dtype (BF16 as uint16)."""
    rows = t.shape[0] if t.shape else 1
    stop = rows if stop is None else min(stop, rows)
    per = row_bytes(t)
    f.seek(t.begin + start * per)
    want = (stop - start) * per
    buf = f.read(want)
    if len(buf) != want:
        raise ConvertError(t.file, f"it ends inside tensor {clean(t.name)} (truncated)", code="bad_file")
    arr = np.frombuffer(buf, dtype=DTYPES[t.dtype][0])
    return arr.reshape((stop - start, *t.shape[1:])) if t.shape else arr.reshape(())


def to_float32(arr: np.ndarray, dtype: str) -> np.ndarray:
    """Widen F16/BF16/F32 raw values to float32 (BF16 is the top half of a float32)."""
    if dtype == "BF16":
        return (arr.astype(np.uint32) << 16).view(np.float32)
    if dtype in ("F16", "F32", "F64"):
        return arr.astype(np.float32)
    raise ValueError(f"not a float dtype: {dtype}")
