"""When a ternary model has no F16 variant: what deriving one would take (disk and RAM), before doing it.

Deriving turns the TQ file back into F16 with the same ternary weights (`backend.models.derive`):
its linear weights take 2 bytes each; the token embeddings and norms keep their encoding.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from backend.bench.pairing import PairError
from backend.models.gguf_header import GGUFHeader
from backend.models.ram_fit import RamFit, kv_cache_bytes, ram_fit

GB = 1e9


@dataclass(frozen=True)
class DeriveOffer:
    source: Path
    disk_bytes: int  # the F16 file's size (estimated from the header)
    disk_free: int  # free space where it would be written
    ram: RamFit  # running the F16 variant
    target_dir: Path

    @property
    def fits_disk(self) -> bool:
        return self.disk_bytes < self.disk_free

    def describe(self) -> str:
        disk = f"{self.disk_bytes / GB:.2f} GB of disk ({self.disk_free / GB:.1f} GB free)"
        ram = f"{self.ram.need_bytes / GB:.2f} GB of RAM to run ({self.ram.verdict})"
        return f"Deriving the F16 variant takes {disk} and {ram}."


class MissingVariant(PairError):
    def __init__(self, source: Path, offer: DeriveOffer, model_name: str | None = None) -> None:
        if not offer.fits_disk:
            how = " There is not enough free disk space to derive it."
        elif model_name:
            how = f" Derive it (`tern models derive {model_name} --to f16`, or Derive on the Compare page)."
        else:
            how = " Import the file (`tern models import PATH`) and derive its F16 variant, or name an F16 file."
        super().__init__(f"{source.name} has no F16 variant to compare with.", offer.describe() + how,
                         code="no_f16_variant")
        self.offer = offer
        self.model_name = model_name


def f16_bytes(header: GGUFHeader) -> int:
    """The derived F16 file's size: linear weights in F16; embeddings and norms stay as they are."""
    from gguf import GGMLQuantizationType

    from backend.models.derive import expected_output_bytes

    return expected_output_bytes(header, GGMLQuantizationType.F16)


def derive_offer(source: Path, header: GGUFHeader, n_ctx: int = 2048, target_dir: Path | None = None,
                 available_ram: int | None = None) -> DeriveOffer:
    from backend.paths import paths

    target = target_dir or paths().models
    probe = target
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    disk = f16_bytes(header)
    fit = ram_fit(disk, kv_cache_bytes(header, min(n_ctx, header.context_length or n_ctx)), available_ram)
    return DeriveOffer(source, disk, free, fit, target)
