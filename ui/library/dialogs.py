"""The library's two dialogs: "remove? this frees N GB" and "import a GGUF file".

Both are window-modal and never block.

Each is opened with `open()` and reports through a callback, so the event loop (downloads,
the chat) keeps running while it is up.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from backend import units
from backend.hub.library import removal_plan
from backend.models.registry import LocalModel


def confirm_remove(
    parent: QWidget, model: LocalModel, encoding: str | None, loaded_spec: str, on_yes: Callable[[], None]
) -> QMessageBox:
    variants = [v for v in model.variants if encoding is None or v.encoding.upper() == encoding.upper()]
    what = f"{model.name}:{encoding}" if encoding else model.name
    plan = removal_plan(variants)
    # what a person calls files: the model files, not the cache's links to them
    freed, deleted, kept = plan.freed_bytes, sum(1 for p in plan.delete if not p.is_symlink()), plan.kept
    lines = []
    if deleted:
        lines.append(
            f"This deletes {deleted} file{'s' * (deleted != 1)} and frees {units.size(freed)} "
            "of disk space."
        )
    else:
        lines.append("No file is deleted.")
    if kept:
        lines.append("Files you imported stay where they are: " + ", ".join(str(p) for p in kept) + ".")
    if encoding is None and len(variants) > 1:
        lines.append(f"All {len(variants)} variants go: " + ", ".join(v.encoding for v in variants) + ".")
    if (
        loaded_spec
        and loaded_spec.split(":")[0].lower() == model.name.lower()
        and (encoding is None or loaded_spec.lower() == what.lower())
    ):
        lines.append("It is loaded in the chat now; the chat keeps it until you choose another model.")
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        f"Remove {what}?",
        f"Remove {what} from this computer?",
        QMessageBox.StandardButton.NoButton,
        parent,
    )
    box.setInformativeText("\n\n".join(lines))
    box.remove_button = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
    box.remove_button.setAccessibleName(f"Remove {what}")
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.setAccessibleName(f"Remove {what}?")
    box.freed_bytes = freed

    def done(_result: int) -> None:
        if box.clickedButton() is box.remove_button:
            on_yes()

    box.finished.connect(done)
    box.open()
    return box


def choose_files(parent: QWidget, on_files: Callable[[list[str]], None]) -> QFileDialog:
    dialog = QFileDialog(
        parent, "Add GGUF model files to the library", str(Path.home()), "GGUF models (*.gguf);;All files (*)"
    )
    dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
    dialog.filesSelected.connect(lambda files: on_files(list(files)))
    dialog.open()
    return dialog
