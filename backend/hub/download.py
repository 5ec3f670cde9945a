"""Resumable, verified downloads into the Hugging Face cache, with bytes/speed/ETA progress.

Why not `hf_hub_download`: in huggingface_hub 2.4 it writes to a temporary file unique to each
process and deletes it on any failure, so nothing resumes after a dropped connection or a
restart; it cannot be cancelled from another thread; and it checks the size but not the sha256.
So Tern fetches the bytes itself — HTTP Range requests on the same `resolve/` URLs, into the same
cache layout (`backend.hub.cache`) under the same lock — and hashes while downloading (in a second
thread, so hashing does not slow the transfer). A partial file stays as `blobs/<sha256>.incomplete`
with a note in Tern's data dir, so the next call resumes where the last one stopped.

Everything here blocks; run it off the GUI thread. `progress` is called from the calling thread
at most every `progress.PROGRESS_EVERY` seconds (and at the end of each file); `cancel` is checked after
every read from the socket.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import logging
import queue
import shutil
import threading
import time
import urllib.error
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from filelock import FileLock, Timeout

from backend.hub import cache as hc
from backend.hub.api import HubFile
from backend.hub.env import HubEnv
from backend.hub.errors import (
    Cancelled,
    ChecksumMismatch,
    DiskFull,
    DownloadInterrupted,
    HubError,
    WriteFailed,
    amount,
    from_exception,
)
from backend.hub.http import open_url, resolve_url
from backend.hub.names import check_revision
from backend.hub.progress import Job, ProgressFn

log = logging.getLogger("tern.hub.download")
CHUNK = 1 << 20


class _Hasher(threading.Thread):
    """sha256 in its own thread (hashlib releases the GIL), fed in order: a file prefix, then chunks."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="hub-sha256")
        self.q: queue.Queue[bytes | tuple[Path, int] | None] = queue.Queue(maxsize=64)
        self.h = hashlib.sha256()
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        while (item := self.q.get()) is not None:
            try:
                if isinstance(item, tuple):
                    path, n = item
                    with open(path, "rb") as f:
                        while n > 0 and (block := f.read(min(n, 8 * CHUNK))):
                            self.h.update(block)
                            n -= len(block)
                else:
                    self.h.update(item)
            except OSError as e:
                self.error = e

    def finish(self) -> str:
        self.q.put(None)
        self.join()
        if self.error:
            raise self.error
        return self.h.hexdigest()


def hash_file(path: Path, job: Job | None = None, cancel: threading.Event | None = None) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(8 * CHUNK):
            h.update(block)
            if job:
                job.advance(len(block), network=False)
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"Verification of {path.name} cancelled.")
    return h.hexdigest()


def free_space(path: Path) -> tuple[int, Path]:
    """Free bytes on the disk that holds `path` (or its nearest existing parent)."""
    p = path
    while not p.exists() and p.parent != p:
        p = p.parent
    return shutil.disk_usage(p).free, p


def bytes_missing(env: HubEnv, repo: str, files: list[HubFile]) -> int:
    missing = 0
    for f in files:
        blob = f.sha256 or f.blob_id or ""
        if blob and hc.blob_path(env.cache_dir, repo, blob).exists():
            continue
        have = hc.incomplete_path(env.cache_dir, repo, blob).stat().st_size if blob and \
            hc.incomplete_path(env.cache_dir, repo, blob).exists() else 0
        missing += max(0, (f.size or 0) - have)
    return missing


def check_disk(env: HubEnv, repo: str, files: list[HubFile]) -> None:
    """Refuse (DiskFull, with the numbers) before writing anything if the files cannot fit."""
    needed = bytes_missing(env, repo, files)
    free, where = free_space(env.cache_dir)
    if needed > free:
        raise DiskFull(needed, free, str(where), repo)


@dataclass(frozen=True)
class FetchedFile:
    filename: str
    path: Path  # the snapshot path (what a loader opens)
    blob: Path
    sha256: str
    verified: bool  # the sha256 matched the Hub's record
    downloaded_bytes: int  # bytes that came over the network in this call
    resumed_from: int


