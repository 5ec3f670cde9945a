"""Building blocks of the library page: cards, elided names, link and icon buttons, thin progress bars."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui import theme


class ElidedLabel(QLabel):
    """A one-line label that ends in "…" when it is too narrow; the full text is in the tooltip."""

    def __init__(self, text: str = "", parent: QWidget | None = None,
                 mode: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle) -> None:
        super().__init__(parent)
        self.full = ""
        self.mode = mode
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(60)
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        self.full = text
        self.setToolTip(text)
        self._elide()

    def resizeEvent(self, e: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(e)
        self._elide()

    def _elide(self) -> None:
        width = max(self.width(), 60)
        self.setText(QFontMetrics(self.font()).elidedText(self.full, self.mode, width))


class Card(QFrame):
    """A rounded panel with a vertical layout (`body`)."""

    def __init__(
        self, parent: QWidget | None = None, margins: tuple[int, int, int, int] = (18, 14, 18, 10)
    ) -> None:
        super().__init__(parent)
        self.setObjectName("LibCard")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(*margins)
        self.body.setSpacing(6)


def label(text: str, name: str, parent: QWidget, wrap: bool = False, selectable: bool = False) -> QLabel:
    w = QLabel(text, parent)
    w.setObjectName(name)
    w.setWordWrap(wrap)
    w.setTextFormat(Qt.TextFormat.PlainText)
    if selectable:
        w.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return w


def section(text: str, parent: QWidget) -> QLabel:
    return label(text.upper(), "LibSection", parent)


def button(
    text: str, parent: QWidget, tip: str, primary: bool = False, icon: str = "", accessible: str = ""
) -> QPushButton:
    b = QPushButton(text, parent)
    b.setToolTip(tip)
    b.setAccessibleName(accessible or text)
    b.setAccessibleDescription(tip)
    b.setCursor(Qt.CursorShape.PointingHandCursor)
    if primary:
        b.setProperty("variant", "primary")
    if icon:
        theme.set_icon(b, icon, "accent_text" if primary else "muted", 16)
    return b


def link(text: str, parent: QWidget, tip: str, accessible: str = "") -> QPushButton:
    b = button(text, parent, tip, accessible=accessible)
    b.setObjectName("LibLink")
    b.setFlat(True)
    return b


def icon_button(icon: str, parent: QWidget, tip: str, accessible: str) -> QToolButton:
    b = QToolButton(parent)
    b.setObjectName("LibIconButton")
    theme.set_icon(b, icon, size=16)
    b.setToolTip(tip)
    b.setAccessibleName(accessible)
    b.setCursor(Qt.CursorShape.PointingHandCursor)
    return b


def progress_bar(parent: QWidget, accessible: str) -> QProgressBar:
    bar = QProgressBar(parent)
    bar.setObjectName("LibProgress")
    bar.setAccessibleName(accessible)
    bar.setRange(0, 1000)
    bar.setTextVisible(False)
    bar.setFixedHeight(6)
    return bar
