"""The top of the library page: title, a one-line summary, "Import GGUF…", and the two tabs."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QFrame, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from ui.library.widgets import button, label

LOCAL, DISCOVER = 0, 1


class LibraryHeader(QWidget):
    tab_chosen = Signal(int)  # LOCAL | DISCOVER
    import_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(14)
        head = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(label("Library", "LibTitle", self))
        self.subtitle = label("", "LibSubtitle", self, wrap=True)  # wraps in a narrow window, never cut off
        self.subtitle.setAccessibleName("Library summary")
        titles.addWidget(self.subtitle)
        head.addLayout(titles, 1)
        self.import_button = button(
            "Import GGUF…",
            self,
            "Add model files from disk (or drop them on this page)",
            icon="folder",
            accessible="Import a GGUF file",
        )
        self.import_button.clicked.connect(self.import_requested)
        head.addWidget(self.import_button, 0, Qt.AlignmentFlag.AlignVCenter)
        outer.addLayout(head)

        tabs = QFrame(self)
        tabs.setObjectName("LibTabs")
        row = QHBoxLayout(tabs)
        row.setContentsMargins(3, 3, 3, 3)
        row.setSpacing(2)
        self.group = QButtonGroup(self)
        self.tab_local = self._tab("On this computer", "Models and variants on this computer", row, LOCAL)
        self.tab_discover = self._tab("Discover", "The curated catalog and Hub search", row, DISCOVER)
        line = QHBoxLayout()
        line.addWidget(tabs)
        line.addStretch(1)
        outer.addLayout(line)

    def _tab(self, text: str, tip: str, row: QHBoxLayout, index: int) -> QPushButton:
        b = QPushButton(text, self)
        b.setObjectName("LibTab")
        b.setCheckable(True)
        b.setToolTip(tip)
        b.setAccessibleName(text)
        b.setCursor(Qt.CursorShape.PointingHandCursor)
        b.clicked.connect(lambda: self.tab_chosen.emit(index))
        self.group.addButton(b, index)
        row.addWidget(b)
        return b

    def set_tab(self, index: int) -> None:
        self.group.button(index).setChecked(True)

    def set_local_count(self, n: int) -> None:
        self.tab_local.setText(f"On this computer ({n})" if n else "On this computer")
