#!/usr/bin/env bash
# Build (once) the portable llama-cpp-python wheel the bundle ships, and print its path.
#
# Portable = GGML_NATIVE=OFF + GGML_BACKEND_DL=ON + GGML_CPU_ALL_VARIANTS=ON: one libggml-cpu-<variant>
# library per CPU generation, loaded at run time by backend/engine/cpu_backends.py. The variants are
# installed into llama_cpp/lib (CMAKE_INSTALL_BINDIR) so they travel with the package. The wheel is
# cached under build/wheels/<version>-<flags hash>/, so a second `make package` skips the ~30-minute
# compile. pip's own wheel cache is bypassed on purpose: it would hand back the native build.
#
# usage: build_llama_wheel.sh PYTHON OUT_ROOT   (env LLAMA_CPP_VERSION, PORTABLE_CMAKE_ARGS)
set -euo pipefail
PY=${1:?python}; OUT_ROOT=${2:?output dir}
VERSION=${LLAMA_CPP_VERSION:-0.3.36}
ARGS=${PORTABLE_CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DCMAKE_INSTALL_BINDIR=llama_cpp/lib}
KEY=$(printf '%s %s %s' "$VERSION" "$ARGS" "$(uname -sm)" | sha256sum | cut -c1-12)
DIR="$OUT_ROOT/$VERSION-$KEY"
shopt -s nullglob
found=("$DIR"/llama_cpp_python-*.whl)
if [ ${#found[@]} -gt 0 ]; then echo "${found[0]}"; exit 0; fi
mkdir -p "$DIR.tmp"
echo "Building the portable llama-cpp-python $VERSION (all CPU variants; ~30 min on 2 cores) …" >&2
echo "  CMAKE_ARGS=$ARGS" >&2
CMAKE_ARGS="$ARGS" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
    "$PY" -m pip wheel --no-cache-dir --no-deps --no-binary llama-cpp-python \
    --wheel-dir "$DIR.tmp" "llama-cpp-python==$VERSION" >"$DIR.log" 2>&1 \
    || { echo "wheel build failed; see $DIR.log" >&2; tail -30 "$DIR.log" >&2; exit 1; }
rm -rf "$DIR"; mv "$DIR.tmp" "$DIR"; mv "$DIR.log" "$DIR/build.log"
found=("$DIR"/llama_cpp_python-*.whl)
echo "${found[0]}"