def fetch_files(env: HubEnv, repo: str, commit: str, files: list[HubFile], progress: ProgressFn | None = None,
                cancel: threading.Event | None = None, retries: int = 3, revision: str = "main") -> list[FetchedFile]:
    """Fetch `files` of `repo` at `commit` into the cache, verifying each; returns their snapshot paths.

    Raises DiskFull (before any byte is written), Cancelled (partial kept: a pause),
    DownloadInterrupted (partial kept), ChecksumMismatch (file quarantined) or another HubError.
    """
    cancel = cancel or threading.Event()
    check_revision(commit, repo)
    check_revision(revision, repo)
    check_disk(env, repo, files)
    job = Job(repo, files, progress)
    out = [_fetch_one(env, repo, commit, f, i, job, cancel, retries) for i, f in enumerate(files, 1)]
    hc.write_ref(env.cache_dir, repo, revision, commit)
    job.emit(phase="done")
    return out


def _fetch_one(env: HubEnv, repo: str, commit: str, f: HubFile, index: int, job: Job,
               cancel: threading.Event, retries: int) -> FetchedFile:
    blob_name = f.sha256 or f.blob_id
    if not blob_name:
        raise HubError(f"The Hub gave no checksum for {repo}/{f.name}, so it cannot be verified.", "", repo, f.name)
    cache = env.cache_dir
    blob, pointer = hc.blob_path(cache, repo, blob_name), hc.pointer_path(cache, repo, commit, f.name)
    if blob.exists():  # already cached (by Tern or another tool): verify it once, then link it
        job.start_file(index, f.name, "verify" if f.sha256 else "hash")
        actual = hash_file(blob, job, cancel)
        if f.sha256 and actual != f.sha256:
            dst = hc.quarantine(blob, repo, f.name, actual)
            raise ChecksumMismatch(repo, f.name, f.sha256, actual, str(dst))
        hc.link_pointer(blob, pointer, cache)
        return FetchedFile(f.name, pointer, blob, actual, bool(f.sha256), 0, 0)

    lock = FileLock(hc.lock_path(cache, repo, blob_name), timeout=0)
    with _disk_errors(repo, f, hc.incomplete_path(cache, repo, blob_name), job, index):
        Path(lock.lock_file).parent.mkdir(parents=True, exist_ok=True)
        try:
            lock.acquire()
        except Timeout as e:
            raise HubError(f"{repo}/{f.name} is already being downloaded (by Tern or another program).",
                           "Wait for that download to finish, or stop it, then try again.", repo, f.name) from e
    try:
        return _download(env, repo, commit, f, blob_name, index, job, cancel, retries)
    finally:
        lock.release()


def _download(env: HubEnv, repo: str, commit: str, f: HubFile, blob_name: str, index: int, job: Job,
              cancel: threading.Event, retries: int) -> FetchedFile:
    cache = env.cache_dir
    blob, pointer = hc.blob_path(cache, repo, blob_name), hc.pointer_path(cache, repo, commit, f.name)
    partial = hc.incomplete_path(cache, repo, blob_name)
    pending = hc.PendingDownload(repo, f.name, commit, f.size or 0, f.sha256, blob_name, str(cache), time.time(),
                                 bool(env.token))
    with _disk_errors(repo, f, partial, job, index):
        partial.parent.mkdir(parents=True, exist_ok=True)
        pending.save()
        have = partial.stat().st_size if partial.exists() else 0
        if f.size is not None and have > f.size:
            partial.unlink()
            have = 0
        out = open(partial, "ab", buffering=0)  # unbuffered: every byte counted in `have` is on disk
    resumed_from = have
    job.start_file(index, f.name)
    job.resumed += have
    job.advance(have, network=False)
    hasher = _Hasher()
    if have:
        hasher.q.put((partial, have))
    url = resolve_url(env, repo, f.name, commit)
    failures = 0
    try:
        with out:
            while f.size is None or have < f.size:
                if cancel.is_set():
                    raise Cancelled(f"Download of {repo}/{f.name} paused at {have:,} bytes.")
                try:
                    with open_url(url, env, start=have) as resp:
                        if have and resp.status == 200:  # the server ignored Range: start over
                            out.seek(0)
                            out.truncate()
                            job.advance(-have, network=False)
                            have = 0
                            hasher.finish()
                            hasher = _Hasher()
                        while chunk := resp.read1(CHUNK):
                            with _disk_errors(repo, f, partial, job, index):
                                _append(out, chunk)
                            hasher.q.put(chunk)
                            have += len(chunk)
                            job.advance(len(chunk))
                            if cancel.is_set():
                                raise Cancelled(f"Download of {repo}/{f.name} paused at {have:,} bytes.")
                            if f.size is not None and have >= f.size:
                                break
                    if f.size is None:
                        break
                    if have < f.size:
                        raise http.client.IncompleteRead(b"", f.size - have)
                except urllib.error.HTTPError as e:
                    raise from_exception(e, repo, f.name, bool(env.token), env.endpoint) from e
                except (OSError, http.client.HTTPException) as e:  # the network's errors: the disk's are HubErrors
                    failures += 1
                    if failures > retries:
                        if have == 0 and isinstance(e, urllib.error.URLError):
                            raise from_exception(e, repo, f.name, bool(env.token), env.endpoint) from e
                        raise DownloadInterrupted(
                            f"The connection to the Hub dropped while downloading {repo}/{f.name} "
                            f"({have:,} of {f.size or 0:,} bytes are kept).",
                            "Try again: the download resumes where it stopped.", repo, f.name) from e
                    log.info("download of %s/%s interrupted at %d bytes (%s); resuming", repo, f.name, have, e)
                    if cancel.wait(min(4.0, 0.5 * 2 ** (failures - 1))):
                        raise Cancelled(f"Download of {repo}/{f.name} paused at {have:,} bytes.") from e
        job.start_file(index, f.name, "verify" if f.sha256 else "hash")
        job.emit()
        actual = hasher.finish()
    except BaseException:
        hasher.q.put(None)
        raise
    if f.sha256 and actual != f.sha256:
        pending.forget()
        dst = hc.quarantine(partial, repo, f.name, actual)
        raise ChecksumMismatch(repo, f.name, f.sha256, actual, str(dst))
    with _disk_errors(repo, f, partial, job, index):
        blob.parent.mkdir(parents=True, exist_ok=True)
        partial.replace(blob)
        hc.link_pointer(blob, pointer, cache)
    pending.forget()
    return FetchedFile(f.name, pointer, blob, actual, bool(f.sha256), have - resumed_from, resumed_from)


