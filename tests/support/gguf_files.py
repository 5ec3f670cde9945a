"""Broken and unusual GGUF files for bad-input tests, made from a real synthetic model."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

from backend.models.gguf_header import read_header


def truncated_in_header(src: Path, dst: Path) -> Path:
    data = src.read_bytes()
    header = read_header(src)
    dst.write_bytes(data[: header.header_end // 2])
    return dst


def truncated_in_data(src: Path, dst: Path) -> Path:
    data = src.read_bytes()
    header = read_header(src)
    dst.write_bytes(data[: header.data_start + (len(data) - header.data_start) // 2])
    return dst


def with_tensor_type(src: Path, dst: Path, type_id: int, tensor: str = "blk.0.attn_q.weight") -> Path:
    """A copy whose `tensor` claims encoding `type_id` (36 = bitnet.cpp's I2_S, 99 = unknown)."""
    shutil.copyfile(src, dst)
    info = next(t for t in read_header(src).tensors if t.name == tensor)
    with open(dst, "r+b") as f:
        f.seek(info.info_offset)
        f.write(struct.pack("<I", type_id))
    return dst


def larger_than_ram(src: Path, dst: Path, total_bytes: int) -> Path:
    """A sparse GGUF whose header and size claim `total_bytes` of weights (no disk is used)."""
    header = read_header(src)
    data = bytearray(src.read_bytes()[: header.data_start])
    last = max(header.tensors, key=lambda t: t.offset)
    assert len(last.shape) == 1 and last.type_name == "F32", "expects a 1-D F32 tensor last (output_norm)"
    # Grow the last tensor (output_norm, F32) so the weights add up to about total_bytes.
    grown = last.shape[0] + max(0, total_bytes - header.data_bytes) // 4
    struct.pack_into("<Q", data, last.info_offset - 8, grown)
    dst.write_bytes(bytes(data))
    expected = read_header(dst).expected_file_size
    with open(dst, "r+b") as f:
        f.truncate(expected)
    return dst


def with_uint32(src: Path, dst: Path, key: str, value: int) -> Path:
    """A copy whose uint32 metadata value `key` is `value` (the rest of the file unchanged)."""
    from tests.support.gguf_fuzz import patched, read_layout

    data = src.read_bytes()
    dst.write_bytes(patched(data, read_layout(data).entry(key).value_at, "I", value))
    return dst
