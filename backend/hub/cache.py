"""The Hugging Face cache layout, so files Tern downloads are the files other tools find.

    <HF cache>/models--owner--name/blobs/<sha256>              the bytes (named by their LFS sha256)
                                   blobs/<sha256>.incomplete   a download in progress (kept to resume)
                                   snapshots/<commit>/<file>   a relative symlink to the blob
                                   refs/main                   the commit `main` pointed to
    <HF cache>/.locks/models--owner--name/<sha256>.lock        the same lock huggingface_hub takes

Tern's own bookkeeping lives in its data dir: `downloads/*.json` (what a partial file is, so a
download resumes after a restart) and `quarantine/` (files that failed sha256 verification).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from huggingface_hub.file_download import repo_folder_name

from backend.paths import paths


def repo_dir(cache: Path, repo: str) -> Path:
    return cache / repo_folder_name(repo_id=repo, repo_type="model")


def blob_path(cache: Path, repo: str, blob: str) -> Path:
    return repo_dir(cache, repo) / "blobs" / blob


def incomplete_path(cache: Path, repo: str, blob: str) -> Path:
    return repo_dir(cache, repo) / "blobs" / f"{blob}.incomplete"


def pointer_path(cache: Path, repo: str, commit: str, filename: str) -> Path:
    return repo_dir(cache, repo) / "snapshots" / commit / filename


def lock_path(cache: Path, repo: str, blob: str) -> Path:
    return cache / ".locks" / repo_folder_name(repo_id=repo, repo_type="model") / f"{blob}.lock"


def link_pointer(blob: Path, pointer: Path) -> None:
    """Point the snapshot entry at the blob (relative symlink; a move where symlinks are not allowed)."""
    pointer.parent.mkdir(parents=True, exist_ok=True)
    if pointer.is_symlink() or pointer.exists():
        pointer.unlink()
    try:
        os.symlink(os.path.relpath(blob, pointer.parent), pointer)
    except OSError:  # e.g. Windows without developer mode: keep the bytes in the snapshot itself
        shutil.copyfile(blob, pointer)


def write_ref(cache: Path, repo: str, revision: str, commit: str) -> None:
    if revision == commit:
        return
    ref = repo_dir(cache, repo) / "refs" / revision
    ref.parent.mkdir(parents=True, exist_ok=True)
    tmp = ref.with_name(f"{ref.name}.{os.getpid()}.tmp")
    tmp.write_text(commit)
    os.replace(tmp, ref)


def cached_commit(cache: Path, repo: str, revision: str = "main") -> str | None:
    try:
        return (repo_dir(cache, repo) / "refs" / revision).read_text().strip() or None
    except OSError:
        return None


def cached_files(cache: Path, repo: str) -> list[Path]:
    """Every file of `repo` in the cache's snapshot of `main` (empty when none is cached)."""
    commit = cached_commit(cache, repo)
    if commit is None:
        return []
    snap = repo_dir(cache, repo) / "snapshots" / commit
    return sorted(p for p in snap.rglob("*") if p.is_file()) if snap.exists() else []


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
        return state_dir() / f"{repo_folder_name(repo_id=self.repo, repo_type='model')}--{self.blob[:32]}.json"

    def save(self) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self)), encoding="utf-8")
        os.replace(tmp, self.state_file)

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
            out.append(PendingDownload(**json.loads(f.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError):
            continue
    return sorted(out, key=lambda p: p.started_at)


def quarantine(src: Path, repo: str, filename: str, actual_sha: str) -> Path:
    """Move a file that failed verification out of the cache, where nothing will load it."""
    qdir = quarantine_dir()
    qdir.mkdir(parents=True, exist_ok=True)
    safe = repo.replace("/", "--")
    dst = qdir / f"{safe}--{actual_sha[:12]}--{Path(filename).name}"
    os.replace(src, dst) if src.stat().st_dev == qdir.stat().st_dev else shutil.move(src, dst)
    return dst

