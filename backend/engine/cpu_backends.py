"""Loading llama.cpp's CPU backend variants in a portable build (GGML_BACKEND_DL=ON).

A native build (the default for `pip install`) links one CPU backend into libggml and needs
nothing here. A portable build — the one Tern's bundles ship — has no CPU backend inside libggml;
it ships one `libggml-cpu-<variant>` library per CPU generation (x64, sse42, haswell, skylakex,
… on x86; armv8.x / apple_m* on ARM) next to libggml in `llama_cpp/lib`. llama-cpp-python does
not load them, so Tern does what ggml's own `ggml_backend_load_best("cpu")` does: open each
variant, ask its `ggml_backend_score()` whether this CPU can run it (0 = no) and how well, and
load the best one with `ggml_backend_load`. Doing the scoring here, rather than calling
`ggml_backend_load_all_from_path`, lets Tern say exactly which variant is in use.

`TERN_CPU_VARIANT=<name>` picks a variant by hand (for example `x64` to see how Tern behaves on
a CPU without AVX2); a variant this CPU cannot run is refused rather than crashing on an illegal
instruction. `TERN_GGML_BACKEND_DIR` points at another folder of variant libraries.
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from backend.errors import TernError

log = logging.getLogger("tern.engine")

NATIVE = "built in (native build)"
_lock = threading.Lock()
_status: CpuBackend | None = None


@dataclass(frozen=True)
class CpuBackend:
    """Which CPU backend llama.cpp runs on in this process, and how it was chosen."""

    kind: str  # "native" (linked into libggml) or "portable" (a variant library loaded at start)
    variant: str = ""  # e.g. "haswell"; empty for a native build
    path: str = ""
    scores: dict[str, int] = field(
        default_factory=dict
    )  # every variant found → its score here (0 = cannot run)
    forced: bool = False

    @property
    def description(self) -> str:
        if self.kind == "native":
            return NATIVE
        usable = sum(1 for s in self.scores.values() if s > 0)
        how = "chosen by hand (TERN_CPU_VARIANT)" if self.forced else "best for this CPU"
        return f"{self.variant} ({how}; {usable} of {len(self.scores)} bundled variants can run here)"


def lib_dir() -> Path:
    """llama-cpp-python's library folder (llama_cpp/lib, or LLAMA_CPP_LIB_PATH); a bundle keeps the layout."""
    from llama_cpp import llama_cpp as lib_module

    return Path(lib_module._base_path)


def ggml_library(folder: Path) -> Path:
    """The libggml file libllama itself links against (by its soname), not just any copy of it.

    Wheels store libggml.so, libggml.so.0 and libggml.so.0.x.y as separate copies. libllama loads
    `libggml.so.0` (macOS: `libggml.0.dylib`); opening another copy (as llama_cpp._ggml does with
    libggml.so) maps a second libggml with its own, empty backend registry, and a CPU backend
    registered there is invisible to llama.cpp. Opening the soname's path returns the copy
    already in the process.
    """
    if sys.platform == "win32":
        names = [p.name for p in folder.glob("*ggml.dll")]
        pattern = re.compile(r"(lib)?ggml\.dll")
    elif sys.platform == "darwin":
        names = [p.name for p in folder.glob("libggml.*dylib")]
        pattern = re.compile(r"libggml\.\d+\.dylib")
    else:
        names = [p.name for p in folder.glob("libggml.so*")]
        pattern = re.compile(r"libggml\.so\.\d+")
    matches = sorted(n for n in names if pattern.fullmatch(n))
    if matches:
        return folder / matches[0]
    plain = folder / {"win32": "ggml.dll", "darwin": "libggml.dylib"}.get(sys.platform, "libggml.so")
    return plain


def _libggml() -> ctypes.CDLL:
    lib = ctypes.CDLL(str(ggml_library(lib_dir())))
    lib.ggml_backend_reg_by_name.argtypes = [ctypes.c_char_p]
    lib.ggml_backend_reg_by_name.restype = ctypes.c_void_p
    lib.ggml_backend_load.argtypes = [ctypes.c_char_p]
    lib.ggml_backend_load.restype = ctypes.c_void_p
    return lib


def backend_dir() -> Path:
    """Where the CPU variant libraries live: next to libggml in llama_cpp/lib, unless overridden."""
    override = os.environ.get("TERN_GGML_BACKEND_DIR")
    return Path(override) if override else lib_dir()


def _name_parts() -> tuple[str, str]:
    # ggml's backend_filename_prefix()/extension(): MODULE libraries end in .so on macOS too.
    return ("ggml-cpu-", ".dll") if sys.platform == "win32" else ("libggml-cpu-", ".so")


