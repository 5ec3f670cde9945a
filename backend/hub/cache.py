"""The Hugging Face cache layout, so files Tern downloads are the files other tools find.

    <HF cache>/models--owner--name/blobs/<sha256>              the bytes (named by their LFS sha256)
                                   blobs/<sha256>.incomplete   a download in progress (kept to resume)
                                   snapshots/<commit>/<file>   a relative symlink to the blob
                                   refs/main                   the commit `main` pointed to
    <HF cache>/.locks/models--owner--name/<sha256>.lock        the same lock huggingface_hub takes

Tern's own bookkeeping lives in its data dir: `downloads/*.json` (what a partial file is, so a
download resumes after a restart) and `quarantine/` (files that failed sha256 verification).

Every path here is built from names checked by `backend.hub.names` and is checked to lie in the
cache (or the data dir) before anything is written, moved or deleted there.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from huggingface_hub.file_download import repo_folder_name

from backend.hub.errors import HubError
from backend.hub.names import (
    HEX40,
    check_blob,
    check_filename,
    check_repo,
    check_revision,
    inside,
    sha256_problem,
)
from backend.paths import paths

log = logging.getLogger("tern.hub")


def repo_dir(cache: Path, repo: str) -> Path:
    return inside(cache, cache / repo_folder_name(repo_id=check_repo(repo), repo_type="model"))


def blob_path(cache: Path, repo: str, blob: str) -> Path:
    return inside(cache, repo_dir(cache, repo) / "blobs" / check_blob(blob, repo))


def incomplete_path(cache: Path, repo: str, blob: str) -> Path:
    return inside(cache, repo_dir(cache, repo) / "blobs" / f"{check_blob(blob, repo)}.incomplete")


def pointer_path(cache: Path, repo: str, commit: str, filename: str) -> Path:
    """A snapshot entry: its folders must lie in the snapshot; the entry itself, a symlink once the file
    is there, must lead into the cache (to its blob) — not into the snapshot, which holds no bytes."""
    snapshot = repo_dir(cache, repo) / "snapshots" / check_revision(commit, repo)
    path = snapshot / check_filename(filename, repo)
    if path.parent != snapshot:  # a file in a sub-folder: that folder must not lead out of the snapshot
        inside(snapshot, path.parent)
    return inside(cache, path)


def lock_path(cache: Path, repo: str, blob: str) -> Path:
    folder = cache / ".locks" / repo_folder_name(repo_id=check_repo(repo), repo_type="model")
    return inside(cache, folder / f"{check_blob(blob, repo)}.lock")


def ref_path(cache: Path, repo: str, revision: str) -> Path:
    refs = repo_dir(cache, repo) / "refs"
    return inside(cache, inside(refs, refs / check_revision(revision, repo)))


def link_pointer(blob: Path, pointer: Path, cache: Path) -> None:
    """Point the snapshot entry at the blob (relative symlink; a copy where symlinks are not allowed).

    Both must lie in `cache`: an entry found at the pointer's place is replaced only then.
    """
    inside(cache, blob)
    pointer.parent.mkdir(parents=True, exist_ok=True)
    inside(cache, pointer)  # again, now that its folders exist: none of them may lead elsewhere
    if pointer.is_symlink() or pointer.exists():
        pointer.unlink()
    try:
        os.symlink(os.path.relpath(blob, pointer.parent), pointer)
    except OSError:  # e.g. Windows without developer mode: keep the bytes in the snapshot itself
        shutil.copyfile(blob, pointer)


def write_ref(cache: Path, repo: str, revision: str, commit: str) -> None:
    if revision == commit:
        return
    ref = ref_path(cache, repo, revision)
    ref.parent.mkdir(parents=True, exist_ok=True)
    inside(cache, ref)
    tmp = ref.with_name(f"{ref.name}.{os.getpid()}.tmp")
    tmp.write_text(check_revision(commit, repo))
    os.replace(tmp, ref)


def cached_commit(cache: Path, repo: str, revision: str = "main") -> str | None:
    try:
        commit = ref_path(cache, repo, revision).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return commit.lower() if HEX40.fullmatch(commit.lower()) else None


@dataclass
class PendingDownload:
    """A partial download on disk: enough to resume it after a restart."""

    repo: str
    filename: str
    commit: str
    size: int
    sha256: str | None
    blob: str
    cache: str
    started_at: float
    token_needed: bool = False

    @classmethod
    def from_state(cls, data: object) -> PendingDownload:
        """A note read back from disk, where anyone could have edited it: every field is checked
        like a Hub answer (ValueError/UnsafeName), so it can only ever point into an HF cache."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        p = cls(**data)
        check_repo(p.repo)
        check_filename(p.filename, p.repo)
        check_revision(p.commit, p.repo)
        check_blob(p.blob, p.repo, p.filename)
        if p.sha256 is not None and sha256_problem(p.sha256):
            raise ValueError("sha256 is not 64 hex digits")
        if not isinstance(p.size, int) or isinstance(p.size, bool) or p.size < 0:
            raise ValueError("size is not a byte count")
        if not isinstance(p.cache, str) or not Path(p.cache).is_absolute():
            raise ValueError("cache is not an absolute path")
        if not isinstance(p.started_at, (int, float)) or isinstance(p.started_at, bool):
            raise ValueError("started_at is not a time")
        return p

    @property
    def partial(self) -> Path:
        return incomplete_path(Path(self.cache), self.repo, self.blob)

    @property
    def have_bytes(self) -> int:
        try:
            return self.partial.stat().st_size
        except OSError:
            return 0

    @property
    def state_file(self) -> Path:
        name = f"{repo_folder_name(repo_id=check_repo(self.repo), repo_type='model')}--{self.blob[:32]}.json"
        return inside(state_dir(), state_dir() / name)

    def save(self) -> None:
        """Write the note (atomically). Raises OSError when the data dir cannot be written."""
        state = self.state_file
        state.parent.mkdir(parents=True, exist_ok=True)
        tmp = inside(state_dir(), state.with_suffix(".tmp"))
        tmp.write_text(json.dumps(asdict(self)), encoding="utf-8")
        os.replace(tmp, state)

    def forget(self, delete_partial: bool = False) -> None:
        self.state_file.unlink(missing_ok=True)
        if delete_partial:
            self.partial.unlink(missing_ok=True)


