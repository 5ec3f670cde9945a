"""Will a model fit in RAM? File size plus KV cache at a context length against RAM available now."""

from __future__ import annotations

from dataclasses import dataclass

import psutil

from backend.models.gguf_header import GGUFHeader

# llama.cpp's compute buffers and the engine process itself, beyond weights and KV cache.
RUNTIME_OVERHEAD = 96 * 1024**2
TIGHT_FRACTION = 0.8  # above this share of available RAM the system will start to page


@dataclass(frozen=True)
class RamFit:
    need_bytes: int
    weights_bytes: int
    kv_bytes: int
    available_bytes: int
    verdict: str  # "fits" | "tight" | "won't fit"

    def describe(self) -> str:
        gib = 1024**3
        return (
            f"{self.verdict}: needs {self.need_bytes / gib:.2f} GiB "
            f"(weights {self.weights_bytes / gib:.2f} GiB + KV cache {self.kv_bytes / gib:.2f} GiB), "
            f"{self.available_bytes / gib:.2f} GiB available now"
        )


def kv_cache_bytes(header: GGUFHeader, n_ctx: int, bytes_per_value: int = 2) -> int:
    """K and V cache for every layer at `n_ctx` tokens in F16 (llama.cpp's default cache type).

    0 when the header does not say enough (per-layer head counts, an architecture without attention).
    The values are whole numbers in llama.cpp's ranges: `parse_header` checked them where it read them.
    """
    n_layer = header.arch_int("block_count") or 0
    n_embd = header.arch_int("embedding_length") or 0
    n_head = header.arch_int("attention.head_count") or 0
    n_head_kv = header.arch_int("attention.head_count_kv") or n_head
    if not (n_layer and n_embd and n_head and n_ctx > 0):
        return 0
    head_dim = header.arch_int("attention.key_length") or n_embd // n_head
    return kv_bytes(n_layer, n_head_kv, head_dim, n_ctx, bytes_per_value)


def kv_bytes(n_layer: int, n_head_kv: int, head_dim: int, n_ctx: int, bytes_per_value: int = 2) -> int:
    """K and V for `n_ctx` tokens: two vectors of n_head_kv × head_dim per layer and token."""
    return 2 * n_layer * n_ctx * n_head_kv * head_dim * bytes_per_value


def ram_fit(weights_bytes: int, kv_bytes: int, available: int | None = None) -> RamFit:
    if available is None:
        available = psutil.virtual_memory().available
    need = weights_bytes + kv_bytes + RUNTIME_OVERHEAD
    if need <= TIGHT_FRACTION * available:
        verdict = "fits"
    elif need <= available:
        verdict = "tight"
    else:
        verdict = "won't fit"
    return RamFit(need, weights_bytes, kv_bytes, available, verdict)
