"""The model hub: curated catalog, Hub search, check-before-download, verified downloads.

Qt-free. Every call that talks to the network or reads a large file BLOCKS: the GUI runs it in a
worker thread (STYLE.md's recipe) and passes a `threading.Event` to cancel. Progress callbacks
are called from that worker thread, never touch Qt, and are throttled (≈10 per second). All
errors are `backend.errors.TernError` subclasses whose `str()` names the repo/file and ends with
a hint saying what to do; each has a stable `.code` for the GUI.

Token: every networked call takes `token: str | None`. None means HF_TOKEN, else the token file
`hf auth login` wrote (HF_HOME/token). The token is sent to the Hub only (never to the CDN host a
download redirects to) and never logged. Environment read at each call: HF_ENDPOINT, HF_HOME /
HF_HUB_CACHE, HF_TOKEN, HF_HUB_OFFLINE.

Catalog (`backend.hub.catalog`) — instant, offline
    load_catalog() -> Catalog                       .entries: CatalogEntry, .incompatible, .entry(id|repo)
    CatalogEntry: id, name (local model name), title, family, parameters, license, chat, repo,
        runs ("yes" | "check" | "convert": converted on this computer), kind ("gguf" | "packed" | "bf16" |
        "i2_s"), files: CatalogFile(name, encoding, size_text, approx_bytes, default), fp16 (how the F16
        variant is obtained), dims (a converted model's published dimensions), output_bytes() (the
        converted file, estimated by the converter's rule), disk_bytes() (download + converted file),
        ram(file, n_ctx) -> RamFit | None (estimate), ram_text(file, n_ctx), to_dict(n_ctx)
    catalog_status(registry) -> {entry_id: {filename: "downloaded" | "partial (N bytes)" |
        "quarantined" | "not downloaded"}}                      (library.py; offline-safe)
    suggest.first_model(catalog, available_ram=None, free_disk=None, n_ctx) -> Suggestion | NoFit
        the smallest chat model that fits this computer's RAM and disk (the welcome page's suggestion)

Hub queries (`backend.hub.api`, `backend.hub.remote`) — block, network
    search(text="", token=None, limit=20, with_files=True, cancel=None) -> list[SearchHit]
        empty text searches the ternary terms (TQ1_0, TQ2_0, 1.58, bitnet, ternary); each hit has
        .repo, .downloads, .gated, .files (GGUF HubFile: name, size, sha256, encoding_hint, split)
        and .error if its files could not be listed.   Raises HubOffline, RateLimited, HubError.
    repo_listing(repo, token=None) -> RepoListing     .commit, .files, .gguf_files, .parts_of(name)
        Raises RepoNotFound, AuthRequired, RateLimited, HubOffline.
    inspect_remote(repo, filename, token=None, n_ctx=2048, cancel=None) -> Inspection
        Reads only the GGUF header with HTTP Range requests (1–2 requests, ≈256 KiB–1 MiB).
        .verdict (.code: runs | converts | not_convertible | needs_bitnet_cpp | unsupported_architecture |
        unsupported_type | incomplete | not_gguf; .text e.g. "runs here (TQ2_0)"; .usable: runs or
        converts), .header (architecture, n_params, type_counts(), context_length), .ram (RamFit: verdict
        fits/tight/won't fit + numbers), .parts (split model file names), .requests, .bytes_read,
        .conversion (the converter's ConvertVerdict for a source Tern converts), to_dict().
        A bitnet.cpp I2_S GGUF gets Tern's conversion verdict ("runs here — converted on this computer
        (N download, M on disk, needs ≈ R RAM)" or why not); a filename ending in .safetensors stands for
        the repo's safetensors weights: config.json and each header are read with exact ranges, no
        weight bytes (`backend.hub.convert_check`).
        Raises FileNotFoundOnHub, RepoNotFound, AuthRequired, RateLimited, HubOffline, Cancelled.
    inspect_local(path, n_ctx=2048) -> Inspection      the same for a file on disk (no network)

Downloads (`backend.hub.library`, `backend.hub.download`) — block, network + disk
    download_model(registry, repo, filename=None, token=None, progress=None, cancel=None,
                   n_ctx=2048, check=True, model_name=None, retries=3, keep_source=False) -> DownloadResult
        The repo's kind decides: a TQ GGUF is registered as it is; an I2_S GGUF or a ternary
        safetensors repo is downloaded, converted, verified and registered with provenance
        (`backend.hub.convert_download`; progress has .stage download/convert/verify), and its
        downloaded source removed unless keep_source (`backend.hub.source_files`: only files Tern
        downloaded; discard_sources(repo) when cancelled for good).
        Lists the repo (bad names refused: UnsafeName), refuses before writing if the disk is too
        small (DiskFull, with numbers; DiskFull/WriteFailed with the partial kept if it fills up later),
        inspects the header and refuses what will not run (NotRunnable), fetches every part of
        a split model into the HF cache, verifies sha256, registers the variant (source "hub").
        progress(Progress): repo, filename, done_bytes, total_bytes, speed_bps, eta_s (None
        until measured), phase "download" | "verify" | "hash"
        (no sha256 listed: read, not checked) | "done", file_index/file_count, resumed_bytes.
        Pause = set `cancel` (raises Cancelled; the partial file is kept); resume = call again.
        Dropped connections are retried `retries` times from where they stopped, then
        DownloadInterrupted (partial kept). sha256 mismatch: ChecksumMismatch — the file goes to
        the quarantine dir, a quarantined (never loadable) variant is recorded, downloading again
        replaces it. Also raises the errors of repo_listing/inspect_remote.
    pending_downloads() -> list[PendingDownload]     partial files left by a pause/crash/restart
        (.repo, .filename, .size, .have_bytes); offline-safe.      (`backend.hub.cache`)
    discard_partial(repo, filename=None) -> bytes freed   cancel for good (download.py)

Library (`backend.hub.library`; derive/import live in `backend.models`)
    remove_model(registry, name, encoding=None) -> RemoveResult(freed_bytes, deleted, kept)
    removal_plan(variants) -> RemovalPlan(delete, freed_bytes, kept)   what remove_model will do (no I/O
        beyond stat), for a confirmation that shows the space freed
    backend.models.derive.derive_variant(registry, spec, to="f16"|"tq1_0"|"tq2_0", progress=None,
        cancel=None) -> Variant   child process; progress(DeriveProgress(phase, fraction, …));
        raises DeriveError, DeriveCancelled (nothing kept), UnknownModel.
    backend.models.importer.import_model(registry, path, name=None, copy=False, progress=None,
        cancel=None) -> Variant   raises ModelFileError (with .code), DeriveCancelled.

Names from the network (`backend.hub.names`): every repo id, file name, commit, sha256 and blob id
in a Hub answer, a search result, a download note or the catalog is checked where it enters; a
listing keeps bad entries in `RepoListing.refused` (asking for one raises UnsafeName naming the
repo and the entry; the other files still work), and a bad repo id or commit refuses the whole
answer. `names.inside(root, path)` checks every path before Tern writes, moves or deletes there.

Account (`backend.hub.account`): whoami(token) -> Account(.name, .token_name, .role, describe())
    the Hub's whoami-v2 on HF_ENDPOINT; raises TokenRejected, HubOffline, HubServerError.

Errors (`backend.hub.errors`): HubError(.repo, .filename) > RepoNotFound, FileNotFoundOnHub,
AuthRequired (ask for a token), RateLimited(.retry_after), HubOffline, HubServerError, DiskFull
(.needed, .free, .where; .kept when the disk filled up mid-download: the partial stays),
WriteFailed (the disk refused for another reason: read-only, file too large), ChecksumMismatch
(.quarantine_path), DownloadInterrupted, NotRunnable, UnsafeName, UnsafePath; Cancelled (TernError).
"""

