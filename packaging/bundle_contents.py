"""What goes into Tern's PyInstaller bundle besides what PyInstaller finds by itself.

Kept apart from the spec (plain Python, no PyInstaller import) so `make test` can check the
list — assets, llama.cpp libraries, the worker entry point — without building a bundle.

- Tern's own modules, all of them: `app/cli/*` commands are found with pkgutil at run time and
  assets are read with importlib.resources, so import analysis alone would miss them.
- `assets/**` data files at the same relative paths (importlib.resources works in the bundle).
- the engine build's manifest `llama_cpp/tern_engine.json` (which patches the engine carries).
- keyring's backends (the HF token goes to the OS keyring) and keyring's metadata: keyring finds
  its backends through entry points, which a frozen app only has if the metadata is bundled.
- the local server's uvicorn parts, which uvicorn imports by name from its settings
  (backend/server/local.py picks h11, the asyncio loop and no lifespan; SERVER_MODULES).
- llama-cpp-python's shared libraries from `llama_cpp/lib`: PyInstaller does not see ctypes
  loads. Unversioned names (libllama.so, loaded by path) and soname copies (libggml.so.0, which
  libllama links against) are kept; the fully versioned duplicates wheels also carry
  (libggml.so.0.25.3) are left out. CPU variant libraries (libggml-cpu-haswell.so, …) of a
  portable build go along, since the engine picks one at start (backend/engine/cpu_backends.py).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "backend", "ui", "assets")
ENTRY = ROOT / "packaging" / "tern_entry.py"
WORKER_MODULE = "backend.engine.worker"
# Never needed at run time; some are installed in a build venv and would otherwise be swept in.
EXCLUDES = [
    "tkinter",
    "_tkinter",
    "pytest",
    "_pytest",
    "hypothesis",
    "pytestqt",
    "IPython",
    "matplotlib",
    "PIL",
    "llama_cpp.server",
    "PyInstaller",
    "openai",  # the server's tests drive it with the openai client; the app never imports it
]
# uvicorn loads these by name (uvicorn.config: HTTP_PROTOCOLS, LOOP_FACTORIES, LIFESPAN) for the
# settings backend/server/local.py gives it; import analysis cannot see them.
SERVER_MODULES = ["uvicorn.protocols.http.h11_impl", "uvicorn.loops.asyncio", "uvicorn.lifespan.off"]

# keyring's OS backends (each imports its platform's libraries only when used) and what they need.
KEYRING_MODULES = [
    "keyring.backends.SecretService",
    "keyring.backends.libsecret",
    "keyring.backends.kwallet",
    "keyring.backends.macOS",
    "keyring.backends.Windows",
    "keyring.backends.chainer",
    "keyring.backends.fail",
    "keyring.backends.null",
]
KEYRING_DEPS = {"linux": ["secretstorage", "jeepney"], "win32": ["win32ctypes.pywin32.win32cred"], "darwin": []}
METADATA = ["keyring"]  # packages whose dist-info must be bundled (entry points)

_VERSIONED_SO = re.compile(r".+\.so\.\d+\.\d+.*")  # libfoo.so.0.25.3: a duplicate of libfoo.so.0


def own_modules(root: Path = ROOT) -> list[str]:
    """Every module and package of Tern, by dotted name."""
    names = []
    for pkg in PACKAGES:
        for py in sorted((root / pkg).rglob("*.py")):
            rel = py.relative_to(root).with_suffix("")
            parts = list(rel.parts)
            if "__pycache__" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names.append(".".join(parts))
    return names


def asset_datas(root: Path = ROOT) -> list[tuple[str, str]]:
    """(source file, destination folder) for every non-Python file under assets/."""
    out = []
    for f in sorted((root / "assets").rglob("*")):
        if f.is_file() and f.suffix not in (".py", ".pyc") and "__pycache__" not in f.parts:
            out.append((str(f), str(f.parent.relative_to(root))))
    return out


def llama_lib_dir() -> Path:
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("bundle: llama_cpp is not installed in this Python; build the bundle venv first")
    return Path(next(iter(spec.submodule_search_locations))) / "lib"


def keep_library(name: str) -> bool:
    """Which files of llama_cpp/lib the bundle needs (see the module docstring)."""
    if sys.platform == "win32":
        return name.lower().endswith(".dll")
    if sys.platform == "darwin":
        return name.endswith((".dylib", ".so"))
    return (name.endswith(".so") or ".so." in name) and not _VERSIONED_SO.fullmatch(name)


def llama_binaries(lib_dir: Path | None = None) -> list[tuple[str, str]]:
    """(source, destination folder) for llama-cpp-python's shared libraries, at llama_cpp/lib."""
    lib_dir = lib_dir or llama_lib_dir()
    files = [p for p in sorted(lib_dir.iterdir()) if p.is_file() and keep_library(p.name)]
    if not any(p.name.startswith(("libllama", "llama")) for p in files):
        raise SystemExit(f"bundle: no llama library in {lib_dir}")
    return [(str(p), "llama_cpp/lib") for p in files]


def engine_datas(lib_dir: Path | None = None) -> list[tuple[str, str]]:
    """The engine build's manifest (llama_cpp/tern_engine.json: sdist, patches, flags), which
    `tern --version --verbose` reads; a bundle without it would claim a stock, unpatched engine."""
    manifest = (lib_dir or llama_lib_dir()).parent / "tern_engine.json"
    if not manifest.is_file():
        raise SystemExit(f"bundle: {manifest} is missing: llama-cpp-python was not built by packaging/engine")
    return [(str(manifest), "llama_cpp")]


def cpu_variants(binaries: list[tuple[str, str]]) -> list[str]:
    """Names of the portable CPU variants among the binaries ([] for a native build)."""
    out = []
    for src, _ in binaries:
        m = re.fullmatch(r"(?:lib)?ggml-cpu-(.+)\.(?:so|dll)", Path(src).name)
        if m:
            out.append(m.group(1))
    return out


def hiddenimports() -> list[str]:
    return [*own_modules(), WORKER_MODULE, "llama_cpp", "llama_cpp.llama_chat_format", *KEYRING_MODULES,
            *KEYRING_DEPS.get(sys.platform, []), *SERVER_MODULES]


def bundle_requirements(root: Path = ROOT) -> list[str]:
    """What the build venv installs besides the portable llama-cpp-python wheel (built separately)."""
    import tomllib

    deps = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    # llama-cpp-python's own dependencies, since its wheel is installed with --no-deps.
    return [d for d in deps if not d.lower().startswith("llama")] + [
        "jinja2>=2.11.3",
        "diskcache>=5.6.1",
        "typing-extensions>=4.5.0",
        "pyinstaller>=6.10,<7",
    ]


if __name__ == "__main__":
    # `python packaging/bundle_contents.py requirements` → one requirement per line (Makefile, release.yml)
    if sys.argv[1:] == ["requirements"]:
        print("\n".join(bundle_requirements()))
    else:
        raise SystemExit("usage: bundle_contents.py requirements")
