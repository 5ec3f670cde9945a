"""Downloads the library runs: start, pause (keep the partial), resume, cancel (delete the partial).

One `DownloadState` per Hub file, the single source the downloads list and the file rows both
draw from. `backend.hub.download_model` runs on a job; its progress callback (called in that
job's thread) only emits a signal, tagged with the job's id so a late event from a paused run
never moves the bar of the next one. Pause sets the job's cancel Event: the backend raises
`Cancelled` and keeps the partial file; resume calls `download_model` again, which continues
from the bytes on disk. Partials left by an earlier session come from `pending_downloads()`.

A source Tern converts (an I2_S GGUF, a safetensors repo) goes through stages in the same state:
downloading, then CONVERTING (convert, verify). Cancel stops it at any stage and deletes what it
downloaded (`discard_sources`) and what it converted; nothing is registered. A conversion that
fails is reported and taken off the list: the backend has already removed its downloads.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from backend.hub import Cancelled, ChecksumMismatch, PendingDownload, Progress
from backend.models.convert.errors import ConvertError
from backend.store import Store
from ui.jobs import Job
from ui.library.tasks import Report, Tasks, with_registry

Key = tuple[str, str]
STARTING, RUNNING, VERIFYING, CONVERTING, PAUSED, FAILED = (
    "starting", "running", "verifying", "converting", "paused", "failed")
ACTIVE = (STARTING, RUNNING, VERIFYING, CONVERTING)
_rids = itertools.count(1)


@dataclass
class DownloadState:
    repo: str
    filename: str
    model_name: str | None = None
    status: str = STARTING
    done_bytes: int = 0
    total_bytes: int = 0
    progress: Progress | None = None
    message: str = ""  # why it stopped (paused by you / connection dropped / …)
    rid: int = 0
    job: Job | None = None
    discard: bool = False  # cancel: delete the partial once the job has stopped
    resumable: bool = True  # False: nothing on disk to continue from (a file that failed its sha256 check)
    detail: str = ""  # the whole story of a failure, for a tooltip

    @property
    def key(self) -> Key:
        return (self.repo, self.filename)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class DownloadManager(QObject):
    changed = Signal(object)  # key: a state was added or changed
    removed = Signal(object)  # key: no longer listed (finished, or cancelled and deleted)
    finished = Signal(object, object)  # key, DownloadResult
    failed = Signal(object, object)  # key, exception (not a pause)
    discarded = Signal(object, int)  # key, bytes freed
    _progress = Signal(int, object)  # rid, Progress — emitted from the job's thread

    def __init__(self, tasks: Tasks, store: Store, n_ctx: Any, keep_source: Any = lambda: False,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks, self.store, self.n_ctx, self.keep_source = tasks, store, n_ctx, keep_source
        self.states: dict[Key, DownloadState] = {}
        self._progress.connect(self._on_progress)

    def state(self, repo: str, filename: str) -> DownloadState | None:
        return self.states.get((repo, filename))

    def active(self) -> list[DownloadState]:
        return [s for s in self.states.values() if s.active]

    def dismiss(self, repo: str, filename: str) -> None:
        """Take a failed download with nothing on disk off the list."""
        s = self.state(repo, filename)
        if s is not None and s.status == FAILED and not s.resumable:
            del self.states[s.key]
            self.removed.emit(s.key)

    # -- actions ------------------------------------------------------------------------------
    def start(self, repo: str, filename: str, model_name: str | None = None) -> DownloadState | None:
        """Start or resume the download of `repo`/`filename` (a no-op if it is already running).

        After a failed sha256 check there is nothing to resume: it starts again from zero."""
        key = (repo, filename)
        s = self.states.get(key)
        if s is not None and s.active:
            return s
        if s is None:
            s = self.states[key] = DownloadState(repo, filename, model_name)
        s.model_name = model_name or s.model_name
        s.status, s.message, s.discard, s.resumable, s.detail = STARTING, "", False, True, ""
        s.rid = rid = next(_rids)
        name, n_ctx, keep = s.model_name, int(self.n_ctx()), bool(self.keep_source())

        def work(registry: Any, _report: Report, cancel: threading.Event) -> Any:
            from backend.hub import download_model

            return download_model(
                registry,
                repo,
                filename,
                token=self.tasks.hub_token(),
                cancel=cancel,
                n_ctx=n_ctx,
                model_name=name,
                progress=lambda p: self._progress.emit(rid, p),
                keep_source=keep,
            )

        s.job = self.tasks.start(
            f"download-{filename}",
            with_registry(self.store, work),
            lambda r, rid=rid: self._done(key, rid, r),
            lambda e, rid=rid: self._stopped(key, rid, e),
        )
        if s.job is None:
            return None
        self.changed.emit(key)
        return s

    def pause(self, repo: str, filename: str) -> None:
        s = self.state(repo, filename)
        if s is not None and s.active and s.job is not None:
            s.message = "Pausing…"
            s.job.cancel()
            self.changed.emit(s.key)

    def cancel(self, repo: str, filename: str) -> None:
        """Stop for good and delete the partial file."""
        s = self.state(repo, filename)
        if s is None:
            return
        s.discard = True
        if s.active and s.job is not None:
            s.message = "Cancelling…"
            s.job.cancel()
            self.changed.emit(s.key)
        else:
            self._discard(s)

    def load_pending(self, pending: list[PendingDownload]) -> None:
        """Partials on disk that no running download owns become paused rows (resumable)."""
        on_disk = {(p.repo, p.filename): p for p in pending}
        for key, p in on_disk.items():
            s = self.states.get(key)
            if s is not None and s.active:
                continue
            if s is None:
                s = self.states[key] = DownloadState(
                    p.repo, p.filename, status=PAUSED, message="Paused in an earlier session"
                )
            s.done_bytes, s.total_bytes = p.have_bytes, p.size
            self.changed.emit(key)
        for key in [
            k for k, s in self.states.items() if not s.active and k not in on_disk and s.status == PAUSED
        ]:
            del self.states[key]  # its partial is gone (finished or deleted elsewhere)
            self.removed.emit(key)

    # -- results --------------------------------------------------------------------------------
    @Slot(int, object)
    def _on_progress(self, rid: int, p: Progress) -> None:
        s = next((x for x in self.states.values() if x.rid == rid), None)  # p.filename is the current part
        if s is None or not s.active:
            return  # a late event from a run that has stopped
        s.progress = p
        if p.stage == "download":
            s.done_bytes, s.total_bytes = p.done_bytes, p.total_bytes
        s.status = CONVERTING if p.stage != "download" else VERIFYING if p.phase == "verify" else RUNNING
        self.changed.emit(s.key)

    def _done(self, key: Key, rid: int, result: Any) -> None:
        s = self.states.get(key)
        if s is None or s.rid != rid:
            return
        del self.states[key]
        self.removed.emit(key)
        self.finished.emit(key, result)

    def _stopped(self, key: Key, rid: int, exc: BaseException) -> None:
        s = self.states.get(key)
        if s is None or s.rid != rid:
            return
        s.job = None
        if s.discard:
            self._discard(s)
            return
        s.detail = "\n".join(x for x in (str(getattr(exc, "message", "") or exc), str(getattr(exc, "hint", "")))
                              if x)
        s.resumable = not isinstance(exc, ChecksumMismatch)
        converting = s.status == CONVERTING
        if isinstance(exc, ConvertError):  # the backend removed its downloads: nothing to resume; the notice says why
            del self.states[key]
            self.removed.emit(key)
            self.failed.emit(key, exc)
            return
        if isinstance(exc, Cancelled) and converting:
            s.status, s.message = PAUSED, "Stopped while converting — nothing of the conversion was kept; the " \
                                          "download is, so Resume converts it again"
        elif isinstance(exc, Cancelled):
            s.status, s.message = PAUSED, "Paused — the part already downloaded is kept"
        elif isinstance(exc, ChecksumMismatch):
            s.status, s.message = FAILED, "failed its sha256 check — the file is quarantined, never loaded"
            s.done_bytes = 0  # nothing of it is kept to resume from
        else:
            s.status, s.message = FAILED, str(getattr(exc, "message", "") or exc)
        if s.done_bytes == 0 and not isinstance(exc, (Cancelled, ChecksumMismatch)) and s.progress is None:
            del self.states[key]  # refused before any byte (not runnable, gated, offline…): nothing to resume
            self.removed.emit(key)
        else:
            self.changed.emit(key)
        if not isinstance(exc, Cancelled):
            self.failed.emit(key, exc)

    def _discard(self, s: DownloadState) -> None:
        repo, filename = s.repo, s.filename

        def work(_report: Report, _cancel: threading.Event) -> int:
            from backend.hub import discard_partial
            from backend.hub.convert_download import discard_sources

            return discard_partial(repo, filename) + discard_sources(repo)

        def gone(freed: Any) -> None:
            if self.states.get(s.key) is s:
                del self.states[s.key]
                self.removed.emit(s.key)
            self.discarded.emit(s.key, int(freed))

        def failed(exc: BaseException) -> None:
            s.status, s.message, s.discard = FAILED, f"Could not delete the partial file: {exc}", False
            self.changed.emit(s.key)
            self.failed.emit(s.key, exc)

        self.tasks.start(f"discard-{filename}", work, gone, failed)
