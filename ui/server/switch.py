"""An on/off switch: a pill with a knob, keyboard- and screen-reader-friendly (a checkable button)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QAbstractButton, QWidget

from ui import theme


class Switch(QAbstractButton):
    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setCheckable(True)
        self.setAccessibleName(name)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def sizeHint(self) -> QSize:
        return QSize(46, 26)

    def paintEvent(self, _e: QPaintEvent) -> None:
        t = theme.current()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        track = QRectF(1, 1, self.width() - 2, self.height() - 2)
        on = self.isChecked()
        p.setPen(QColor(t.accent if self.hasFocus() else t.border))
        p.setBrush(QColor(t.accent if on else t.raised))
        if not self.isEnabled():
            p.setOpacity(0.5)
        p.drawRoundedRect(track, track.height() / 2, track.height() / 2)
        d = track.height() - 6
        x = track.right() - d - 3 if on else track.left() + 3
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(t.accent_text if on else t.muted))
        p.drawEllipse(QRectF(x, track.top() + 3, d, d))
