"""Settings: engine threads and context length, theme, where data and models live, the Hugging
Face token (kept in the keyring or a private file, never in settings.json), offline mode."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app import secrets
from app.settings import Settings
from backend.chat.choices import human_size
from backend.engine.hardware import logical_cpus
from backend.paths import Paths
from ui.jobs import Job, start_job

THEME_NAMES = {"system": "Follow the system", "light": "Light", "dark": "Dark"}
CONTEXT_CHOICES = (512, 1024, 2048, 4096, 8192, 16384, 32768)


def folder_size(path: Path, cancel: threading.Event | None = None) -> int:
    """Bytes in the files under `path` (links not followed)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        if cancel is not None and cancel.is_set():
            break
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def physical_cores() -> int:
    import psutil

    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


class _FolderRow(QWidget):
    def __init__(self, name: str, path: Path, parent: QWidget) -> None:
        super().__init__(parent)
        self.path = path
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        col = QVBoxLayout()
        col.setSpacing(0)
        self.path_label = QLabel(str(path), self)
        self.path_label.setObjectName("RowDetail")
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.size_label = QLabel("measuring…", self)
        self.size_label.setObjectName("RowDetail")
        self.size_label.setAccessibleName(f"{name} size")
        col.addWidget(self.path_label)
        col.addWidget(self.size_label)
        row.addLayout(col, 1)
        self.open_button = QPushButton("Open folder", self)
        self.open_button.setAccessibleName(f"Open the {name.lower()}")
        self.open_button.setToolTip(f"Show {path} in the file manager")
        self.open_button.clicked.connect(self.open)
        row.addWidget(self.open_button)

    def open(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path)))

    def set_size(self, n: int | None) -> None:
        self.size_label.setText("size unknown" if n is None else f"{human_size(n)} used")


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, paths: Paths, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SettingsDialog")
        self.setWindowTitle("Settings")
        self.setAccessibleName("Settings")
        self.settings = settings
        self.paths = paths
        self.setMinimumWidth(600)
        col = QVBoxLayout(self)
        col.setContentsMargins(24, 20, 24, 18)
        col.setSpacing(14)
        form = QFormLayout()
        form.setHorizontalSpacing(18)
        form.setVerticalSpacing(9)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form = form

        self._section("Engine")
        cores = physical_cores()
        self.threads = QSpinBox(self)
        self.threads.setRange(0, logical_cpus())  # more threads than CPUs only slow llama.cpp down (or crash it)
        self.threads.setSpecialValueText(f"Automatic ({cores}, the physical cores)")
        self.threads.setValue(min(settings.threads, logical_cpus()))
        self.threads.setAccessibleName("Threads")
        self.threads.setToolTip("CPU threads the engine uses. Automatic uses one per physical core, which is "
                                "usually fastest. Applies when a model is next loaded.")
        form.addRow(self._label("Threads", self.threads), self.threads)
        self.n_ctx = QComboBox(self)
        self.n_ctx.setAccessibleName("Context length")
        self.n_ctx.setToolTip("How many tokens of conversation the model keeps in view. Longer needs more "
                              "memory (the KV cache). Applies when a model is next loaded.")
        values = sorted(set(CONTEXT_CHOICES) | {settings.n_ctx})
        for v in values:
            self.n_ctx.addItem(f"{v:,} tokens", v)
        self.n_ctx.setCurrentIndex(values.index(settings.n_ctx))
        form.addRow(self._label("Context length", self.n_ctx), self.n_ctx)
        form.addRow("", self._note("Both apply when a model is next loaded."))

        self._section("Appearance")
        self.theme = QComboBox(self)
        self.theme.setAccessibleName("Theme")
        self.theme.setToolTip("Light, dark, or whatever the system uses")
        for key, name in THEME_NAMES.items():
            self.theme.addItem(name, key)
        self.theme.setCurrentIndex(list(THEME_NAMES).index(settings.theme))
        form.addRow(self._label("Theme", self.theme), self.theme)

        self._section("Hugging Face")
        self.token = QLineEdit(self)
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("hf_…  (only for gated or private models)")
        self.token.setAccessibleName("Hugging Face token")
        self.token.setToolTip("A Hugging Face access token, for gated or private models. Stored in "
                              + secrets.storage() + "; never written to the settings file or the log.")
        self._token_before = secrets.get_hf_token() or ""
        self.token.setText(self._token_before)
        form.addRow(self._label("Access token", self.token), self.token)
        self.token_where = self._note(f"Kept in {secrets.storage()}.")
        form.addRow("", self.token_where)
        self.offline = QCheckBox("Never contact the Hugging Face Hub", self)
        self.offline.setAccessibleName("Offline mode")
        self.offline.setToolTip("Search and downloads are switched off; chat works as always")
        self.offline.setChecked(settings.offline)
        form.addRow(self._label("Offline mode", self.offline), self.offline)

        self._section("Storage")
        self.data_row = _FolderRow("Data folder", paths.data, self)
        self.models_row = _FolderRow("Models folder", paths.models, self)
        form.addRow(self._label("Data", self.data_row.open_button), self.data_row)
        form.addRow(self._label("Models", self.models_row.open_button), self.models_row)
        col.addLayout(form)
        col.addStretch(1)

        standard = QDialogButtonBox.StandardButton
        buttons = QDialogButtonBox(standard.Save | standard.Cancel, self)
        save = buttons.button(standard.Save)
        save.setProperty("variant", "primary")
        save.style().unpolish(save)
        save.style().polish(save)
        save.setAccessibleName("Save settings")
        save.setToolTip("Save and close")
        cancel = buttons.button(standard.Cancel)
        cancel.setAccessibleName("Cancel")
        cancel.setToolTip("Close without saving")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        col.addWidget(buttons)
        self.sizes_job = self._measure()

    @staticmethod
    def _label(text: str, buddy: QWidget) -> QLabel:
        label = QLabel(text)
        label.setBuddy(buddy)
        return label

    def _section(self, title: str) -> None:
        label = QLabel(title, self)
        label.setObjectName("SectionTitle")
        if self.form.rowCount():
            label.setContentsMargins(0, 10, 0, 0)
        self.form.addRow(label)

    def _note(self, text: str) -> QLabel:
        note = QLabel(text, self)
        note.setObjectName("RowDetail")
        note.setWordWrap(True)
        note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return note

    def _measure(self) -> Job:
        data, models = self.paths.data, self.paths.models

        def work(_report: Callable[[str, float], None], cancel: threading.Event) -> tuple[int, int]:
            return folder_size(data, cancel), folder_size(models, cancel)

        job = start_job(work, "folder-sizes", self)
        job.succeeded.connect(lambda r: (self.data_row.set_size(r[0]), self.models_row.set_size(r[1])))
        job.failed.connect(lambda _e: (self.data_row.set_size(None), self.models_row.set_size(None)))
        return job

    def values(self) -> dict[str, object]:
        return {"threads": self.threads.value(), "n_ctx": int(self.n_ctx.currentData()),
                "theme": str(self.theme.currentData()), "offline": self.offline.isChecked()}

    def accept(self) -> None:
        """Save: settings through `Settings.update` (listeners hear of it), the token through secrets."""
        token = self.token.text().strip()
        if token != self._token_before:
            secrets.set_hf_token(token)
        changes = {k: v for k, v in self.values().items() if getattr(self.settings, k) != v}
        if changes:
            self.settings.update(**changes)
        self.sizes_job.shutdown(2000)
        super().accept()

    def reject(self) -> None:
        self.sizes_job.shutdown(2000)
        super().reject()