def variant_files(folder: Path) -> dict[str, Path]:
    """The CPU variant libraries in `folder`, by variant name ("haswell" → libggml-cpu-haswell.so)."""
    prefix, suffix = _name_parts()
    if not folder.is_dir():
        return {}
    found = {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith(prefix) and p.name.endswith(suffix) and p.is_file():
            found[p.name[len(prefix) : -len(suffix)]] = p
    return found


def _score(path: Path) -> int:
    """What the variant's own ggml_backend_score() says about this CPU (0 = it cannot run here).

    Opening a variant is safe on any CPU: ggml compiles the scoring code without the variant's
    instruction set extensions, exactly so that loaders can do this.
    """
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as e:
        log.warning("cannot open CPU variant %s: %s", path.name, e)
        return 0
    try:
        fn = lib.ggml_backend_score
    except AttributeError:
        return 0
    fn.restype = ctypes.c_int
    fn.argtypes = []
    score = int(fn())
    _close(lib)
    return score


def _close(lib: ctypes.CDLL) -> None:
    """Unmap a library opened only to score it, so unused variants cost no memory."""
    import _ctypes

    try:
        if sys.platform == "win32":
            _ctypes.FreeLibrary(lib._handle)  # type: ignore[attr-defined]
        else:
            _ctypes.dlclose(lib._handle)  # type: ignore[attr-defined]
    except (OSError, AttributeError):
        pass


def _load() -> CpuBackend:
    lib = _libggml()
    if lib.ggml_backend_reg_by_name(b"CPU"):
        return CpuBackend("native")
    folder = backend_dir()
    files = variant_files(folder)
    if not files:
        prefix, suffix = _name_parts()
        raise TernError(
            f"This llama.cpp build has no CPU backend: no {prefix}*{suffix} libraries in {folder}.",
            "Reinstall Tern; the bundle is incomplete.",
        )
    scores = {name: _score(path) for name, path in files.items()}
    wanted = os.environ.get("TERN_CPU_VARIANT", "").strip()
    if wanted:
        if wanted not in files:
            raise TernError(
                f"TERN_CPU_VARIANT={wanted!r} is not one of the bundled CPU variants: {', '.join(files)}.",
                "Unset TERN_CPU_VARIANT or pick one of those.",
            )
        if scores[wanted] <= 0:
            raise TernError(
                f"TERN_CPU_VARIANT={wanted!r} needs instructions this CPU does not have.",
                f"Pick one this CPU can run: {', '.join(n for n, s in scores.items() if s > 0)}.",
            )
        best = wanted
    else:
        best = max(scores, key=lambda n: scores[n])
        if scores[best] <= 0:
            raise TernError(
                f"None of the bundled CPU variants ({', '.join(files)}) can run on this CPU.",
                "Tern needs at least an x86-64 or ARMv8 CPU.",
            )
    if not _load_quietly(lib, files[best]):
        raise TernError(
            f"llama.cpp could not load its CPU backend {files[best]}.",
            "Reinstall Tern; the file may be damaged.",
        )
    import llama_cpp

    if b"CPU" not in llama_cpp.llama_print_system_info():
        raise TernError(
            f"The CPU backend {files[best].name} loaded, but llama.cpp does not see it "
            f"(two copies of libggml in {lib_dir()}?).",
            "Reinstall Tern; the bundle is inconsistent.",
        )
    log.info("CPU backend: %s (scores: %s)", best, scores)
    return CpuBackend("portable", best, str(files[best]), scores, forced=bool(wanted))


def _load_quietly(lib: ctypes.CDLL, path: Path) -> bool:
    """ggml_backend_load, without ggml's "loaded CPU backend from …" line on stderr at every start.

    llama-cpp-python prints ggml's log on stderr while its "llama-cpp-python" logger's level is unset,
    and its level table predates ggml's current enum (ggml INFO arrives as WARNING, WARN as ERROR),
    so ERROR here hides the info line and keeps ggml's warnings. A failed load is reported by the caller.
    """
    quiet = logging.getLogger("llama-cpp-python")
    previous = quiet.level
    if previous == logging.NOTSET:
        quiet.setLevel(logging.ERROR)
    try:
        return bool(lib.ggml_backend_load(str(path).encode()))
    finally:
        quiet.setLevel(previous)


def status() -> CpuBackend:
    """Load the CPU backend once per process (idempotent, thread-safe) and say which one it is."""
    global _status
    with _lock:
        if _status is None:
            _status = _load()
        return _status


def ensure_loaded() -> str:
    """Make sure a CPU backend is registered; returns a description of the one in use."""
    return status().description
