"""The Hub meets the local registry: download a model as a variant, show catalog status (removal: removal.py).

`download_model` is the whole "I want this model" path: list the repo (exact sizes, sha256,
commit), refuse before any byte if the disk is too small, read the header over HTTP and refuse
files llama.cpp cannot run, fetch every part with progress, verify, and record the variant so
`tern generate NAME` finds it. Blocks; run it off the GUI thread.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.hub import cache as hc
from backend.hub.api import RepoListing, repo_listing
from backend.hub.catalog import CatalogEntry, load_catalog, model_name_for
from backend.hub.download import FetchedFile, check_disk, fetch_files
from backend.hub.env import HubEnv
from backend.hub.errors import ChecksumMismatch, HubError, NotRunnable
from backend.hub.names import check_repo
from backend.hub.progress import ProgressFn
from backend.hub.remote import Inspection, inspect_remote
from backend.hub.removal import RemovalPlan, RemoveResult, drop_model_row, inside_folder, removal_plan, remove_model
from backend.models.registry import Registry, Variant

__all__ = ["DownloadResult", "RemovalPlan", "RemoveResult", "catalog_status", "choose_file", "download_model",
           "removal_plan", "remove_model"]

log = logging.getLogger("tern.hub")
PREFERRED = ("TQ2_0", "TQ1_0")


@dataclass
class DownloadResult:
    variant: Variant
    inspection: Inspection | None
    files: list[FetchedFile]
    seconds: float
    converted: bool = False  # the source was converted on this computer (backend.hub.convert_download)
    source_removed: list[str] = field(default_factory=list)  # source files removed after a verified conversion

    @property
    def downloaded_bytes(self) -> int:
        return sum(f.downloaded_bytes for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.variant.model_name, "encoding": self.variant.encoding, "path": str(self.variant.path),
                "file_bytes": self.variant.file_bytes, "sha256": self.variant.sha256,
                "verified": self.variant.verified, "downloaded_bytes": self.downloaded_bytes,
                "resumed_from": sum(f.resumed_from for f in self.files), "seconds": round(self.seconds, 3),
                "verdict": self.inspection.verdict.to_dict() if self.inspection else None,
                "ram": self.inspection.to_dict().get("ram") if self.inspection else None,
                "converted": self.variant.info.get("converted") if self.converted else None,
                "source_removed": self.source_removed}


def choose_file(listing: RepoListing) -> str:
    """The file to fetch when none is named: the catalog's default, else the only ternary GGUF, else the
    repo's safetensors weights (converted here), else its only GGUF (an I2_S file is converted)."""
    from backend.hub.convert_check import has_safetensors, safetensors_files

    entry = next((e for e in load_catalog().entries if e.repo.lower() == listing.repo.lower()), None)
    names = {f.name for f in listing.files}
    if entry and entry.default_file.name in names:
        return entry.default_file.name
    ggufs = [f for f in listing.gguf_files if f.split is None or f.split[1] == 1]
    for enc in PREFERRED:
        hits = [f for f in ggufs if f.encoding_hint == enc]
        if len(hits) == 1:
            return hits[0].name
    if has_safetensors(listing):
        return safetensors_files(listing).key_file
    i2s = [f for f in ggufs if f.encoding_hint == "I2_S"]
    if len(i2s) == 1:
        return i2s[0].name
    if len(ggufs) == 1:
        return ggufs[0].name
    if not ggufs:
        raise NotRunnable(f"{listing.repo} has no weights Tern can use: no GGUF file, and no safetensors weights "
                       "with a config.json.", "Tern runs GGUF files and converts ternary safetensors checkpoints; "
                       "pick a repo that has one (`tern models search`).", listing.repo)
    names_txt = ", ".join(f.name for f in ggufs)
    raise HubError(f"{listing.repo} has several GGUF files; say which one to download.",
                   f"Its GGUF files: {names_txt}.", listing.repo)


def _model_fields(repo: str, filename: str, listing: RepoListing, inspection: Inspection | None) -> dict[str, Any]:
    entry: CatalogEntry | None = load_catalog().for_file(repo, filename)
    header = inspection.header if inspection else None
    chat = entry.chat if entry else (None if header is None else header.chat_template is not None)
    return {"family": entry.family if entry else None, "repo": repo,
            "n_params": header.n_params if header else None,
            "chat": None if chat is None else int(chat),
            "license": entry.license if entry else listing.license}


