"""Settings' Hugging Face token row: the field, Show, Test, and where the token is kept.

Reading, saving and testing the token all run off the GUI thread (STYLE.md's job recipe): a
keyring daemon can wait for the user to unlock it, and Test asks the Hub. The store of tokens is
passed in (app.secrets in the app) so this view imports nothing from `app`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from backend.hub.account import whoami
from backend.hub.env import endpoint
from ui.context import TokenStore
from ui.jobs import Job, start_job

Report = Callable[[str, float], None]


class TokenRow(QWidget):
    """`loaded` once the saved token is in the field; `saved(where)` / `save_failed(error)` after `save()`."""

    loaded = Signal()
    saved = Signal(str)
    save_failed = Signal(object)
    tested = Signal(bool, str)  # ok, what the person reads

    def __init__(self, store: TokenStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.before: str | None = None  # the saved token, once read
        self.touched = False  # edited before the saved one arrived: keep what was typed
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(4)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        self.field = QLineEdit(self)
        self.field.setEchoMode(QLineEdit.EchoMode.Password)
        self.field.setPlaceholderText("reading the saved token…")
        self.field.setAccessibleName("Hugging Face token")
        self.field.setToolTip("A Hugging Face access token, for gated or private models. Kept in the system "
                              "keyring where there is one, else in a file only you can read; never in the "
                              "settings file or the log.")
        self.field.textChanged.connect(self._edited)
        row.addWidget(self.field, 1)
        self.show_button = QPushButton("Show", self)
        self.show_button.setCheckable(True)
        self.show_button.setAccessibleName("Show the token")
        self.show_button.setToolTip("Show or hide the token's characters")
        self.show_button.toggled.connect(self._show)
        row.addWidget(self.show_button)
        self.test_button = QPushButton("Test", self)
        self.test_button.setAccessibleName("Test the token")
        self.test_button.setToolTip("Ask the Hub whose token this is")
        self.test_button.setEnabled(False)
        self.test_button.clicked.connect(self.test)
        row.addWidget(self.test_button)
        col.addLayout(row)
        self.result = _note(self)
        self.result.setAccessibleName("Token test result")
        self.result.hide()
        col.addWidget(self.result)
        self.where = _note(self)
        self.where.setAccessibleName("Where the token is kept")
        self._say(self.where, "Looking for the saved token…")
        col.addWidget(self.where)
        self.jobs: list[Job] = []
        self._run(lambda _r, _c: (store.get_hf_token(), store.location(), store.storage()), "token-read",
                  self._read_done, self._read_failed)

    # -- jobs -------------------------------------------------------------------------------
    def _run(self, fn: Callable[[Report, threading.Event], Any], name: str, ok: Callable[[Any], None],
             failed: Callable[[Any], None]) -> Job:
        # Parented to the application, not to this row: a keyring prompt or a slow Hub may outlive
        # the dialog, and a QThread must not be destroyed while it runs.
        job = start_job(fn, name, QCoreApplication.instance())
        job.succeeded.connect(lambda result: shiboken6.isValid(self) and ok(result))  # the dialog may be gone
        job.failed.connect(lambda error: shiboken6.isValid(self) and failed(error))
        job.done.connect(job.deleteLater)
        self.jobs.append(job)
        return job

    def _say(self, note: QLabel, text: str) -> None:
        note.setText(text)
        note.show()
        QTimer.singleShot(0, self, self._fit)  # (not called once the row is gone)

    @Slot()
    def _fit(self) -> None:
        """Grow the window when a note got longer than its room (wrapped labels do not do it themselves)."""
        win = self.window()
        layout = win.layout() if win is not self else None
        if layout is None or not layout.hasHeightForWidth():
            return
        need = layout.totalHeightForWidth(win.width())
        screen = win.screen()
        if screen is not None:
            need = min(need, screen.availableGeometry().height())
        if need > win.height():
            win.resize(win.width(), need)

    def busy(self) -> bool:
        return any(j.running for j in self.jobs)

    # -- reading ----------------------------------------------------------------------------
    @Slot(str)
    def _edited(self, text: str) -> None:
        if self.before is None:
            self.touched = True
        self.test_button.setEnabled(bool(text.strip()))

    @Slot(object)
    def _read_done(self, result: tuple[str | None, str | None, str]) -> None:
        token, where, storage = result
        self.before = token or ""
        if not self.touched:
            self.field.setText(self.before)
        self.field.setPlaceholderText("hf_…  (only for gated or private models)")
        self._say_where(where, storage)
        self.loaded.emit()

    @Slot(object)
    def _read_failed(self, e: BaseException) -> None:
        self.before = ""
        self.field.setPlaceholderText("hf_…  (only for gated or private models)")
        self._say(self.where, f"The saved token could not be read: {e}")
        self.loaded.emit()

    def _say_where(self, where: str | None, storage: str) -> None:
        if where:
            self._say(self.where, f"Kept in {where}.")
        else:
            self._say(self.where, f"No token saved. One you enter is kept in {storage}.")

    @property
    def is_loaded(self) -> bool:
        return self.before is not None

    def changed(self) -> bool:
        text = self.field.text().strip()
        return text != self.before if self.before is not None else self.touched

    # -- show, test, save -------------------------------------------------------------------
    @Slot(bool)
    def _show(self, on: bool) -> None:
        self.field.setEchoMode(QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password)
        self.show_button.setText("Hide" if on else "Show")

    @Slot()
    def test(self) -> None:
        token = self.field.text().strip()
        if not token:
            return
        self.test_button.setEnabled(False)
        self._say(self.result, f"Asking {endpoint()} whose token this is…")
        self._run(lambda _r, _c: whoami(token).describe(), "token-test", self._tested, self._test_failed)

    @Slot(object)
    def _tested(self, text: str) -> None:
        self._say(self.result, f"✓ This token {text}.")
        self.test_button.setEnabled(bool(self.field.text().strip()))
        self.tested.emit(True, self.result.text())

    @Slot(object)
    def _test_failed(self, e: BaseException) -> None:
        self._say(self.result, f"✗ {e}")
        self.test_button.setEnabled(bool(self.field.text().strip()))
        self.tested.emit(False, self.result.text())

    def save(self) -> None:
        """Store the field's token (or forget it when empty) off the GUI thread."""
        token = self.field.text().strip()
        store = self.store
        self.field.setEnabled(False)
        self._say(self.where, "Saving the token…")
        self._run(lambda _r, _c: (store.set_hf_token(token), store.location(), store.storage()), "token-save",
                  self._saved, self._save_failed)

    @Slot(object)
    def _saved(self, result: tuple[str, str | None, str]) -> None:
        went, where, storage = result
        self.before = self.field.text().strip()
        self.field.setEnabled(True)
        self._say_where(where, storage)
        self.saved.emit(went)

    @Slot(object)
    def _save_failed(self, e: BaseException) -> None:
        self.field.setEnabled(True)
        self._say(self.where, f"The token could not be saved: {e}")
        self.save_failed.emit(e)


def _note(parent: QWidget) -> QLabel:
    note = QLabel(parent)
    note.setObjectName("RowDetail")
    note.setWordWrap(True)
    note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return note