from __future__ import annotations

from backend.hub.api import HubFile, RepoListing, SearchHit, repo_listing, search
from backend.hub.cache import PendingDownload, pending_downloads
from backend.hub.catalog import Catalog, CatalogEntry, CatalogFile, load_catalog, model_name_for
from backend.hub.download import discard_partial
from backend.hub.errors import (
    AuthRequired,
    Cancelled,
    ChecksumMismatch,
    DiskFull,
    DownloadInterrupted,
    FileNotFoundOnHub,
    HubError,
    HubOffline,
    NotRunnable,
    RateLimited,
    RepoNotFound,
    UnsafeName,
    UnsafePath,
    WriteFailed,
)
from backend.hub.library import (
    DownloadResult,
    RemovalPlan,
    RemoveResult,
    catalog_status,
    download_model,
    removal_plan,
    remove_model,
)
from backend.hub.progress import Progress
from backend.hub.remote import Inspection, inspect_local, inspect_remote
from backend.hub.verdict import Verdict

__all__ = [
    "AuthRequired", "Cancelled", "Catalog", "CatalogEntry", "CatalogFile", "ChecksumMismatch", "DiskFull",
    "DownloadInterrupted", "DownloadResult", "FileNotFoundOnHub", "HubError", "HubFile", "HubOffline",
    "Inspection", "NotRunnable", "PendingDownload", "Progress", "RateLimited", "RemovalPlan", "RemoveResult",
    "RepoListing",
    "RepoNotFound", "SearchHit", "Verdict", "catalog_status", "discard_partial", "download_model",
    "inspect_local", "inspect_remote", "load_catalog", "model_name_for", "pending_downloads", "removal_plan",
    "remove_model",
    "repo_listing", "search", "UnsafeName", "UnsafePath", "WriteFailed",
]
