"""Derive a variant of the same weights: TQ → F16, TQ1_0 ⇄ TQ2_0 (and a ternary F16 → TQ).

Requantizing ternary weights is exact: a TQ block holds values in {-d, 0, +d} with one F16 scale
d, which F16 stores exactly and TQ1_0/TQ2_0 re-encode exactly. The token embeddings (and a
separate output head) keep the source's encoding — llama.cpp would otherwise turn them into
Q4_K/Q6_K when quantizing to TQ — so two variants differ only in how the linear weights are
stored, never in what they are.

The work runs in a child process (`backend.models.quantize_worker`): llama.cpp can abort, and
cancel kills the child. Output is written to `<name>.part` and renamed only after its header
checks out, so no half-written model ever reaches the registry. Blocks; run it off the GUI thread.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFReader

from backend.errors import TernError
from backend.hub.download import free_space
from backend.hub.errors import amount
from backend.models.gguf_header import GGUFHeader, HeaderError, read_header
from backend.models.registry import Registry, Variant
from backend.paths import paths

# target -> (llama_ftype, ggml type of the linear weights, encoding name)
TARGETS = {"f16": (1, GGMLQuantizationType.F16, "F16"), "tq1_0": (36, GGMLQuantizationType.TQ1_0, "TQ1_0"),
           "tq2_0": (37, GGMLQuantizationType.TQ2_0, "TQ2_0")}
SOURCE_PREFERENCE = {"f16": ["TQ2_0", "TQ1_0"], "tq1_0": ["TQ2_0", "F16"], "tq2_0": ["TQ1_0", "F16"]}
HASH_CHUNK = 8 << 20


class DeriveError(TernError):
    code = "derive_failed"


class DeriveCancelled(TernError):
    code = "cancelled"


@dataclass(frozen=True)
class DeriveProgress:
    phase: str  # "hash" (checksumming the source) | "convert" | "check" | "done"
    fraction: float  # 0..1 within the phase; conversion is estimated from the output's size so far
    done_bytes: int
    total_bytes: int


ProgressFn = Callable[[DeriveProgress], None]


def worker_command() -> list[str]:
    """How to start the child: `tern --quantize-worker` when frozen, else `-m`."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "--quantize-worker"]
    return [sys.executable, "-m", "backend.models.quantize_worker"]


def pick_source(registry: Registry, spec: str, to: str) -> Variant:
    """The variant to derive from: `name:ENC` or a path as given, else the best source for `to`."""
    model_name, _, enc = spec.partition(":")
    model = registry.find(model_name)
    if model is None or enc or Path(spec).suffix.lower() == ".gguf":
        path = registry.resolve(spec)
        v = registry.variant_by_path(path)
        if v is None:
            raise DeriveError(f"{path} is not in Tern's library.", "Import it first: `tern models import PATH`.")
        return v
    for want in SOURCE_PREFERENCE[to]:
        v = model.variant(want)
        if v is not None:
            return v
    have = ", ".join(v.encoding for v in model.variants if v.usable) or "none usable"
    raise DeriveError(f"Model {model.name!r} has no variant to derive {to.upper()} from.", f"Its variants: {have}.")


def _tensor_type(header: GGUFHeader, name: str) -> int | None:
    return next((t.type_id for t in header.tensors if t.name == name), None)


def expected_output_bytes(header: GGUFHeader, target: GGMLQuantizationType) -> int:
    """Roughly the output's size: linear weights in `target`, everything else as it is now."""
    total = header.data_start
    block, size = GGML_QUANT_SIZES[target]
    for t in header.tensors:
        keep = len(t.shape) < 2 or t.name.startswith(("token_embd", "output."))
        total += (t.nbytes or 0) if keep else t.n_elements // block * size
    return total


def check_ternary_sample(path: Path, blocks_per_tensor: int = 64) -> None:
    """An F16 source must hold ternary weights ({-d, 0, +d} per 256-block) to become TQ losslessly.

    Checks the first blocks of every linear tensor (a sample: the full check would read the whole
    file); raises DeriveError naming the first tensor that is not ternary.
    """
    reader = GGUFReader(path)
    for t in reader.tensors:
        embeddings = t.name.startswith(("token_embd", "output."))
        if t.tensor_type != GGMLQuantizationType.F16 or len(t.shape) < 2 or embeddings:
            continue
        sample = np.asarray(t.data).reshape(-1)[: 256 * blocks_per_tensor].astype(np.float32).reshape(-1, 256)
        mags = np.abs(sample)
        peak = mags.max(axis=1, keepdims=True)
        if not np.all((mags == 0) | (mags == peak)):
            raise DeriveError(
                f"{path.name} is not ternary ({t.name} holds more than three values per block), so TQ "
                "would not hold the same weights.", "Derive TQ1_0/TQ2_0 only from a ternary model's F16 variant.")


def sha256_file(path: Path, progress: ProgressFn | None = None, cancel: threading.Event | None = None) -> str:
    h, done, total = hashlib.sha256(), 0, path.stat().st_size
    with open(path, "rb") as f:
        while block := f.read(HASH_CHUNK):
            h.update(block)
            done += len(block)
            if cancel is not None and cancel.is_set():
                raise DeriveCancelled("Derivation cancelled.")
            if progress:
                progress(DeriveProgress("hash", done / total if total else 1.0, done, total))
    return h.hexdigest()


