"""What the library does to models on this computer: derive a variant, import a file, remove — each on a job.

`derive_variant` runs llama.cpp in a child process (cancel kills it, nothing is kept);
`import_model` checks the file like a download and hashes it; `remove_model` deletes the files
Tern owns and reports the bytes freed. Progress callbacks come from the job's thread and are
forwarded as signals; results and errors arrive on the GUI thread.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from backend.models.registry import Registry
from backend.store import Store
from ui.jobs import Job
from ui.library.tasks import Report, Tasks, with_registry


class LocalActions(QObject):
    derive_progress = Signal(str, object)  # model name, DeriveProgress (or None when it starts)
    derived = Signal(str, object)  # model name, Variant
    derive_failed = Signal(str, object)  # model name, exception (DeriveCancelled when cancelled)
    import_started = Signal(str)  # path
    imported = Signal(str, object)  # path, Variant
    import_failed = Signal(str, object)  # path, exception
    removed = Signal(str, object)  # spec, RemoveResult
    remove_failed = Signal(str, object)  # spec, exception
    _derive_event = Signal(str, object)  # emitted from the job's thread

    def __init__(self, tasks: Tasks, store: Store, threads: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks, self.store, self.threads = tasks, store, threads
        self.deriving: dict[str, tuple[str, Job]] = {}  # model name -> (target encoding, job)
        self.importing: set[str] = set()
        self._derive_event.connect(self._on_derive_event)

    # -- derive ---------------------------------------------------------------------------------
    def derive(self, model: str, to: str) -> Job | None:
        """Make the `to` (f16 | tq1_0 | tq2_0) variant of `model`; one derivation per model at a time."""
        if model in self.deriving:
            return self.deriving[model][1]
        threads = int(self.threads() or 0) or None

        def work(registry: Registry, _report: Report, cancel: threading.Event) -> Any:
            from backend.models.derive import derive_variant

            return derive_variant(
                registry,
                model,
                to,
                progress=lambda p: self._derive_event.emit(model, p),
                cancel=cancel,
                threads=threads,
            )

        job = self.tasks.start(
            f"derive-{model}-{to}",
            with_registry(self.store, work),
            lambda v: self._derive_end(model, v, None),
            lambda e: self._derive_end(model, None, e),
        )
        if job is not None:
            self.deriving[model] = (to.upper(), job)
            self.derive_progress.emit(model, None)
        return job

    def cancel_derive(self, model: str) -> None:
        if model in self.deriving:
            self.deriving[model][1].cancel()

    @Slot(str, object)
    def _on_derive_event(self, model: str, progress: Any) -> None:
        if model in self.deriving:
            self.derive_progress.emit(model, progress)

    def _derive_end(self, model: str, variant: Any, exc: BaseException | None) -> None:
        self.deriving.pop(model, None)
        if exc is None:
            self.derived.emit(model, variant)
        else:
            self.derive_failed.emit(model, exc)

    # -- import ---------------------------------------------------------------------------------
    def import_file(self, path: str | Path, copy: bool = False) -> Job | None:
        path = str(path)
        if path in self.importing:
            return None

        def work(registry: Registry, _report: Report, cancel: threading.Event) -> Any:
            from backend.models.importer import import_model

            return import_model(registry, path, copy=copy, cancel=cancel)

        job = self.tasks.start(
            f"import-{Path(path).name}",
            with_registry(self.store, work),
            lambda v: self._import_end(path, v, None),
            lambda e: self._import_end(path, None, e),
        )
        if job is not None:
            self.importing.add(path)
            self.import_started.emit(path)
        return job

    def _import_end(self, path: str, variant: Any, exc: BaseException | None) -> None:
        self.importing.discard(path)
        if exc is None:
            self.imported.emit(path, variant)
        else:
            self.import_failed.emit(path, exc)

    # -- remove ---------------------------------------------------------------------------------
    def remove(self, model: str, encoding: str | None = None) -> Job | None:
        spec = f"{model}:{encoding}" if encoding else model

        def work(registry: Registry, _report: Report, _cancel: threading.Event) -> Any:
            from backend.hub import remove_model

            return remove_model(registry, model, encoding)

        return self.tasks.start(
            f"remove-{spec}",
            with_registry(self.store, work),
            lambda r: self.removed.emit(spec, r),
            lambda e: self.remove_failed.emit(spec, e),
        )
