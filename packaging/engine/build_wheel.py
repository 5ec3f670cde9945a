"""Build (once) Tern's llama-cpp-python wheel: the pinned sdist with Tern's patch set applied.

    python packaging/engine/build_wheel.py [--portable] [--cache DIR]   → prints the wheel's path

The sdist is downloaded from PyPI and checked against its pinned sha256. Each patch in
`patches/` (NNNN-what.patch, applied in name order to the vendored llama.cpp) must apply
exactly (no fuzz); one that does not stops the build with its name and patch's own message.
The wheel carries `llama_cpp/tern_engine.json` (sdist, patches, flags), which `tern --version
--verbose` reads, and a local version label `+tern.<key>` so pip tells it from PyPI's build.

Wheels are cached outside the clone, keyed by the sdist's hash, the patches' bytes, the CMake
flags, the Python tag and the platform, so a second clone installs in seconds. A lock file keeps
two builds of the same key from racing.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

VERSION = "0.3.36"
SDIST = f"llama_cpp_python-{VERSION}.tar.gz"
SDIST_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
PATCHES = Path(__file__).resolve().parent / "patches"

# Tern needs the library only: no multimodal helper, tests, examples, tools or server.
LEAN = "-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF"
# A bundle for other laptops: one CPU backend per x86-64 generation, picked at run time.
PORTABLE = "-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DCMAKE_INSTALL_BINDIR=llama_cpp/lib"


class BuildError(Exception):
    pass


def cache_root() -> Path:
    if os.environ.get("TERN_BUILD_CACHE"):
        return Path(os.environ["TERN_BUILD_CACHE"])
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home())) / "tern" / "build-cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "tern"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tern"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def patch_files() -> list[Path]:
    return sorted(PATCHES.glob("[0-9][0-9][0-9][0-9]-*.patch"))


def patch_subject(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("Subject:"):
            return line.removeprefix("Subject:").replace("[PATCH]", "").strip()
    return ""


def build_key(cmake_args: str) -> str:
    h = hashlib.sha256()
    h.update(f"{SDIST_SHA256}\n{cmake_args}\n{sys.implementation.cache_tag}\n".encode())
    h.update(f"{sys.platform} {platform.machine()}\n".encode())
    for p in patch_files():
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def fetch_sdist(root: Path) -> Path:
    """The pinned sdist, from the cache or PyPI, verified by sha256."""
    target = root / "sdist" / SDIST
    if target.exists() and sha256_file(target) == SDIST_SHA256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
               "--dest", tmp, f"llama-cpp-python=={VERSION}"]
        if subprocess.run(cmd).returncode != 0:
            raise BuildError(f"could not download llama-cpp-python {VERSION}'s source from PyPI")
        got = Path(tmp) / SDIST
        if not got.exists():
            raise BuildError(f"PyPI did not return {SDIST}")
        digest = sha256_file(got)
        if digest != SDIST_SHA256:
            raise BuildError(f"{SDIST} has sha256 {digest}, expected {SDIST_SHA256}: refusing to build it")
        os.replace(got, target)
    return target


def apply_patches(llama_dir: Path) -> list[dict]:
    applied = []
    for p in patch_files():
        cmd = ["patch", "-p1", "--forward", "--batch", "--fuzz=0", "-d", str(llama_dir), "-i", str(p)]
        check = subprocess.run([*cmd, "--dry-run"], capture_output=True, text=True)
        if check.returncode != 0:
            raise BuildError(
                f"patch {p.name} does not apply to llama-cpp-python {VERSION}'s vendored llama.cpp:\n"
                f"{check.stdout}{check.stderr}"
                "Refresh the patch against the pinned sdist (or drop it if upstream now has the change)."
            )
        subprocess.run(cmd, check=True, capture_output=True)
        applied.append({"name": p.stem, "subject": patch_subject(p), "sha256": sha256_file(p)})
    return applied


def stamp_package(src: Path, key: str, cmake_args: str, applied: list[dict]) -> None:
    init = src / "llama_cpp" / "__init__.py"
    text = init.read_text(encoding="utf-8")
    old = f'__version__ = "{VERSION}"'
    if old not in text:
        raise BuildError(f"{init} does not declare {old}")
    init.write_text(text.replace(old, f'__version__ = "{VERSION}+tern.{key}"'), encoding="utf-8")
    manifest = {
        "llama_cpp_python": VERSION,
        "sdist_sha256": SDIST_SHA256,
        "build_key": key,
        "cmake_args": cmake_args,
        "patches": applied,
    }
    (src / "llama_cpp" / "tern_engine.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


@contextlib.contextmanager
def locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        try:
            import fcntl
        except ImportError:  # Windows: builds are not run concurrently there
            yield
            return
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def find_wheel(d: Path) -> Path | None:
    found = sorted(d.glob("llama_cpp_python-*.whl")) if d.is_dir() else []
    return found[0] if found else None


def build(portable: bool, root: Path) -> Path:
    cmake_args = " ".join(x for x in (LEAN, PORTABLE if portable else "", os.environ.get("CMAKE_ARGS", "")) if x)
    key = build_key(cmake_args)
    out = root / "engine-wheels" / key
    with locked(root / "engine-wheels" / f"{key}.lock"):
        if wheel := find_wheel(out):
            return wheel
        sdist = fetch_sdist(root)
        work = Path(tempfile.mkdtemp(prefix="tern-engine-", dir=root))
        log = root / "engine-wheels" / f"{key}.log"
        try:
            with tarfile.open(sdist) as tar:
                tar.extractall(work, filter="data")
            src = work / f"llama_cpp_python-{VERSION}"
            applied = apply_patches(src / "vendor" / "llama.cpp")
            stamp_package(src, key, cmake_args, applied)
            names = ", ".join(a["name"] for a in applied) or "none"
            print(f"Building llama-cpp-python {VERSION} with Tern's patches ({names});"
                  f" log: {log}", file=sys.stderr, flush=True)
            t0 = time.monotonic()
            env = dict(os.environ, CMAKE_ARGS=cmake_args)
            env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
            tmp_out = work / "wheel"
            with open(log, "w") as lf:
                rc = subprocess.run(
                    [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "--wheel-dir",
                     str(tmp_out), str(src)], stdout=lf, stderr=subprocess.STDOUT, env=env,
                ).returncode
            if rc != 0:
                tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-30:])
                raise BuildError(f"the llama-cpp-python build failed (exit {rc}); last lines of {log}:\n{tail}")
            wheel = find_wheel(tmp_out)
            if wheel is None:
                raise BuildError(f"pip reported success but wrote no wheel; see {log}")
            out.mkdir(parents=True, exist_ok=True)
            final = out / wheel.name
            shutil.move(str(wheel), final)
            print(f"Built in {time.monotonic() - t0:.0f} s: {final}", file=sys.stderr, flush=True)
            return final
        finally:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--portable", action="store_true", help="all CPU variants, loaded at run time (bundles)")
    ap.add_argument("--cache", type=Path, default=None, help="cache folder (default: the user cache dir)")
    ap.add_argument("--key", action="store_true", help="print the cache key and exit")
    args = ap.parse_args(argv)
    root = args.cache or cache_root()
    try:
        if args.key:
            cmake_args = " ".join(x for x in (LEAN, PORTABLE if args.portable else "",
                                              os.environ.get("CMAKE_ARGS", "")) if x)
            print(build_key(cmake_args))
            return 0
        print(build(args.portable, root))
        return 0
    except BuildError as e:
        print(f"engine build: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
