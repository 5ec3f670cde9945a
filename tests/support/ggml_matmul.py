"""ggml's CPU matrix product, called through ctypes on the very libraries llama_cpp loads.

`GgmlCpu.matmul` builds a one-node graph (ggml_mul_mat of a packed weight matrix and F32
activations) and computes it with `ggml_graph_compute_with_ctx`, the same ggml code path the
engine's llama.cpp takes for every linear layer: Q8_K quantization of the activations, the
thread split, the vec_dot kernel for one column (decode) and the tiled GEMM for eight or more
(prompts). `quantize_q8_k` is the activation quantizer itself.
"""

from __future__ import annotations

import ctypes
import re
import time
from pathlib import Path

import numpy as np

GGML_TYPE_F32 = 0
GGML_TYPE_Q8_K = 15
Q8_K_BLOCK_BYTES = 4 + 256 + 16 * 2  # float d, int8 qs[256], int16 bsums[16]


class _InitParams(ctypes.Structure):
    _fields_ = [("mem_size", ctypes.c_size_t), ("mem_buffer", ctypes.c_void_p), ("no_alloc", ctypes.c_bool)]


class _TypeTraitsCpu(ctypes.Structure):
    _fields_ = [("from_float", ctypes.c_void_p), ("vec_dot", ctypes.c_void_p), ("vec_dot_type", ctypes.c_int),
                ("nrows", ctypes.c_int64)]


_FROM_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)


def _soname_file(folder: Path, stem: str) -> Path:
    """`libggml-base.so.0` rather than one of the wheel's other identical copies: the copy libllama
    links is the one already in the process, so its globals are shared with the engine's."""
    names = sorted(p.name for p in folder.glob(f"{stem}.so*"))
    for name in names:
        if re.fullmatch(rf"{re.escape(stem)}\.so\.\d+", name):
            return folder / name
    if (folder / f"{stem}.so").exists():
        return folder / f"{stem}.so"
    raise FileNotFoundError(f"no {stem}.so in {folder}")


def cpu_library_paths() -> tuple[Path, Path]:
    """(libggml-base, the CPU backend library) that llama_cpp runs on in this process."""
    import llama_cpp  # noqa: F401 - loads the libraries first, so ours are the same mappings

    from backend.engine import cpu_backends

    folder = cpu_backends.lib_dir()
    status = cpu_backends.status()
    cpu = Path(status.path) if status.kind == "portable" else _soname_file(folder, "libggml-cpu")
    return _soname_file(folder, "libggml-base"), cpu


class GgmlCpu:
    def __init__(self) -> None:
        base_path, cpu_path = cpu_library_paths()
        self.cpu_path = cpu_path
        base = ctypes.CDLL(str(base_path))
        cpu = ctypes.CDLL(str(cpu_path))
        vp, i64 = ctypes.c_void_p, ctypes.c_int64
        self._sig(base.ggml_init, vp, [_InitParams])
        self._sig(base.ggml_free, None, [vp])
        self._sig(base.ggml_new_tensor_2d, vp, [vp, ctypes.c_int, i64, i64])
        self._sig(base.ggml_get_data, vp, [vp])
        self._sig(base.ggml_nbytes, ctypes.c_size_t, [vp])
        self._sig(base.ggml_mul_mat, vp, [vp, vp, vp])
        self._sig(base.ggml_new_graph, vp, [vp])
        self._sig(base.ggml_build_forward_expand, None, [vp, vp])
        self._sig(base.ggml_row_size, ctypes.c_size_t, [ctypes.c_int, i64])
        self._sig(cpu.ggml_cpu_init, None, [])
        self._sig(cpu.ggml_graph_compute_with_ctx, ctypes.c_int, [vp, vp, ctypes.c_int])
        self._sig(cpu.ggml_get_type_traits_cpu, ctypes.POINTER(_TypeTraitsCpu), [ctypes.c_int])
        self.base, self.cpu = base, cpu
        cpu.ggml_cpu_init()

    @staticmethod
    def _sig(fn, restype, argtypes) -> None:
        fn.restype, fn.argtypes = restype, argtypes

    def row_size(self, ggml_type: int, k: int) -> int:
        return int(self.base.ggml_row_size(ggml_type, k))

    def traits(self, ggml_type: int) -> _TypeTraitsCpu:
        return self.cpu.ggml_get_type_traits_cpu(ggml_type).contents

    def quantize_q8_k(self, x: np.ndarray) -> np.ndarray:
        """The CPU backend's Q8_K quantizer on one row: its raw blocks, (K / 256, 292) uint8."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.zeros(x.size // 256 * Q8_K_BLOCK_BYTES, dtype=np.uint8)
        _FROM_FLOAT(self.traits(GGML_TYPE_Q8_K).from_float)(x.ctypes.data, out.ctypes.data, x.size)
        return out.reshape(-1, Q8_K_BLOCK_BYTES)

    def matmul(self, ggml_type: int, packed: np.ndarray, k: int, x: np.ndarray, threads: int) -> np.ndarray:
        """W @ x.T for W of `ggml_type` (packed rows, as gguf.quants writes them) and x (cols, k): (cols, rows)."""
        return self.run_matmul(ggml_type, packed, k, x, threads)[0]

    def run_matmul(self, ggml_type: int, packed: np.ndarray, k: int, x: np.ndarray, threads: int,
                   nodes: int = 1, runs: int = 1) -> tuple[np.ndarray, float]:
        """(W @ x.T, the best of `runs` timings of one mul_mat node, in seconds). With nodes > 1 the
        graph holds that many products of the same W (each its own copy of x), one after another,
        and the time is the graph's divided by `nodes`: small products are timed without the
        per-call overhead of ctypes and graph planning."""
        rows = packed.shape[0]
        cols = x.shape[0]
        assert packed.nbytes == rows * self.row_size(ggml_type, k), "packed rows do not match the type's row size"
        per_node = x.nbytes + 4 * rows * cols + 4096
        # each compute call takes a new work buffer from the context: Q8_K activations, tiled scratch
        work = 2 * cols * k + (threads + 1) * (600 << 10) + 4096
        mem = packed.nbytes + nodes * per_node + runs * work + (1 << 20)
        ctx = self.base.ggml_init(_InitParams(mem, None, False))
        if not ctx:
            raise MemoryError("ggml_init failed")
        try:
            w = self.base.ggml_new_tensor_2d(ctx, ggml_type, k, rows)
            ctypes.memmove(self.base.ggml_get_data(w), np.ascontiguousarray(packed).ctypes.data, packed.nbytes)
            xf = np.ascontiguousarray(x, dtype=np.float32)
            graph = self.base.ggml_new_graph(ctx)
            outs = []
            for _ in range(nodes):
                a = self.base.ggml_new_tensor_2d(ctx, GGML_TYPE_F32, k, cols)
                ctypes.memmove(self.base.ggml_get_data(a), xf.ctypes.data, xf.nbytes)
                outs.append(self.base.ggml_mul_mat(ctx, w, a))
                self.base.ggml_build_forward_expand(graph, outs[-1])
            best = float("inf")
            for _ in range(runs):
                t0 = time.perf_counter()
                status = self.cpu.ggml_graph_compute_with_ctx(ctx, graph, threads)
                best = min(best, time.perf_counter() - t0)
                if status != 0:
                    raise RuntimeError(f"ggml_graph_compute_with_ctx returned {status}")
            result = np.empty((cols, rows), dtype=np.float32)
            ctypes.memmove(result.ctypes.data, self.base.ggml_get_data(outs[-1]), result.nbytes)
            return result, best / nodes
        finally:
            self.base.ggml_free(ctx)
