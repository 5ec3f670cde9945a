"""The downloads list at the top of the library: each download's bar, bytes, speed, ETA, and its buttons.

Running: Pause (the part downloaded so far stays on disk) and Cancel (stop and delete it). A download
that is converted shows its stage on the same row — "Step 2 of 3: converting to TQ2_0" — with Cancel
only: a conversion cannot be paused, and cancelling it keeps nothing.
Paused or dropped: Resume (continues from the bytes on disk, also after a restart) and Discard.
Failed its sha256 check: nothing is left to resume, so Download again (from zero) and Dismiss.
Speed and time left read "measuring…"/"—" until the backend has measured them. The file's name keeps
its line; the status goes under the bar, where a long message ends in "…" (whole in its tooltip).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QVBoxLayout, QWidget

from backend import units
from ui.library import format as fmt
from ui.library.downloads import FAILED, PAUSED, STARTING, DownloadManager, DownloadState, Key
from ui.library.style import glyph, set_kind
from ui.library.widgets import ElidedLabel, button, progress_bar, section


class DownloadRow(QFrame):
    def __init__(self, state: DownloadState, manager: DownloadManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LibDownloadRow")
        self.key = state.key
        repo, filename = state.key
        self.setAccessibleName(f"Download of {filename}")
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 6, 0, 6)
        col.setSpacing(6)
        top = QHBoxLayout()
        top.setSpacing(10)
        self.icon = glyph(self, "download", "accent", 18)
        top.addWidget(self.icon)
        self.title = ElidedLabel(f"{filename}   ·   {repo}", self)
        self.title.setObjectName("LibFileName")
        top.addWidget(self.title, 1)
        self.status = ElidedLabel("", self, Qt.TextElideMode.ElideRight)
        self.status.setObjectName("LibMeta")
        self.status.setAccessibleName(f"Progress of {filename}")
        self.pause = button(
            "Pause",
            self,
            "Stop for now; the part downloaded so far stays on disk",
            accessible=f"Pause {filename}",
        )
        self.pause.clicked.connect(lambda: manager.pause(repo, filename))
        self.resume = button(
            "Resume",
            self,
            "Continue from the bytes already on disk",
            primary=True,
            accessible=f"Resume {filename}",
        )
        self.resume.clicked.connect(lambda: manager.start(repo, filename))
        self.cancel = button(
            "Cancel", self, "Stop and delete the partial file", accessible=f"Cancel {filename}"
        )
        self.cancel.clicked.connect(lambda: self._cancel(manager, repo, filename))
        for b in (self.pause, self.resume, self.cancel):
            top.addWidget(b)
        col.addLayout(top)
        self.bar = progress_bar(self, f"Download progress of {filename}")
        col.addWidget(self.bar)
        col.addWidget(self.status)
        self.retry_from_zero = False
        self.show_state(state)

    def _cancel(self, manager: DownloadManager, repo: str, filename: str) -> None:
        if self.retry_from_zero:
            manager.dismiss(repo, filename)
        else:
            manager.cancel(repo, filename)

    def show_state(self, s: DownloadState) -> None:
        running = s.active
        p = s.progress
        staged = running and p is not None and p.stage != "download"
        done, total = (p.done_bytes, p.total_bytes) if staged and p is not None else (s.done_bytes, s.total_bytes)
        self.bar.setValue(int(1000 * done / total) if total else 0)
        if total == 0 and s.status == STARTING:
            self.bar.setRange(0, 0)  # busy: listing the repo and reading the header
        elif self.bar.maximum() == 0:
            self.bar.setRange(0, 1000)
        set_kind(self.bar, "" if running else "paused")
        if s.message and s.message.endswith("…"):
            text = s.message  # pausing / cancelling
        elif s.status == STARTING:
            text = "Checking the file before downloading…"
        elif staged and p is not None:
            text = fmt.stage_text(p.stage, p.stage_index, p.stage_count, p.done_bytes, p.total_bytes, p.detail)
        elif running and p is not None:
            text = fmt.download_text(
                p.done_bytes, p.total_bytes, p.speed_bps, p.eta_s, p.phase, p.file_index, p.file_count
            )
            if p.stage_count > 1:
                text = f"Step {p.stage_index} of {p.stage_count}: downloading  ·  {text}"
        elif s.status == PAUSED:
            text = f"Paused  ·  {units.size(s.done_bytes)} of {units.size(total)} kept on disk"
        elif s.status == FAILED and not s.resumable:
            text = f"Failed: {s.message}"
        elif s.status == FAILED:
            kept = f"  ·  {units.size(s.done_bytes)} kept" if s.done_bytes else ""
            text = f"Stopped: {s.message}{kept}"
        else:
            text = f"{units.size(s.done_bytes)} of {units.size(total)}"
        self.status.set_full_text(text)
        self.status.setToolTip("\n\n".join(x for x in (text, s.detail) if x) if s.message
                               else "Speed is measured over the last few seconds")
        self.retry_from_zero = s.status == FAILED and not s.resumable
        self.bar.setVisible(not self.retry_from_zero)
        self.pause.setVisible(running and not staged)
        self.pause.setEnabled(running and not s.message.endswith("…"))
        self.resume.setVisible(not running)
        if self.retry_from_zero:
            self.resume.setText("Download again")
            self.resume.setToolTip("Fetch the whole file again from the Hub. If it fails its check the same way, "
                                   "the Hub's copy itself is damaged: tell the repository's owner.")
            self.cancel.setText("Dismiss")
            self.cancel.setToolTip("Take this off the list (the quarantined file stays where it is)")
        else:
            self.resume.setText("Resume")
            self.resume.setToolTip("Continue from the bytes already on disk")
            self.cancel.setText("Cancel" if running else "Discard")
            self.cancel.setToolTip(
                "Stop and delete what was downloaded and converted so far; nothing is added to the library"
                if staged
                else "Stop and delete the partial file"
                if running
                else "Delete the partial file; the download starts from zero next time"
            )
        self.resume.setAccessibleName(f"{self.resume.text()} {s.filename}")
        self.cancel.setAccessibleName(f"{self.cancel.text()} {s.filename}")
        self.cancel.setEnabled(not s.discard)


class DownloadsPanel(QFrame):
    """Every download that is running or paused; hidden when there is none."""

    def __init__(self, manager: DownloadManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LibDownloads")
        self.setAccessibleName("Downloads")
        self.manager = manager
        self.col = QVBoxLayout(self)
        self.col.setContentsMargins(18, 12, 18, 10)
        self.col.setSpacing(2)
        self.heading = section("Downloads", self)
        self.col.addWidget(self.heading, 0, Qt.AlignmentFlag.AlignLeft)
        self.rows: dict[Key, DownloadRow] = {}
        manager.changed.connect(self._changed)
        manager.removed.connect(self._removed)
        self.hide()

    def _changed(self, key: Key) -> None:
        s = self.manager.states.get(key)
        if s is None:
            return
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = DownloadRow(s, self.manager, self)
            self.col.addWidget(row)
        else:
            row.show_state(s)
        self._heading()

    def _removed(self, key: Key) -> None:
        row = self.rows.pop(key, None)
        if row is not None:
            row.hide()
            row.deleteLater()
        self._heading()

    def _heading(self) -> None:
        states = list(self.manager.states.values())
        running = sum(1 for s in states if s.active)
        paused = sum(1 for s in states if s.status == PAUSED)
        failed = sum(1 for s in states if s.status == FAILED)
        parts = [f"{running} running" if running else "", f"{paused} paused" if paused else "",
                 f"{failed} failed" if failed else ""]
        self.heading.setText(
            "DOWNLOADS  ·  " + ", ".join(p for p in parts if p).upper() if self.rows else "DOWNLOADS"
        )
        self.setVisible(bool(self.rows))
