"""Convert one source — a safetensors model folder or a bitnet.cpp I2_S GGUF — into a TQ GGUF file.

Stages, each reported through `progress` and stoppable through `cancel` (a threading.Event checked
between tensors and between blocks of embedding rows): check (every header and the plan, before a
byte is written), hash (each source file's sha256, for provenance), convert (tensor by tensor into
`<dest>.part`), verify (the written header; the first and last linear layers decoded back and
compared with the source; the output head's first rows within what its encoding loses). Only a file
that passed all of them is renamed to `dest`; on any error or cancel the partial file is deleted.
Blocks; run it off the GUI thread.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, quants

from backend.hub.download import free_space
from backend.models.convert.errors import ConvertCancelled, ConvertError
from backend.models.convert.gguf_out import DEFAULT_HEAD, ENCODING, HEAD_ENCODINGS, TARGETS, Output, OutTensor
from backend.models.convert.hf_source import hf_output
from backend.models.convert.i2s_source import i2s_output
from backend.models.convert.writer import GGUFStream
from backend.models.gguf_header import HeaderError, read_header

CONVERTER_VERSION = "1"
HASH_CHUNK = 8 << 20


@dataclass(frozen=True)
class ConvertProgress:
    phase: str  # "check" | "hash" | "convert" | "verify" | "done"
    fraction: float  # 0..1 within the phase
    done_bytes: int
    total_bytes: int
    detail: str = ""  # the file being hashed or the tensor being written


ProgressFn = Callable[[ConvertProgress], None]


@dataclass
class ConvertResult:
    path: Path
    sha256: str
    file_bytes: int
    output: Output
    source_sha256: dict[str, str] = field(default_factory=dict)


def plan_output(src: Path, source: str, target: str = "tq2_0", head_encoding: str = DEFAULT_HEAD,
                name: str = "") -> Output:
    """Check `src` completely and plan the output; raises ConvertError. Nothing is written."""
    if target not in TARGETS:
        raise ConvertError(source, f"{target!r} is not a target", "Choose tq2_0 or tq1_0.", code="bad_target")
    if head_encoding not in HEAD_ENCODINGS:
        raise ConvertError(source, f"{head_encoding!r} is not an output head encoding Tern writes",
                           f"Choose {', '.join(HEAD_ENCODINGS)}.", code="bad_target")
    name = name or src.stem
    if src.is_dir():
        return hf_output(src, source, target, head_encoding, name, CONVERTER_VERSION)
    if src.is_file() and src.suffix.lower() == ".gguf":
        return i2s_output(src, source, target, head_encoding, name, CONVERTER_VERSION)
    if not src.exists():
        raise ConvertError(source, "it does not exist", code="not_found")
    raise ConvertError(source, "it is neither a model folder (config.json + *.safetensors) nor an I2_S .gguf file",
                       code="not_found")


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise ConvertCancelled("Conversion cancelled; nothing was kept.")


def hash_files(files: list[Path], progress: ProgressFn | None, cancel: threading.Event | None) -> dict[str, str]:
    total = sum(p.stat().st_size for p in files)
    done, out = 0, {}
    for p in files:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            while block := f.read(HASH_CHUNK):
                h.update(block)
                done += len(block)
                _check_cancel(cancel)
                if progress:
                    progress(ConvertProgress("hash", done / total if total else 1.0, done, total, p.name))
        out[p.name] = h.hexdigest()
    return out


def _verify(tmp: Path, output: Output, target: str, source: str) -> None:
    try:
        header = read_header(tmp)
    except HeaderError as e:
        raise ConvertError(source, f"the written file does not read back ({e.reason})", code="verify_failed") from e
    want_enc = ENCODING[target]
    if header.encoding != want_enc or len(header.tensors) != len(output.tensors):
        raise ConvertError(source, f"the written file holds {header.encoding} in {len(header.tensors)} tensors, "
                           f"expected {want_enc} in {len(output.tensors)}", code="verify_failed")
    expected_size = header.expected_file_size
    if expected_size is None or tmp.stat().st_size < expected_size:
        raise ConvertError(source, "the written file is shorter than its tensors", code="verify_failed")
    linears = [t for t in output.tensors if t.expected is not None]
    infos = {t.name: t for t in header.tensors}
    with open(tmp, "rb") as f:
        for t in {id(x): x for x in linears[:1] + linears[-1:]}.values():
            info = infos[t.name]
            f.seek(header.data_start + info.offset)
            raw = np.frombuffer(f.read(info.nbytes or 0), dtype=np.uint8).reshape(t.shape[0], -1)
            got = quants.dequantize(raw, GGMLQuantizationType(t.qtype))
            want = t.expected()  # type: ignore[misc]
            if got.shape != want.shape or not np.allclose(got, want, rtol=1e-3, atol=0):
                raise ConvertError(source, f"tensor {t.name} does not decode back to the source's weights",
                                   code="verify_failed")
        for t in output.tensors:
            if t.sample is not None:
                _verify_head(f, header.data_start + infos[t.name].offset, t, source)


def _verify_head(f: BinaryIO, offset: int, t: OutTensor, source: str) -> None:
    """The output head's first rows decode back to the source's values, within what its encoding loses."""
    want = t.sample()  # type: ignore[misc]
    qtype = GGMLQuantizationType(t.qtype)
    block, size = GGML_QUANT_SIZES[qtype]
    f.seek(offset)
    raw = np.frombuffer(f.read(want.shape[0] * want.shape[1] // block * size), dtype=np.uint8)
    got = quants.dequantize(raw.reshape(want.shape[0], -1), qtype)
    scale = float(np.sqrt(np.mean(want.astype(np.float64) ** 2)))
    err = float(np.sqrt(np.mean((got.astype(np.float64) - want) ** 2)))
    if got.shape != want.shape or err > t.tolerance * max(scale, 1e-30):
        raise ConvertError(source, f"the output head {t.name} ({qtype.name}) does not decode back to the source's "
                           f"values (error {err / max(scale, 1e-30):.1%} of their size)", code="verify_failed")


def convert_file(src: Path, dest: Path, *, target: str = "tq2_0", head_encoding: str = DEFAULT_HEAD, name: str = "",
                 source: str | None = None, source_sha256: dict[str, str] | None = None,
                 progress: ProgressFn | None = None, cancel: threading.Event | None = None) -> ConvertResult:
    """Convert `src` to `dest` (written atomically). `source` names it in messages (a repo id or the path);
    `source_sha256` (file name → sha256, e.g. from a verified download) skips hashing those files.
    Raises ConvertError (with the reason; nothing is left behind) or ConvertCancelled."""
    src, dest = Path(src), Path(dest)
    source = source or str(src)
    if progress:
        progress(ConvertProgress("check", 0.0, 0, 0))
    output = plan_output(src, source, target, head_encoding, name or dest.stem)
    w = GGUFStream(dest.with_name(dest.name + ".part"))
    output.write_keys(w)
    total = sum(w.add_tensor(t.name, t.shape, t.qtype) for t in output.tensors)
    dest.parent.mkdir(parents=True, exist_ok=True)
    free, where = free_space(dest.parent)
    if total > free:
        raise ConvertError(source, f"the converted model needs about {total / 1e9:.2f} GB but {where} has "
                           f"{free / 1e9:.2f} GB free", "Free some space and try again; nothing was written.",
                           code="disk_full")
    known = dict(source_sha256 or {})
    hashes = hash_files([p for p in output.inputs if p.name not in known], progress, cancel)
    hashes.update({k: v for k, v in known.items() if any(p.name == k for p in output.inputs)})
    tmp = w.path
    try:
        w.begin()
        done = 0
        for t in output.tensors:
            for chunk in t.chunks():
                _check_cancel(cancel)
                w.write(chunk)
                done += chunk.nbytes if isinstance(chunk, np.ndarray) else len(chunk)
                if progress:
                    progress(ConvertProgress("convert", done / total if total else 1.0, done, total, t.name))
        sha = w.finish()
        if progress:
            progress(ConvertProgress("verify", 0.0, 0, 0))
        _verify(tmp, output, target, source)
        _check_cancel(cancel)
        os.replace(tmp, dest)
    except BaseException:
        w.abort()
        tmp.unlink(missing_ok=True)
        raise
    size = dest.stat().st_size
    if progress:
        progress(ConvertProgress("done", 1.0, size, size))
    return ConvertResult(dest, sha, size, output, hashes)