def download_model(registry: Registry, repo: str, filename: str | None = None, token: str | None = None,
                   progress: ProgressFn | None = None, cancel: threading.Event | None = None, n_ctx: int = 2048,
                   check: bool = True, model_name: str | None = None, retries: int = 3,
                   keep_source: bool = False, head_encoding: str | None = None) -> DownloadResult:
    """Download `repo`/`filename` (all parts of a split model) and register it as a variant.

    The repo's kind decides the rest: a TQ1_0/TQ2_0 GGUF is registered as it is; a bitnet.cpp I2_S GGUF
    and a ternary safetensors repo (`filename` ending in .safetensors, or none named) are converted on
    this computer (`backend.hub.convert_download`; `keep_source` keeps the downloaded source; `head_encoding`
    is the converted output head's, default the converter's).

    Raises (all TernError): RepoNotFound, FileNotFoundOnHub, AuthRequired, RateLimited, HubOffline,
    DiskFull (nothing written), NotRunnable (nothing written), Cancelled / DownloadInterrupted
    (partial kept; call again to resume), ChecksumMismatch (file quarantined, recorded as such),
    ConvertError (a source that turned out not to convert: nothing registered).
    """
    from backend.hub.convert_download import download_and_convert

    t0 = time.monotonic()
    check_repo(repo)  # (a file name is checked against the listing, which names what else the repo has)
    env = HubEnv.current(token)
    listing = repo_listing(repo, env=env)
    filename = filename or choose_file(listing)

    def convert(name: str, inspection: Inspection | None = None) -> DownloadResult:
        return download_and_convert(registry, env, listing, name, inspection=inspection, progress=progress,
                                    cancel=cancel, n_ctx=n_ctx, model_name=model_name, retries=retries,
                                    keep_source=keep_source,
                                    **({"head_encoding": head_encoding} if head_encoding else {}))

    if filename.lower().endswith(".safetensors"):
        return convert(filename)
    parts = listing.parts_of(filename)
    first = parts[0].name
    check_disk(env, repo, parts)
    inspection = None
    if check:
        inspection = inspect_remote(repo, first, env.token, n_ctx, listing=listing, cancel=cancel)
        if inspection.verdict.converts:
            return convert(first, inspection)
        if not inspection.runs:
            raise NotRunnable(f"Tern will not download {repo}/{first}: {inspection.verdict.text}.",
                              _not_runnable_hint(inspection), repo, first)
    name = model_name or model_name_for(repo, first)
    try:
        fetched = fetch_files(env, repo, listing.commit or "main", parts, progress, cancel, retries)
    except ChecksumMismatch as e:
        _record_quarantine(registry, name, repo, first, e, inspection)
        raise
    encoding = inspection.verdict.encoding if inspection else (parts[0].encoding_hint or "UNKNOWN")
    total = sum(Path(f.path).stat().st_size for f in fetched)
    _forget_quarantined(registry, repo, first)
    variant = registry.add_variant(
        name, fetched[0].path, encoding, "hub", model_fields=_model_fields(repo, first, listing, inspection),
        file_bytes=total, sha256=fetched[0].sha256, source_repo=repo, source_file=first,
        verified=int(all(f.verified for f in fetched)), complete=1,
        info={"commit": listing.commit, "parts": [f.filename for f in fetched],
              "sha256s": {f.filename: f.sha256 for f in fetched},
              "verdict": inspection.verdict.text if inspection else None},
    )
    log.info("downloaded %s/%s as %s:%s", repo, first, name, encoding)
    return DownloadResult(variant, inspection, fetched, time.monotonic() - t0)


def _not_runnable_hint(ins: Inspection) -> str:
    code = ins.verdict.code
    if code in ("needs_bitnet_cpp", "not_convertible"):
        return "Nothing was downloaded. Pick another file or repo of the model (see `tern models catalog`)."
    if code == "unsupported_architecture":
        return "This build of llama.cpp has no graph for that architecture."
    if code == "not_gguf":
        return "Tern runs GGUF files only."
    return "Inspect the file with `tern models inspect` for details."


def _record_quarantine(registry: Registry, name: str, repo: str, filename: str, e: ChecksumMismatch,
                       inspection: Inspection | None) -> None:
    """Keep a record (never loadable) so the library can show the file and offer a re-download."""
    registry.add_variant(
        name, e.quarantine_path, inspection.verdict.encoding if inspection else "UNKNOWN", "hub",
        model_fields={"repo": repo}, sha256=e.actual, source_repo=repo, source_file=filename, verified=0,
        complete=1, quarantined=1, info={"quarantine_reason": "sha256 mismatch", "expected_sha256": e.expected,
                                         "actual_sha256": e.actual})


def _forget_quarantined(registry: Registry, repo: str, filename: str) -> None:
    """A good copy arrived: drop the records (and files) of earlier quarantined copies."""
    qdir = hc.quarantine_dir()
    for m in registry.models():
        stale = [v for v in m.variants if v.quarantined and v.source_repo == repo and v.source_file == filename]
        for v in stale:
            if inside_folder(Path(v.path), qdir):  # only ever a file Tern put in quarantine
                Path(v.path).unlink(missing_ok=True)
            registry.remove_variant(v.id)
        if stale and len(stale) == len(m.variants):
            drop_model_row(registry, m.name)


def catalog_status(registry: Registry) -> dict[str, dict[str, str]]:
    """For each catalog entry id and file: "downloaded" / "partial (N bytes)" / "quarantined" / "not downloaded".

    Works offline: it reads the registry and Tern's note of partial downloads only.
    """
    by_source: dict[tuple[str, str], Variant] = {}
    for m in registry.models():
        for v in m.variants:
            if v.source_repo and v.source_file:
                by_source[(v.source_repo.lower(), v.source_file)] = v
    partial = {(p.repo.lower(), p.filename): p.have_bytes for p in hc.pending_downloads()}
    out: dict[str, dict[str, str]] = {}
    for e in load_catalog().entries:
        files: dict[str, str] = {}
        for f in e.files:
            key = (e.repo.lower(), f.name)
            v = by_source.get(key)
            if v is not None and v.quarantined:
                files[f.name] = "quarantined"
            elif v is not None and v.usable:
                files[f.name] = "downloaded"
            elif key in partial:
                files[f.name] = f"partial ({partial[key]:,} bytes)"
            else:
                files[f.name] = "not downloaded"
        out[e.id] = files
    return out
