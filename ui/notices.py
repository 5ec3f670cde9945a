"""The banner area at the top of the window that shows the message bridge's notices."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from ui import theme
from ui.messages import ERROR, WARNING, MessageBridge, Notice

MAX_SHOWN = 3
_ICONS = {ERROR: ("alert", "danger"), WARNING: ("alert", "warn"), "info": ("info", "accent")}


class NoticeBanner(QFrame):
    def __init__(self, notice: Notice, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.notice = notice
        self.setObjectName("Banner")
        self.setProperty("level", notice.level)
        self.setAccessibleName(f"{notice.level.capitalize()} message")
        self.setAccessibleDescription(f"{notice.text} {notice.hint}".strip())
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 8, 8)
        row.setSpacing(10)
        name, role = _ICONS.get(notice.level, _ICONS["info"])
        glyph = QLabel(self)
        glyph.setPixmap(theme.icon(name, getattr(theme.current(), role), 18).pixmap(18, 18))
        glyph.setAlignment(Qt.AlignmentFlag.AlignTop)
        glyph.setContentsMargins(0, 2, 0, 0)
        row.addWidget(glyph)
        text = QLabel(self)
        text.setObjectName("BannerText")
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.PlainText)
        text.setText(notice.text + (f"\n{notice.hint}" if notice.hint else ""))
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(text, 1)
        self.text_label = text
        self.buttons: list[QPushButton] = []
        for label, fn in notice.actions:
            b = QPushButton(label, self)
            b.setObjectName("BannerAction")
            b.setAccessibleName(label)
            b.setToolTip(label)
            b.setCursor(Qt.CursorShape.PointingHandCursor)
            b.clicked.connect(lambda _=False, fn=fn: (fn(), self.close_banner()))
            row.addWidget(b, 0, Qt.AlignmentFlag.AlignVCenter)
            self.buttons.append(b)
        close = QToolButton(self)
        close.setObjectName("BannerClose")
        theme.set_icon(close, "close", size=16)
        close.setAccessibleName("Dismiss message")
        close.setToolTip("Dismiss this message")
        close.clicked.connect(self.close_banner)
        row.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        if notice.timeout_ms:
            QTimer.singleShot(notice.timeout_ms, self, self.close_banner)

    def close_banner(self) -> None:
        self.hide()
        self.deleteLater()


class NoticeArea(QWidget):
    """Shows up to three notices, newest at the bottom; one with the same key replaces the old."""

    def __init__(self, bridge: MessageBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NoticeArea")
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(12, 8, 12, 0)
        self.layout_.setSpacing(6)
        self.setVisible(False)
        bridge.posted.connect(self.show_notice)
        bridge.dismissed.connect(self.dismiss)

    def banners(self) -> list[NoticeBanner]:
        return [w for w in self.findChildren(NoticeBanner) if not w.isHidden()]

    def show_notice(self, notice: Notice) -> NoticeBanner:
        if notice.key:
            self.dismiss(notice.key)
        shown = self.banners()
        for old in shown[: max(0, len(shown) - MAX_SHOWN + 1)]:
            old.close_banner()
        banner = NoticeBanner(notice, self)
        banner.destroyed.connect(self._update_visible)
        self.layout_.addWidget(banner)
        banner.show()  # now, not on the layout's queued show: a pending _update_visible must count it
        self.setVisible(True)
        return banner

    def dismiss(self, key: str) -> None:
        for b in self.banners():
            if b.notice.key == key:
                b.close_banner()
        QTimer.singleShot(0, self._update_visible)

    def _update_visible(self, *_: object) -> None:
        self.setVisible(bool(self.banners()))
