"""A GGUF writer that streams: metadata and the tensor table first, then tensor bytes in order.

gguf-py's GGUFWriter wants each tensor as one array; a 2B model's embedding table alone is 650 MB
in F16, and converting it whole would hold it twice in memory. Here a tensor's bytes may arrive in
as many pieces as the caller likes; sizes are checked against the table, alignment padding is
added, and the file's sha256 is computed on the way out (the registry records it without a
second read). Writes go to the path given; `convert` writes to a `.part` name and renames.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType

ALIGNMENT = 32
_SCALAR = {GGUFValueType.UINT8: "B", GGUFValueType.INT8: "b", GGUFValueType.UINT16: "H",
           GGUFValueType.INT16: "h", GGUFValueType.UINT32: "I", GGUFValueType.INT32: "i",
           GGUFValueType.FLOAT32: "f", GGUFValueType.BOOL: "?", GGUFValueType.UINT64: "Q",
           GGUFValueType.INT64: "q", GGUFValueType.FLOAT64: "d"}
_NUMPY = {GGUFValueType.UINT8: np.uint8, GGUFValueType.INT8: np.int8, GGUFValueType.UINT16: np.uint16,
          GGUFValueType.INT16: np.int16, GGUFValueType.UINT32: np.uint32, GGUFValueType.INT32: np.int32,
          GGUFValueType.FLOAT32: np.float32, GGUFValueType.BOOL: np.bool_, GGUFValueType.UINT64: np.uint64,
          GGUFValueType.INT64: np.int64, GGUFValueType.FLOAT64: np.float64}


def tensor_nbytes(shape: tuple[int, ...], qtype: int) -> int:
    block, size = GGML_QUANT_SIZES[GGMLQuantizationType(qtype)]
    n = int(np.prod(shape)) if shape else 1
    if shape and shape[-1] % block:
        raise ValueError(f"row of {shape[-1]} is not a multiple of the {block}-value block")
    return n // block * size


def _string(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def encode_value(vtype: int, value: Any, subtype: int | None = None) -> bytes:
    vt = GGUFValueType(vtype)
    if vt == GGUFValueType.STRING:
        return _string(str(value))
    if vt == GGUFValueType.ARRAY:
        st = GGUFValueType(subtype if subtype is not None else GGUFValueType.STRING)
        head = struct.pack("<IQ", st, len(value))
        if st == GGUFValueType.STRING:
            return head + b"".join(_string(v if isinstance(v, str) else v.decode("utf-8")) for v in value)
        return head + np.asarray(value, dtype=_NUMPY[st]).astype(np.dtype(_NUMPY[st]).newbyteorder("<")).tobytes()
    return struct.pack("<" + _SCALAR[vt], value)


class GGUFStream:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.kv: list[bytes] = []
        self.n_kv = 0
        self.tensors: list[tuple[str, tuple[int, ...], int, int]] = []  # name, numpy shape, type, nbytes
        self._f: BinaryIO | None = None
        self._sha = hashlib.sha256()
        self._index = 0
        self._left = 0
        self.size = 0

    def add(self, key: str, vtype: int, value: Any, subtype: int | None = None) -> None:
        self.kv.append(_string(key) + struct.pack("<I", vtype) + encode_value(vtype, value, subtype))
        self.n_kv += 1

    def add_str(self, key: str, value: str) -> None:
        self.add(key, GGUFValueType.STRING, value)

    def add_u32(self, key: str, value: int) -> None:
        self.add(key, GGUFValueType.UINT32, int(value))

    def add_f32(self, key: str, value: float) -> None:
        self.add(key, GGUFValueType.FLOAT32, float(value))

    def add_bool(self, key: str, value: bool) -> None:
        self.add(key, GGUFValueType.BOOL, bool(value))

    def add_array(self, key: str, subtype: int, values: Any) -> None:
        self.add(key, GGUFValueType.ARRAY, values, subtype)

    def add_tensor(self, name: str, shape: tuple[int, ...], qtype: int) -> int:
        nbytes = tensor_nbytes(shape, qtype)
        self.tensors.append((name, tuple(shape), int(qtype), nbytes))
        return nbytes

    def _emit(self, data: bytes | memoryview) -> None:
        assert self._f is not None
        self._f.write(data)
        self._sha.update(data)
        self.size += len(data)

    def _pad(self) -> None:
        pad = -self.size % ALIGNMENT
        if pad:
            self._emit(b"\0" * pad)

    def begin(self) -> None:
        """Write the header, metadata and tensor table; tensor data follows with `write`."""
        self._f = open(self.path, "wb")  # noqa: SIM115 - closed by finish()/abort()
        self._emit(b"GGUF" + struct.pack("<IQQ", 3, len(self.tensors), self.n_kv))
        for item in self.kv:
            self._emit(item)
        offset = 0
        for name, shape, qtype, nbytes in self.tensors:
            dims = tuple(reversed(shape)) or (1,)
            self._emit(_string(name) + struct.pack(f"<I{len(dims)}Q", len(dims), *dims)
                       + struct.pack("<IQ", qtype, offset))
            offset += nbytes + (-nbytes % ALIGNMENT)
        self._pad()
        self._index, self._left = 0, self.tensors[0][3] if self.tensors else 0

    @property
    def current(self) -> str:
        return self.tensors[self._index][0]

    def write(self, data: np.ndarray | bytes) -> None:
        """Append bytes of the current tensor; after its last byte, the next tensor begins."""
        raw = memoryview(np.ascontiguousarray(data)).cast("B") if isinstance(data, np.ndarray) else memoryview(data)
        if len(raw) > self._left:
            raise ValueError(f"{self.current}: {len(raw)} bytes given, {self._left} left in the tensor")
        self._emit(raw)
        self._left -= len(raw)
        if self._left == 0:
            self._pad()
            self._index += 1
            if self._index < len(self.tensors):
                self._left = self.tensors[self._index][3]

    def finish(self) -> str:
        """Close the file once every tensor is complete; returns its sha256."""
        if self._index != len(self.tensors):
            raise ValueError(f"tensor {self.current} is incomplete")
        assert self._f is not None
        self._f.close()
        self._f = None
        return self._sha.hexdigest()

    def abort(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None