def state_dir() -> Path:
    return paths().data / "downloads"


def quarantine_dir() -> Path:
    return paths().data / "quarantine"


def pending_downloads() -> list[PendingDownload]:
    """Partial downloads left by a pause, a dropped connection or a restart, oldest first."""
    out = []
    for f in sorted(state_dir().glob("*.json")) if state_dir().exists() else []:
        try:
            out.append(PendingDownload.from_state(json.loads(f.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError, HubError) as e:
            log.warning("ignoring the download note %s: %s", f.name, e)
            continue
    return sorted(out, key=lambda p: p.started_at)


def blob_referenced(blob: Path, ignoring: set[Path]) -> bool:
    """Whether a snapshot entry (other than those in `ignoring`) still points at `blob`."""
    snaps = blob.parent.parent / "snapshots"
    if not snaps.exists():
        return False
    return any(p.is_symlink() and p not in ignoring and p.resolve() == blob.resolve() for p in snaps.rglob("*"))


def quarantine(src: Path, repo: str, filename: str, actual_sha: str) -> Path:
    """Move a file that failed verification out of the cache, where nothing will load it."""
    qdir = quarantine_dir()
    qdir.mkdir(parents=True, exist_ok=True)
    safe = check_repo(repo).replace("/", "--")
    dst = inside(qdir, qdir / f"{safe}--{check_blob(actual_sha)[:12]}--{Path(check_filename(filename)).name}")
    os.replace(src, dst) if src.stat().st_dev == qdir.stat().st_dev else shutil.move(src, dst)
    return dst