def _append(out: BinaryIO, chunk: bytes) -> None:
    """Write all of `chunk` (an unbuffered file may take part of it per call); OSError when the disk refuses."""
    view = memoryview(chunk)
    while view:
        n = out.write(view)
        if not n:
            raise OSError(errno.EIO, "the disk took no bytes")
        view = view[n:]


@contextmanager
def _disk_errors(repo: str, f: HubFile, partial: Path, job: Job, index: int) -> Iterator[None]:
    """Turn the disk's OSErrors while writing `partial` into what happened: DiskFull (with how much
    more is needed, and where) or WriteFailed — never "the connection dropped". The partial is kept."""
    try:
        yield
    except OSError as e:
        raise disk_error(e, repo, f, partial, job.bytes_after(index)) from e


def disk_error(e: OSError, repo: str, f: HubFile, partial: Path, later_bytes: int = 0) -> HubError:
    try:
        kept = partial.stat().st_size
    except OSError:
        kept = 0
    folder = Path(e.filename).parent if isinstance(e.filename, str) else partial.parent  # (a note in the data dir)
    if e.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        free, where = free_space(folder)
        needed = max(0, (f.size or 0) - kept) + later_bytes
        return DiskFull(needed, free, str(where), repo, f.name, kept)
    if e.errno == errno.EFBIG:
        return WriteFailed(
            f"The system refused to grow {repo}/{f.name} in {folder} past {kept:,} bytes of {f.size or 0:,}: "
            "file too large (a FAT32 disk stops at 4 GiB; a file-size limit, `ulimit -f`, stops it too).",
            f"Point HF_HOME at a disk formatted with ext4, APFS, NTFS or exFAT with {amount(f.size or 0)} free, "
            f"or lift the limit. The {kept:,} bytes downloaded are kept.", repo, f.name)
    return WriteFailed(
        f"Tern could not write {e.filename or partial} while downloading {repo}/{f.name}: "
        f"{e.strerror or e}.", f"Check that {folder} is writable and its disk healthy, then download again; "
        f"the {kept:,} bytes downloaded so far are kept.", repo, f.name)


def discard_partial(repo: str, filename: str | None = None) -> int:
    """Cancel for good: delete partial downloads of `repo` (one file or all); returns bytes freed."""
    freed = 0
    for p in hc.pending_downloads():
        if p.repo == repo and (filename is None or p.filename == filename):
            freed += p.have_bytes
            p.forget(delete_partial=True)
    return freed
