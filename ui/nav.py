"""The navigation rail on the left edge: one button per page, Settings at the bottom."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QFrame, QLabel, QToolButton, QVBoxLayout, QWidget

from ui import theme


class NavRail(QFrame):
    page_requested = Signal(str)
    settings_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NavRail")
        self.setFixedWidth(76)
        self.col = QVBoxLayout(self)
        self.col.setContentsMargins(8, 14, 8, 12)
        self.col.setSpacing(6)
        logo = QLabel(self)
        logo.setPixmap(theme.app_icon().pixmap(34, 34))
        logo.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        logo.setToolTip("Tern")
        self.col.addWidget(logo)
        self.col.addSpacing(14)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[str, QToolButton] = {}
        self._end = self.col.count()
        self.col.addStretch(1)
        self.settings_button = self._button("settings", "Settings", "Settings (Ctrl+,)")
        self.settings_button.setCheckable(False)
        self.settings_button.clicked.connect(self.settings_requested)
        self.col.addWidget(self.settings_button)

    def _button(self, icon_name: str, title: str, tip: str) -> QToolButton:
        b = QToolButton(self)
        b.setObjectName("NavButton")
        b.setText(title)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        b.setIconSize(QSize(22, 22))
        theme.set_icon(b, icon_name, size=22)
        b.setAccessibleName(title)
        b.setToolTip(tip)
        b.setCheckable(True)
        b.setCursor(Qt.CursorShape.PointingHandCursor)
        b.setFixedSize(60, 56)
        return b

    def add(self, key: str, title: str, icon_name: str, tip: str = "") -> QToolButton:
        if key in self.buttons:
            b = self.buttons[key]
            b.setText(title)
            theme.set_icon(b, icon_name, size=22)
            return b
        b = self._button(icon_name, title, tip or title)
        b.clicked.connect(lambda: self.page_requested.emit(key))
        self.group.addButton(b)
        self.col.insertWidget(self._end, b, 0, Qt.AlignmentFlag.AlignHCenter)
        self._end += 1
        self.buttons[key] = b
        return b

    def set_current(self, key: str) -> None:
        b = self.buttons.get(key)
        if b is not None:
            b.setChecked(True)
