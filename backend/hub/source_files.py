"""The files a conversion downloads into the Hugging Face cache: noted, so Tern removes only its own.

A converted model needs its source only while it is converted. After a verified conversion (unless
the user keeps sources: the `keep_source` setting, `--keep-source`), and when a conversion is
cancelled for good, Tern removes the source files — but only the ones it downloaded itself: a file
that was in the cache before (another tool's, or the user's own) is never touched. What Tern fetched
is noted in its data dir (`conversion-sources/<repo>.json`, file name → blob) before the first byte,
so a download interrupted by a restart is still known to be Tern's.

Every path is built from checked names and checked to lie in the cache before it is deleted.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from huggingface_hub.file_download import repo_folder_name

from backend.hub import cache as hc
from backend.hub.api import HubFile
from backend.hub.errors import HubError
from backend.hub.names import check_blob, check_filename, check_repo, inside
from backend.paths import paths

log = logging.getLogger("tern.hub")


def ledger_dir() -> Path:
    return paths().data / "conversion-sources"


def _ledger(repo: str) -> Path:
    folder = ledger_dir()
    return inside(folder, folder / f"{repo_folder_name(repo_id=check_repo(repo), repo_type='model')}.json")


def noted(repo: str) -> dict[str, str]:
    """File name → blob of the files Tern downloaded from `repo` for a conversion and has not removed.

    The note is read like a Hub answer (anyone could edit it): entries with bad names are ignored."""
    try:
        data = json.loads(_ledger(repo).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out: dict[str, str] = {}
    for name, blob in (data.get("files", {}) if isinstance(data, dict) else {}).items():
        try:
            out[check_filename(name, repo)] = check_blob(blob, repo, name)
        except HubError:
            log.warning("ignoring an entry of the conversion-source note of %s", repo)
    return out


def _write(repo: str, files: dict[str, str]) -> None:
    path = _ledger(repo)
    if not files:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = inside(ledger_dir(), path.with_suffix(".tmp"))
    tmp.write_text(json.dumps({"repo": repo, "files": files}), encoding="utf-8")
    os.replace(tmp, path)


def note_downloads(cache: Path, repo: str, files: list[HubFile]) -> None:
    """Before downloading: note each file whose blob is not in the cache yet (Tern is about to fetch it)."""
    known = noted(repo)
    for f in files:
        blob = f.sha256 or f.blob_id
        if blob and not hc.blob_path(cache, repo, blob).exists():
            known[f.name] = blob
    _write(repo, known)


def noted_bytes(cache: Path, repo: str) -> int:
    """Bytes on disk of the noted files (blobs and partial downloads): what removing them frees."""
    total = 0
    for blob_name in noted(repo).values():
        for p in (hc.blob_path(cache, repo, blob_name), hc.incomplete_path(cache, repo, blob_name)):
            try:
                total += p.stat().st_size
            except OSError:
                pass
    return total


def forget(repo: str, names: list[str] | None = None) -> None:
    """The user keeps these files (keep_source): they are no longer Tern's to remove."""
    known = noted(repo)
    for name in names if names is not None else list(known):
        known.pop(name, None)
    _write(repo, known)


def remove_sources(cache: Path, repo: str, commit: str, names: list[str] | None = None) -> list[str]:
    """Remove the noted files of `repo` (all, or those in `names`): snapshot entries, blobs no other
    snapshot uses, partial downloads. Returns the names removed. Files not in the note stay."""
    known = noted(repo)
    removed = []
    pending = [p for p in hc.pending_downloads() if p.repo == repo]  # read once: each read checks every note
    for name in [n for n in (names if names is not None else list(known)) if n in known]:
        blob_name = known[name]
        pointer = hc.pointer_path(cache, repo, commit, name)
        blob = hc.blob_path(cache, repo, blob_name)
        if pointer.is_symlink() or pointer.exists():
            pointer.unlink()
        if blob.exists() and not hc.blob_referenced(blob, ignoring=set()):
            blob.unlink()
        for p in pending:
            if p.filename == name:
                p.forget(delete_partial=True)
        hc.incomplete_path(cache, repo, blob_name).unlink(missing_ok=True)
        known.pop(name)
        removed.append(name)
    _write(repo, known)
    snapshot = hc.pointer_path(cache, repo, commit, "x").parent
    try:
        if snapshot.is_dir() and not any(snapshot.iterdir()):
            snapshot.rmdir()  # an empty snapshot would tell other tools the repo is cached
    except OSError:
        pass
    return removed
