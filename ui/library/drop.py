"""Drag-and-drop import: .gguf files dropped from a file manager onto the library page are added to it.

`DropImport` watches the page's drag events (an event filter, so the page stays free of them):
while files are dragged over it a dashed overlay says what a drop will do; a drop hands the
local file paths to `on_paths` (the page checks that they are GGUF files and imports them).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QFrame, QVBoxLayout, QWidget

from ui.library.widgets import label


class DropOverlay(QFrame):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("LibDrop")
        col = QVBoxLayout(self)
        text = label("Drop GGUF files to add them to the library", "LibDropText", self)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        col.addWidget(text)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.hide()


def local_paths(e: QDropEvent) -> list[str]:
    md = e.mimeData()
    return [u.toLocalFile() for u in md.urls() if u.isLocalFile()] if md is not None and md.hasUrls() else []


class DropImport(QObject):
    def __init__(self, page: QWidget, on_paths: Callable[[list[str]], None]) -> None:
        super().__init__(page)
        self.page, self.on_paths = page, on_paths
        self.overlay = DropOverlay(page)
        page.setAcceptDrops(True)
        page.installEventFilter(self)

    def eventFilter(self, obj: QObject, e: QEvent) -> bool:  # noqa: N802 - Qt's name
        t = e.type()
        if t in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if local_paths(e):  # type: ignore[arg-type]
                e.acceptProposedAction()  # type: ignore[attr-defined]
                if t == QEvent.Type.DragEnter:
                    self.overlay.setGeometry(self.page.rect().adjusted(16, 16, -16, -16))
                    self.overlay.raise_()
                    self.overlay.show()
            else:
                e.ignore()
            return True
        if t == QEvent.Type.DragLeave:
            self.overlay.hide()
        elif t == QEvent.Type.Drop:
            self.overlay.hide()
            paths = local_paths(e)  # type: ignore[arg-type]
            if paths:
                e.acceptProposedAction()  # type: ignore[attr-defined]
                self.on_paths(paths)
            else:
                e.ignore()
            return True
        elif t == QEvent.Type.Resize:
            self.overlay.setGeometry(self.page.rect().adjusted(16, 16, -16, -16))
        return False
