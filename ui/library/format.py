"""How the library page writes sizes, download progress, RAM fit and provenance — words only, no widgets.

Every figure says what it is; a figure nobody measured is "—" with the reason in its tooltip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend import units
from backend.models.ram_fit import RamFit

DASH = units.DASH
GIB = 1024**3

__all__ = [
    "DASH",
    "download_text",
    "eta",
    "fit_text",
    "fit_tooltip",
    "params",
    "provenance",
]


def eta(seconds: float | None) -> str:
    """ "2 min 05 s left"; "—" until the speed is measured."""
    return DASH if seconds is None else f"{units.clock(max(0.0, seconds))} left"


def download_text(
    done: int,
    total: int,
    bps: float | None,
    eta_s: float | None,
    phase: str = "download",
    file_index: int = 1,
    file_count: int = 1,
) -> str:
    """ "12.3 MB of 50.0 MB · 2.1 MB/s · 18 s left" (speed and time appear once they are measured)."""
    if phase == "verify":
        return f"Checking sha256… {units.size(done)} of {units.size(total)}"
    if phase == "hash":
        return f"Reading the file (the Hub lists no sha256 to check)… {units.size(done)} of {units.size(total)}"
    parts = [f"{units.size(done)} of {units.size(total)}"]
    if file_count > 1:
        parts.append(f"part {file_index} of {file_count}")
    parts.append(units.rate(bps) if bps else "measuring speed…")
    if eta_s is not None:
        parts.append(eta(eta_s))
    return "  ·  ".join(parts)


STAGE_WORDS = {"download": "downloading", "convert": "converting to TQ2_0", "verify": "verifying against the source"}


def stage_text(stage: str, index: int, count: int, done: int, total: int, detail: str = "") -> str:
    """ "Step 2 of 3: converting to TQ2_0  ·  blk.3.ffn_up.weight  ·  412 kB of 1.07 MB" (download has its own)."""
    parts = [f"Step {index} of {count}: {STAGE_WORDS.get(stage, stage)}"]
    if detail:
        parts.append(detail)
    if total:
        parts.append(f"{units.size(done)} of {units.size(total)}")
    return "  ·  ".join(parts)


def fit_text(fit: RamFit | None) -> str:
    """The badge's word: "fits", "tight", "won't fit" — or "RAM —" when it cannot be worked out."""
    if fit is None:
        return f"RAM {DASH}"
    return {"fits": "fits in RAM", "tight": "tight in RAM", "won't fit": "won't fit in RAM"}.get(
        fit.verdict, fit.verdict
    )


def fit_tooltip(fit: RamFit | None, source: str, why_unknown: str = "") -> str:
    """The numbers behind the badge and how they were obtained (`source`: header read / catalog estimate)."""
    if fit is None:
        return why_unknown or "RAM needed is unknown until the file's header is read."
    return (
        f"Needs ≈ {fit.need_bytes / GIB:.2f} GiB: weights {fit.weights_bytes / GIB:.2f} GiB + KV cache "
        f"{fit.kv_bytes / GIB:.2f} GiB (at the context length in Settings) + llama.cpp runtime — "
        f"{fit.available_bytes / GIB:.2f} GiB of RAM is available now.\nEstimate from {source}."
    )


def params(n: int | None) -> str:
    """ "2.41 B parameters", "728 M parameters"; "" when unknown."""
    if not n:
        return ""
    if n >= 1e9:
        return f"{n / 1e9:.2f} B parameters"
    if n >= 1e6:
        return f"{n / 1e6:,.0f} M parameters"
    return f"{n / 1e3:,.0f} k parameters"


NOT_VERIFIED = "not verified: the Hub lists no sha256 for it"


def conversion_details(v: Any) -> str:
    """A converted variant's provenance, for a tooltip: commit, each source file's sha256 and how it was
    checked, the converter's version, what became of the downloaded source ("" for other variants)."""
    conv = v.info.get("converted") if v.source == "converted" else None
    if not conv:
        return ""
    checks = conv.get("source_checks", {})
    lines = [f"\nConverted by Tern's converter {conv.get('converter_version', DASH)} from "
             f"{conv.get('source')}" + (f" at commit {conv['revision']}" if conv.get("revision") else "") + ":"]
    for name, sha in sorted(conv.get("source_files", {}).items()):
        how = checks.get(name, "hashed here")
        lines.append(f"  {name}  sha256 {str(sha)[:16]}…  ({how})")
    if conv.get("head_encoding"):
        lines.append(f"Output head (token embeddings): {conv['head_encoding']}")
    if "source_kept" in conv:
        lines.append("The downloaded source was kept in the Hugging Face cache." if conv["source_kept"]
                     else "The downloaded source was removed after the conversion was verified.")
    return "\n".join(lines)


def provenance(v: Any) -> str:
    """Where a variant's file came from, in a line: the Hub repo, the file it was derived from, an import."""
    if v.quarantined:
        where = f"{v.source_repo or 'Hub'}/{v.source_file or ''}"
        return f"failed its sha256 check — quarantined, never loaded ({where})"
    if v.source == "hub":
        check = "sha256 verified" if v.verified else NOT_VERIFIED
        return f"from the Hub: {v.source_repo}/{v.source_file}  ·  {check}"
    if v.source == "converted":
        conv = v.info.get("converted", {})
        rev = f"@{str(conv['revision'])[:10]}" if conv.get("revision") else ""
        return (f"converted on this computer from {conv.get('source') or v.source_repo}{rev} "
                f"({conv.get('kind_text') or conv.get('kind') or 'ternary source'})  ·  checked against the source")
    if v.source == "derived":
        src = Path(v.derived_from_path).name if v.derived_from_path else "another variant"
        sha = f" (sha256 {v.derived_from_sha256[:10]}…)" if v.derived_from_sha256 else ""
        return f"derived on this computer from {src}{sha} — the same weights"
    if v.source == "imported":
        where = "copied into Tern's folder" if v.info.get("copied") else "used where it is"
        return f"imported from {v.info.get('original_path') or v.path}  ·  {where}"
    if v.source == "synthetic":
        return "made by Tern (synthetic, random weights)"
    return v.source
