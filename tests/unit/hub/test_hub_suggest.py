"""The first model the welcome page suggests: the smallest chat model that fits this machine's RAM and disk."""

from __future__ import annotations

from dataclasses import replace

from backend.hub.catalog import load_catalog
from backend.hub.suggest import NoFit, Suggestion, first_model

GIB = 1024**3


def test_with_room_to_spare_the_smallest_chat_model_is_the_converted_2b_4t() -> None:
    s = first_model(load_catalog(), available_ram=32 * GIB, free_disk=10**12)
    assert isinstance(s, Suggestion) and s.entry_id == "bitnet-b1.58-2b-4t" and s.converted
    # smaller than the 8B GGUF by RAM; of the three 2B-4T repos, the one with the smallest download
    assert s.ram.verdict == "fits" and s.disk_bytes == 1_178_623_988 + load_catalog().entry(s.entry_id).output_bytes()
    assert "converted on this computer to TQ2_0" in s.text() and "Figures are estimates." in s.text()


def test_with_little_ram_nothing_fits_and_it_says_what_the_smallest_needs() -> None:
    n = first_model(load_catalog(), available_ram=GIB, free_disk=10**12)
    assert isinstance(n, NoFit) and n.smallest is not None and n.smallest.id == "bitnet-b1.58-2b-4t"
    assert "needs ≈ 1,098 MiB of RAM (1,024 MiB available now)" in n.text() and "disk" not in n.text()


def test_a_tight_fit_is_not_suggested_but_the_next_machine_size_is() -> None:
    need = load_catalog().entry("bitnet-b1.58-2b-4t").ram(available=GIB).need_bytes  # type: ignore[union-attr]
    assert isinstance(first_model(load_catalog(), available_ram=int(need / 0.9), free_disk=10**12), NoFit)  # tight
    assert isinstance(first_model(load_catalog(), available_ram=int(need / 0.7), free_disk=10**12), Suggestion)


def test_without_disk_for_the_download_and_the_converted_file_it_is_not_suggested() -> None:
    n = first_model(load_catalog(), available_ram=32 * GIB, free_disk=2 * 10**9)
    assert isinstance(n, NoFit) and "2.07 GB of disk (2.00 GB free)" in n.text()


def test_a_chat_model_whose_size_the_catalog_does_not_know_is_never_suggested() -> None:
    cat = load_catalog()
    unknown = replace(cat, entries=tuple(e for e in cat.entries if e.chat and e.disk_bytes() is None))
    assert unknown.entries and isinstance(first_model(unknown, available_ram=64 * GIB, free_disk=10**13), NoFit)
    assert first_model(unknown, available_ram=64 * GIB, free_disk=10**13).text().startswith(
        "The catalog has no chat model whose size Tern knows")
