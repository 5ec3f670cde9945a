"""The first model to suggest: the smallest chat model of the catalog that fits this computer.

"Fits" means both: the RAM it needs to run (the converted or downloaded file + KV cache at the
context length + runtime, an estimate) is within what is available now without paging, and the
disk holding the downloads has room for the most it takes at once (a converted model: the download
and the converted file together). A chat model whose figures the catalog does not know is not
suggested: Tern cannot say it fits. RAM and free disk are arguments, so a caller (or a test) can ask
about another machine; by default they are measured now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psutil

from backend import units
from backend.hub.catalog import DEFAULT_CTX, Catalog, CatalogEntry
from backend.models.ram_fit import TIGHT_FRACTION, RamFit


@dataclass(frozen=True)
class Suggestion:
    entry_id: str
    title: str
    repo: str
    download_text: str  # as the Hub lists the download
    encoding: str
    converted: bool  # converted on this computer
    disk_bytes: int  # the most disk it takes at once
    ram: RamFit
    free_disk: int

    def text(self) -> str:
        how = "converted on this computer to TQ2_0" if self.converted else f"{self.encoding}"
        return (f"Suggested first model: {self.title} — the smallest chat model in the catalog that fits here. "
                f"{self.download_text} download, {how}; needs ≈ {units.memory(self.ram.need_bytes)} of RAM "
                f"({units.memory(self.ram.available_bytes)} available now) and {units.size(self.disk_bytes)} "
                f"of disk while it is set up ({units.size(self.free_disk)} free). Figures are estimates.")


@dataclass(frozen=True)
class NoFit:
    """No chat model of the catalog fits: the smallest one, and what it would need."""

    smallest: CatalogEntry | None
    ram_need: int | None
    disk_need: int | None
    available_ram: int
    free_disk: int

    def text(self) -> str:
        if self.smallest is None or self.ram_need is None:
            return "The catalog has no chat model whose size Tern knows; its models are under Open the Library."
        short = []
        if self.ram_need > TIGHT_FRACTION * self.available_ram:
            short.append(f"≈ {units.memory(self.ram_need)} of RAM ({units.memory(self.available_ram)} available now)")
        if self.disk_need is not None and self.disk_need > self.free_disk:
            short.append(f"{units.size(self.disk_need)} of disk ({units.size(self.free_disk)} free)")
        return (f"No chat model in the catalog fits this computer now: the smallest, {self.smallest.title}, needs "
                + " and ".join(short) + ". Close other programs or free some space — or try the offline demo.")


def _fits(e: CatalogEntry, ram: RamFit, disk: int, free_disk: int) -> bool:
    return ram.verdict == "fits" and disk <= free_disk


def first_model(catalog: Catalog, available_ram: int | None = None, free_disk: int | None = None,
                n_ctx: int = DEFAULT_CTX) -> Suggestion | NoFit:
    """The smallest chat model (by RAM needed, then disk) that fits `available_ram` and `free_disk`
    (measured now when None: RAM available, and the free space of the Hugging Face cache's disk)."""
    if available_ram is None:
        available_ram = int(psutil.virtual_memory().available)
    if free_disk is None:
        free_disk = _free_disk()
    known: list[tuple[int, int, CatalogEntry, RamFit]] = []
    for e in catalog.entries:
        ram, disk = e.ram(None, n_ctx, available_ram) if e.chat else None, e.disk_bytes()
        if ram is not None and disk is not None:
            known.append((ram.need_bytes, disk, e, ram))
    known.sort(key=lambda k: (k[0], k[1]))
    for _need, disk, e, ram in known:
        if _fits(e, ram, disk, free_disk):
            f = e.default_file
            return Suggestion(e.id, e.title, e.repo, f.size_text, f.encoding, e.converted, disk, ram, free_disk)
    if not known:
        return NoFit(None, None, None, available_ram, free_disk)
    need, disk, e, _ram = known[0]
    return NoFit(e, need, disk, available_ram, free_disk)


def _free_disk() -> int:
    from backend.hub.download import free_space
    from backend.hub.env import cache_dir

    return int(free_space(cache_dir())[0])


def suggest(**kwargs: Any) -> Suggestion | NoFit:
    """Read the bundled catalog and decide (imports the Hub client: call it off the GUI thread)."""
    from backend.hub.catalog import load_catalog

    return first_model(load_catalog(), **kwargs)