def _run_child(src: Path, tmp: Path, ftype: int, emb: int, out: int, expected: int, threads: int,
               progress: ProgressFn | None, cancel: threading.Event, label: str = "") -> None:
    cmd = [*worker_command(), str(src), str(tmp), str(ftype), str(threads), str(emb), str(out)]
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("GGML_NO_BACKTRACE", "1")
    flags = subprocess.CREATE_NO_WINDOW if sys.platform == "win32" else 0
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, creationflags=flags)
    err: list[bytes] = []
    reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    while proc.poll() is None:
        if cancel.wait(0.1):
            proc.kill()
            proc.wait()
            raise DeriveCancelled("Derivation cancelled; nothing was kept.")
        if progress:
            done = tmp.stat().st_size if tmp.exists() else 0
            progress(DeriveProgress("convert", min(0.99, done / expected) if expected else 0.0, done, expected))
    reader.join(5)
    if proc.returncode != 0:
        full = _disk_full(tmp, expected, label or src.name)
        if full is not None:
            raise full
        tail = b"".join(err).decode("utf-8", "replace").strip().splitlines()[-3:]
        raise DeriveError(f"llama.cpp could not convert {src.name} (exit status {proc.returncode}).",
                          " ".join(tail) or "See the log for details.")


def _disk_full(tmp: Path, expected: int, label: str) -> DeriveError | None:
    """The error for a child that failed because the disk filled up: too little space left for the
    rest of the output (llama.cpp's own message is only "iostream error"); None otherwise."""
    written = tmp.stat().st_size if tmp.exists() else 0
    free, _ = free_space(tmp.parent)
    if free >= expected - written:
        return None
    tmp.unlink(missing_ok=True)  # nothing of a derivation can be resumed: give the space back first
    free, _ = free_space(tmp.parent)
    e = DeriveError(f"The disk filled up while deriving {label}: it needs about {amount(expected)} in "
                    f"{tmp.parent}, which has {amount(free)} free.",
                    "Free some space there and try again; the unfinished file was removed (a derivation "
                    "starts over).")
    e.code = "disk_full"
    return e


def derive_variant(registry: Registry, spec: str, to: str, progress: ProgressFn | None = None,
                   cancel: threading.Event | None = None, threads: int | None = None,
                   out_dir: Path | None = None) -> Variant:
    """Make the `to` variant (f16 | tq1_0 | tq2_0) of model `spec` and record it with its provenance.

    Returns the existing variant if the model already has one in that encoding. Raises DeriveError
    (bad source, llama.cpp failure), DeriveCancelled (nothing kept), UnknownModel.
    """
    to = to.lower()
    if to not in TARGETS:
        raise DeriveError(f"Cannot derive {to!r}.", "Choose f16, tq1_0 or tq2_0.")
    cancel = cancel or threading.Event()
    ftype, target, enc = TARGETS[to]
    source = pick_source(registry, spec, to)
    model = registry.find(source.model_name)
    existing = model.variant(enc) if model else None
    if existing is not None:
        return existing
    if source.encoding.upper() == enc:
        return source
    src = Path(source.path)
    try:
        header = read_header(src)
    except HeaderError as e:
        raise DeriveError(f"Cannot read {src}: {e.reason}.") from e
    if source.encoding.upper() not in ("TQ1_0", "TQ2_0"):
        if to == "f16":
            raise DeriveError(f"{source.model_name}:{source.encoding} is not ternary; F16 is derived from TQ1_0/TQ2_0.")
        check_ternary_sample(src)
    src_sha = source.sha256 or sha256_file(src, progress, cancel)
    folder = out_dir or paths().models / "derived"
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{source.model_name}-{enc}.gguf"
    tmp = out.with_name(out.name + ".part")
    emb = _tensor_type(header, "token_embd.weight")
    head = _tensor_type(header, "output.weight")
    expected = expected_output_bytes(header, target)
    free, where = free_space(folder)
    if expected > free:
        raise DeriveError(f"Not enough disk space for {source.model_name}:{enc}: it needs about "
                          f"{expected / 1e9:.2f} GB but {where} has {free / 1e9:.2f} GB free.",
                          "Free some space and try again; nothing was written.")
    try:
        _run_child(src, tmp, ftype, -1 if emb is None else emb, -1 if head is None else head, expected,
                   threads or os.cpu_count() or 2, progress, cancel, f"{source.model_name}:{enc}")
        if progress:
            progress(DeriveProgress("check", 1.0, expected, expected))
        got = read_header(tmp)
        if got.encoding != enc:
            raise DeriveError(f"llama.cpp wrote {got.encoding} instead of {enc} for {source.model_name}.",
                              "Some weight matrices may not be a multiple of 256 wide, which TQ needs.")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    fallback = sorted({t.type_name for t in got.tensors if len(t.shape) >= 2} - {enc, _name(emb), _name(head)})
    variant = registry.add_variant(
        source.model_name, out, enc, "derived", derived_from_path=str(src), derived_from_sha256=src_sha,
        source_repo=source.source_repo, source_file=source.source_file, complete=1, verified=0,
        info={"method": f"llama_model_quantize {source.encoding}→{enc}, embeddings kept as {_name(emb)}",
              "derived_at": time.time(), "other_encodings": fallback, **_label(source)},
    )
    if progress:
        progress(DeriveProgress("done", 1.0, variant.file_bytes, variant.file_bytes))
    return variant


def _name(type_id: int | None) -> str:
    if type_id is None:
        return "—"
    try:
        return GGMLQuantizationType(type_id).name
    except ValueError:
        return f"type {type_id}"


def _label(source: Variant) -> dict[str, object]:
    """Carry the synthetic label (and shape/seed) over, so a derived demo variant still says what it is."""
    return {k: source.info[k] for k in ("label", "shape", "seed") if k in source.info}
