"""Read a whole GGUF header — every key with its type and value, arrays included — and its tensor table.

`backend.models.gguf_header` skips arrays (it only inspects); converting an I2_S file must carry
its tokenizer over, so this reader keeps them. gguf-py's GGUFReader cannot be used: it raises on
bitnet.cpp's tensor type 36 while building its tensor views.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGUFValueType

from backend.models.convert.errors import ConvertError
from backend.models.convert.writer import _NUMPY, _SCALAR

MAX_COUNT = 1 << 26


@dataclass(frozen=True)
class KV:
    vtype: int
    value: Any
    subtype: int | None = None


@dataclass(frozen=True)
class GTensor:
    name: str
    shape: tuple[int, ...]  # numpy order (rows first)
    type_id: int
    offset: int  # absolute, in the file


@dataclass
class GGUFFile:
    path: Path
    kv: dict[str, KV]
    tensors: list[GTensor]
    data_start: int
    size: int

    def get(self, key: str, default: Any = None) -> Any:
        item = self.kv.get(key)
        return default if item is None else item.value


class _Reader:
    def __init__(self, buf: mmap.mmap, name: str) -> None:
        self.buf, self.pos, self.name = buf, 0, name

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.buf):
            raise ConvertError(self.name, "it ends inside its GGUF header (truncated)", code="bad_file")
        b = self.buf[self.pos : self.pos + n]
        self.pos += n
        return b

    def scalar(self, vtype: int) -> Any:
        fmt = "<" + _SCALAR[GGUFValueType(vtype)]
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        n = self.scalar(GGUFValueType.UINT64)
        if n > MAX_COUNT:
            raise ConvertError(self.name, f"its header is corrupt (a string of {n:,} bytes)", code="bad_file")
        return self.take(n).decode("utf-8", errors="replace")

    def value(self, vtype: int) -> KV:
        if vtype == GGUFValueType.STRING:
            return KV(vtype, self.string())
        if vtype == GGUFValueType.ARRAY:
            sub, count = self.scalar(GGUFValueType.UINT32), self.scalar(GGUFValueType.UINT64)
            if count > MAX_COUNT:
                raise ConvertError(self.name, f"its header is corrupt (an array of {count:,} items)", code="bad_file")
            if sub == GGUFValueType.STRING:
                return KV(vtype, [self.string() for _ in range(count)], sub)
            if sub not in _NUMPY:
                raise ConvertError(self.name, f"its header is corrupt (array of type {sub})", code="bad_file")
            dt = np.dtype(_NUMPY[GGUFValueType(sub)]).newbyteorder("<")
            return KV(vtype, np.frombuffer(self.take(dt.itemsize * count), dtype=dt).copy(), sub)
        if vtype not in _SCALAR:
            raise ConvertError(self.name, f"its header is corrupt (value type {vtype})", code="bad_file")
        return KV(vtype, self.scalar(vtype))


def read_gguf(path: Path) -> GGUFFile:
    """Parse `path`'s header fully; raises ConvertError for anything that is not a sound GGUF header."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as e:
        raise ConvertError(path.name, f"it cannot be read ({e.strerror})", code="unreadable") from e
    try:
        size = path.stat().st_size
        if size < 24:
            raise ConvertError(path.name, "it is too short to be a GGUF file", code="bad_file")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            r = _Reader(buf, path.name)
            if r.take(4) != b"GGUF":
                raise ConvertError(path.name, "it is not a GGUF file (no GGUF signature)", code="bad_file")
            version = r.scalar(GGUFValueType.UINT32)
            if version not in (2, 3):
                raise ConvertError(path.name, f"its GGUF version {version} is not supported", code="bad_file")
            n_tensors, n_kv = r.scalar(GGUFValueType.UINT64), r.scalar(GGUFValueType.UINT64)
            if n_tensors > 1 << 20 or n_kv > 1 << 20:
                raise ConvertError(path.name, "its header is corrupt (implausible counts)", code="bad_file")
            kv: dict[str, KV] = {}
            for _ in range(n_kv):
                key = r.string()
                kv[key] = r.value(r.scalar(GGUFValueType.UINT32))
            infos = []
            for _ in range(n_tensors):
                name = r.string()
                n_dims = r.scalar(GGUFValueType.UINT32)
                if n_dims > 4:
                    raise ConvertError(path.name, f"tensor {name} has {n_dims} dimensions", code="bad_file")
                dims = [r.scalar(GGUFValueType.UINT64) for _ in range(n_dims)]
                infos.append((name, tuple(reversed(dims)), r.scalar(GGUFValueType.UINT32),
                              r.scalar(GGUFValueType.UINT64)))
            align = int(kv["general.alignment"].value) if "general.alignment" in kv else 32
            start = (r.pos + align - 1) // align * align
    finally:
        f.close()
    tensors = [GTensor(n, s, t, start + o) for n, s, t, o in infos]
    return GGUFFile(path, kv, tensors, start, size)


def read_bytes(f: Any, offset: int, n: int, name: str) -> np.ndarray:
    f.seek(offset)
    raw = f.read(n)
    if len(raw) != n:
        raise ConvertError(name, "it ends inside its tensor data (truncated)", code="bad_file")
    return np.frombuffer(raw, dtype=np.uint8)
