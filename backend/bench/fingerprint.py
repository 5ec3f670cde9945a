"""What a benchmark ran on, stored with every run so figures from different days can be compared.

CPU model, cores and the threads used, RAM, OS, the llama.cpp build and the SIMD paths it
reported (from the engine worker that ran, not from this process), the power source and its
label, Tern's version, and each model file with its sha256.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from backend.bench.energy import PowerLabel
from backend.bench.pairing import Pair, SideSpec
from backend.engine.build_info import parse_system_info, ternary_fast_path
from backend.engine.hardware import cpu_name
from backend.engine.protocol import ModelInfo

_SHA_CACHE: dict[tuple[str, int, int], str] = {}


def dist_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def sha256_file(path: Path, progress: Callable[[float], None] | None = None, chunk: int = 4 << 20) -> str:
    """The file's sha256, computed once per (path, size, mtime) in this process."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key in _SHA_CACHE:
        return _SHA_CACHE[key]
    h = hashlib.sha256()
    done = 0
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
            done += len(block)
            if progress and st.st_size:
                progress(done / st.st_size)
    _SHA_CACHE[key] = h.hexdigest()
    return _SHA_CACHE[key]


def machine(threads: int) -> dict[str, Any]:
    return {
        "cpu": cpu_name(),
        "cores_physical": psutil.cpu_count(logical=False) or os.cpu_count() or 0,
        "cores_logical": psutil.cpu_count(logical=True) or os.cpu_count() or 0,
        "threads_used": threads,
        "ram_total_bytes": psutil.virtual_memory().total,
        "os": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version() + (" (frozen)" if getattr(sys, "frozen", False) else ""),
    }


def build(system_info: str) -> dict[str, Any]:
    """llama.cpp as the engine worker reported it (llama_print_system_info)."""
    features = parse_system_info(system_info)
    fast, note = ternary_fast_path(features)
    return {
        "llama_cpp_python": dist_version("llama-cpp-python"),
        "simd": features,
        "ternary_fast_path": fast,
        "ternary_fast_note": note,
        "system_info": system_info,
    }


def model_entry(side: SideSpec, sha256: str | None, info: ModelInfo | None) -> dict[str, Any]:
    return {
        "role": side.role,
        "model": side.model_name,
        "encoding": side.encoding,
        "path": str(side.path),
        "file_bytes": side.file_bytes,
        "sha256": sha256,
        "n_params": side.n_params,
        "architecture": side.architecture,
        "synthetic": side.synthetic,
        "shape": side.shape_name,
        "n_ctx": info.n_ctx if info else None,
        "kv_bytes": info.kv_bytes if info else None,
        "load_ms": info.load_ms if info else None,
    }


def fingerprint(pair: Pair, threads: int, power: PowerLabel, tern_version: str | None = None,
                infos: dict[str, ModelInfo] | None = None, hashes: dict[str, str | None] | None = None,
                ) -> dict[str, Any]:
    infos = infos or {}
    hashes = hashes or {}
    system_info = next((i.system_info for i in infos.values() if i.system_info), "")
    return {
        "machine": machine(threads),
        "llama_cpp": build(system_info),
        "power": power.to_dict(),
        "tern_version": tern_version or dist_version("tern-chat"),
        "models": {role: model_entry(side, hashes.get(role), infos.get(role)) for role, side in pair.sides.items()},
        "same_weights": pair.same_weights,
        "weights_note": pair.weights_note,
    }


def model_hashes(pair: Pair, progress: Callable[[str, float], None] | None = None) -> dict[str, str | None]:
    """sha256 of both files: the registry's record when it has one, else computed — and then recorded in
    the registry, so a big F16 file is read through once, not at every comparison."""
    out: dict[str, str | None] = {}
    for role, side in pair.sides.items():
        known = side.variant.sha256 if side.variant else None
        out[role] = known or sha256_file(side.path, (lambda f, r=role: progress(r, f)) if progress else None)
        if not known and side.variant is not None and pair.registry is not None:
            pair.registry.update_variant(side.variant.id, sha256=out[role])
    return out
