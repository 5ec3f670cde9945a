"""Settings: engine threads and context length, theme, where data and models live, the Hugging
Face token (kept in the OS keyring or a private file, never in settings.json; `ui.settings_token`),
offline mode."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from backend import units
from backend.engine.hardware import logical_cpus
from backend.paths import Paths
from ui.context import SettingsLike, TokenStore
from ui.jobs import Job, start_job
from ui.settings_token import TokenRow
from ui.theme import ThemeManager

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
        self.size_label.setText("size unknown" if n is None else f"{units.size(n)} used")


class SettingsDialog(QDialog):
    """`secrets`: where the Hugging Face token is kept. `themes`: given, a theme picked here shows at once
    (and Cancel puts the previous one back)."""

    def __init__(self, settings: SettingsLike, paths: Paths, secrets: TokenStore,
                 themes: ThemeManager | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SettingsDialog")
        self.setWindowTitle("Settings")
        self.setAccessibleName("Settings")
        self.settings = settings
        self.paths = paths
        self.secrets = secrets
        self.themes = themes
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
        self.theme.currentIndexChanged.connect(self._preview_theme)
        form.addRow(self._label("Theme", self.theme), self.theme)

        self._section("Hugging Face")
        self.token_row = TokenRow(self.secrets, self)
        self.token = self.token_row.field
        form.addRow(self._label("Access token", self.token), self.token_row)
        self.offline = QCheckBox("Never contact the Hugging Face Hub", self)
        self.offline.setAccessibleName("Offline mode")
        self.offline.setToolTip("Search and downloads are switched off; chat works as always")
        self.offline.setChecked(settings.offline)
        form.addRow(self._label("Offline mode", self.offline), self.offline)
        self.keep_source = QCheckBox("Keep the downloaded originals of converted models", self)
        self.keep_source.setAccessibleName("Keep converted models' sources")
        self.keep_source.setToolTip("Models published as safetensors or bitnet.cpp I2_S files are converted on this "
                                    "computer. Off (the default): the downloaded original is removed from the Hugging "
                                    "Face cache once the conversion is verified. On: it stays there.")
        self.keep_source.setChecked(settings.keep_source)
        form.addRow(self._label("Converted models", self.keep_source), self.keep_source)

        self._section("Storage")
        self.data_row = _FolderRow("Data folder", paths.data, self)
        self.models_row = _FolderRow("Models folder", paths.models, self)
        self.cache_row = _FolderRow("Cache folder", paths.cache, self)
        self.cache_row.setToolTip("Files Tern can make again: the synthetic models of the paper's shapes while "
                                  "they are benchmarked, and other temporary work")
        form.addRow(self._label("Data", self.data_row.open_button), self.data_row)
        form.addRow(self._label("Models", self.models_row.open_button), self.models_row)
        form.addRow(self._label("Cache", self.cache_row.open_button), self.cache_row)
        form.addRow("", self._note("Data includes Models. Downloads from the Hub live in the Hugging Face cache, "
                                   "shared with other tools."))
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
        self.buttons = buttons
        self.token_row.saved.connect(self._token_saved)
        self.token_row.save_failed.connect(self._token_not_saved)
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
        rows = (self.data_row, self.models_row, self.cache_row)
        folders = [row.path for row in rows]

        def work(_report: Callable[[str, float], None], cancel: threading.Event) -> list[int]:
            return [folder_size(f, cancel) for f in folders]

        def show(sizes: list[int]) -> None:
            for row, n in zip(rows, sizes, strict=True):
                row.set_size(n)

        job = start_job(work, "folder-sizes", self)
        job.succeeded.connect(show)
        job.failed.connect(lambda _e: [row.set_size(None) for row in rows])
        return job

    def values(self) -> dict[str, object]:
        return {"threads": self.threads.value(), "n_ctx": int(self.n_ctx.currentData()),
                "theme": str(self.theme.currentData()), "offline": self.offline.isChecked(),
                "keep_source": self.keep_source.isChecked()}

    def accept(self) -> None:
        """Save: settings through `Settings.update` (listeners hear of it), then the token through secrets,
        off the GUI thread; the dialog closes once the token is stored (or stays open saying why not)."""
        if not self.buttons.isEnabled():
            return  # the token is being saved
        changes = {k: v for k, v in self.values().items() if getattr(self.settings, k) != v}
        if changes:
            self.settings.update(**changes)
        if self.token_row.changed():
            self.buttons.setEnabled(False)
            self.token_row.save()
            return
        self._close(accepted=True)

    @Slot(str)
    def _token_saved(self, _where: str) -> None:
        self._close(accepted=True)

    @Slot(object)
    def _token_not_saved(self, _error: object) -> None:
        self.buttons.setEnabled(True)  # the row says why; the person can retry or cancel

    def reject(self) -> None:
        if self.buttons.isEnabled():
            self._close(accepted=False)

    def _close(self, accepted: bool) -> None:
        if not accepted and self.themes is not None and self.themes.choice != self.settings.theme:
            self.themes.apply(self.settings.theme)  # the preview goes; the saved theme comes back
        self.sizes_job.shutdown(2000)
        super().accept() if accepted else super().reject()

    def _preview_theme(self, _index: int) -> None:
        if self.themes is not None:
            self.themes.apply(str(self.theme.currentData()))
