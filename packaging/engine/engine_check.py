"""Check the patched engine's ternary kernels with llama.cpp's own test-backend-ops (`make engine-check`).

    python packaging/engine/engine_check.py [--variant NAME ...] [--cache DIR]

Builds test-backend-ops from the same pinned sdist and patch set as the engine wheel
(build_wheel.py: same download, hash check and `patch --fuzz=0`), in a folder outside the clone
keyed like the wheels (by sdist and patches; one build folder per variant inside), so a rerun
only recompiles what changed. Then runs MUL_MAT and MUL_MAT_ID with TQ1_0/TQ2_0 weights: the CPU backend against its
reference run, which uses the scalar dot products (patch 0005), so the SIMD kernels (vec_dot for
one column, the tiled GEMM for eight or more) are compared with plain C.

By default the code is built for this machine (GGML_NATIVE). `--variant` builds it as one of
ggml's x86 CPU variants of a portable bundle instead, to exercise the other code paths on this
machine: haswell (AVX2), skylakex (AVX-512 without VNNI/VBMI), cascadelake (+VNNI), icelake
(+VBMI), zen4 (+BF16). A variant this CPU cannot run is refused.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

_spec = importlib.util.spec_from_file_location("tern_build_wheel", Path(__file__).with_name("build_wheel.py"))
bw = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bw)

BuildError = bw.BuildError
TEST_FLAGS = ("-DCMAKE_BUILD_TYPE=Release -DLLAMA_BUILD_TESTS=ON -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF "
              "-DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF -DLLAVA_BUILD=OFF")
_X86 = "-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_F16C=ON -DGGML_FMA=ON -DGGML_AVX2=ON -DGGML_BMI2=ON"
# ggml/src/CMakeLists.txt's x86 variants (name → extra CMake flags, /proc/cpuinfo flags it needs)
VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "haswell": ("", ("avx2", "fma", "f16c", "bmi2")),
    "skylakex": ("-DGGML_AVX512=ON", ("avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd")),
    "cascadelake": ("-DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON", ("avx512f", "avx512bw", "avx512_vnni")),
    "icelake": ("-DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON",
                ("avx512f", "avx512bw", "avx512vbmi", "avx512_vnni")),
    "zen4": ("-DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON",
             ("avx512f", "avx512bw", "avx512vbmi", "avx512_vnni", "avx512_bf16")),
}
OPS = "MUL_MAT,MUL_MAT_ID"
PARAMS = "type_a=tq"


def cmake_flags(variant: str) -> str:
    if variant == "native":
        return f"{TEST_FLAGS} -DGGML_NATIVE=ON"
    extra = VARIANTS[variant][0]
    return f"{TEST_FLAGS} {_X86} {extra}".strip()


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    m = re.search(r"^flags\s*:\s*(.*)$", text, re.M)
    return set(m.group(1).split()) if m else set()


def source_tree(root: Path, key: str) -> Path:
    """The vendored llama.cpp of the pinned sdist with the patch set applied, made once per key
    (sdist and patches); trees of earlier patch sets are removed."""
    tree = root / "engine-check" / key / "llama.cpp"
    if (tree / ".tern-patched").exists():
        return tree
    for old in (root / "engine-check").glob("*"):
        if old.is_dir() and old.name != key:
            shutil.rmtree(old, ignore_errors=True)
    tree.parent.mkdir(parents=True, exist_ok=True)
    sdist = bw.fetch_sdist(root)
    with tempfile.TemporaryDirectory(dir=tree.parent) as tmp:
        with tarfile.open(sdist) as tar:
            tar.extractall(tmp, filter="data")
        vendored = Path(tmp) / f"llama_cpp_python-{bw.VERSION}" / "vendor" / "llama.cpp"
        applied = bw.apply_patches(vendored)
        (vendored / ".tern-patched").write_text("".join(f"{a['name']} {a['sha256']}\n" for a in applied))
        shutil.rmtree(tree, ignore_errors=True)
        os.replace(vendored, tree)
    return tree


def build(tree: Path, variant: str, flags: str) -> Path:
    build_dir = tree / f"build-{variant}"
    log = tree.parent / f"build-{variant}.log"
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
    with open(log, "w") as lf:
        for cmd in (["cmake", "-S", str(tree), "-B", str(build_dir), *gen, *flags.split()],
                    ["cmake", "--build", str(build_dir), "--target", "test-backend-ops", "-j", jobs]):
            if subprocess.run(cmd, stdout=lf, stderr=subprocess.STDOUT).returncode != 0:
                tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-25:])
                raise BuildError(f"building test-backend-ops ({variant}) failed; last lines of {log}:\n{tail}")
    return build_dir / "bin" / "test-backend-ops"


def run(binary: Path, variant: str) -> bool:
    """test-backend-ops on the ternary cases; True if it ran some and all passed."""
    cmd = [str(binary), "test", "-b", "CPU", "-o", OPS, "-p", PARAMS]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, GGML_NO_BACKTRACE="1"))
    out = proc.stdout + proc.stderr
    for line in out.splitlines():
        if "FAIL" in line:
            print(f"  {line.strip()}")
    counts = [tuple(map(int, m)) for m in re.findall(r"(\d+)/(\d+) tests passed", out)]
    passed, total = sum(c[0] for c in counts), sum(c[1] for c in counts)
    ok = proc.returncode == 0 and total > 0 and passed == total
    print(f"test-backend-ops [{variant}] {OPS} ({PARAMS}): {passed}/{total} passed"
          + ("" if total else " — no ternary cases ran, so nothing was checked"))
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variant", action="append", choices=["native", *VARIANTS],
                    help="build for this machine (native, the default) or as a portable CPU variant; repeatable")
    ap.add_argument("--cache", type=Path, default=None, help="cache folder (default: the user cache dir)")
    args = ap.parse_args(argv)
    root = args.cache or bw.cache_root()
    have = cpu_flags()
    ok = True
    try:
        for variant in args.variant or ["native"]:
            if variant != "native" and have and not set(VARIANTS[variant][1]) <= have:
                missing = " ".join(sorted(set(VARIANTS[variant][1]) - have))
                print(f"test-backend-ops [{variant}]: not run, this CPU lacks {missing}", file=sys.stderr)
                ok = False
                continue
            key = bw.build_key("test-backend-ops")  # the tree depends on the sdist and patches only
            with bw.locked(root / "engine-check" / f"{key}.lock"):
                tree = source_tree(root, key)
                print(f"Building test-backend-ops [{variant}] in {tree.parent} …", flush=True)
                ok = run(build(tree, variant, cmake_flags(variant)), variant) and ok
    except BuildError as e:
        print(f"engine check: {e}", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
