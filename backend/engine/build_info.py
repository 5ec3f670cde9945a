"""What the loaded llama.cpp build can do on this CPU: SIMD paths and the ternary fast path."""

from __future__ import annotations

import platform
import re
from functools import lru_cache
from typing import Any

from backend.engine.hardware import cpu_name


def parse_system_info(text: str) -> list[str]:
    """Feature names llama.cpp reports as on (`AVX2 = 1`), in order."""
    return [name for name, on in re.findall(r"([A-Z0-9_]+) = (\d)", text) if on == "1"]


AVX512_TERNARY_PATCH = "0002-x86-avx512-ternary-dot"  # packaging/engine/patches: Tern's AVX-512 TQ kernels


def ternary_fast_path(features: list[str], machine: str | None = None,
                      patches: list[str] | None = None) -> tuple[bool, str]:
    """llama.cpp's TQ1_0/TQ2_0 kernels are fast with AVX2 on x86 and NEON on ARM; scalar otherwise.
    With Tern's patch set (`patches`, default: the installed engine's) an AVX-512 build runs 512-bit
    kernels, with VNNI and VBMI where the build has them."""
    machine = (machine or platform.machine()).lower()
    if machine in ("arm64", "aarch64") or machine.startswith("arm"):
        ok = "NEON" in features
        return ok, "yes (NEON)" if ok else "no — this ARM build lacks NEON; ternary models will be slow here"
    ok = "AVX2" in features
    if not ok:
        return False, "no — this CPU or build lacks AVX2; ternary models will be slow here"
    if "AVX512" in features and AVX512_TERNARY_PATCH in (engine_patches() if patches is None else patches):
        extras = [name for name in ("VNNI", "VBMI") if f"AVX512_{name}" in features]
        return True, "yes (AVX-512" + "".join(f", {e}" for e in extras) + ")"
    return True, "yes (AVX2)"


@lru_cache(maxsize=1)
def engine_manifest() -> dict[str, Any] | None:
    """What Tern's engine build wrote into llama_cpp (packaging/engine/build_wheel.py): the pinned
    sdist, its hash, the patches applied and the CMake flags. None for a stock llama-cpp-python."""
    import importlib.util
    import json
    from pathlib import Path

    try:  # found, not imported: importing llama_cpp would load the engine's C library into the window
        spec = importlib.util.find_spec("llama_cpp")
        if spec is None or spec.origin is None:
            return None
        manifest = json.loads((Path(spec.origin).parent / "tern_engine.json").read_text("utf-8"))
    except (OSError, ValueError, ImportError):
        return None
    return manifest if isinstance(manifest, dict) else None


def engine_patches() -> list[str]:
    """Names of the patches in the installed engine (empty for a stock build)."""
    manifest = engine_manifest() or {}
    patches = manifest.get("patches")
    if not isinstance(patches, list):
        return []
    return [str(p.get("name")) for p in patches if isinstance(p, dict) and p.get("name")]


@lru_cache(maxsize=1)
def build_info() -> dict[str, Any]:
    """The CPU backend in use (loaded now if this is a portable build), SIMD paths, the ternary verdict."""
    import llama_cpp

    from backend.engine import cpu_backends

    backend = cpu_backends.status()
    text = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    features = parse_system_info(text)
    fast, note = ternary_fast_path(features)
    return {
        "cpu": cpu_name(),
        "backend": backend.description,
        "backend_kind": backend.kind,  # "native" or "portable"
        "variant": backend.variant,  # the CPU variant library in use ("" for a native build)
        "variant_scores": dict(backend.scores),
        "simd": ", ".join(features),
        "features": features,
        "ternary_fast": fast,
        "ternary_fast_note": note,
        "system_info": text.strip(),
        "patches": engine_patches(),
    }
