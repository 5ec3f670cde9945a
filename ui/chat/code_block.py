"""A fenced code block: a header with the language and a Copy button over monospace text.

Streaming appends to the end of the text (a code block only ever grows at its end), so a long
block costs the same per update as a short one.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication, QTextCursor, QTextOption, QWheelEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.chat.markdown_view import mono_font


class _CodeText(QPlainTextEdit):
    def wheelEvent(self, e: QWheelEvent) -> None:
        if e.angleDelta().x() and not e.angleDelta().y():
            super().wheelEvent(e)  # sideways scrolling of long lines
        else:
            e.ignore()  # the chat scrolls, not this block


class CodeBlock(QFrame):
    def __init__(self, lang: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CodeBlock")
        self.lang = lang
        self._text = ""  # everything received, including a trailing newline not yet shown
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)

        head = QFrame(self)
        head.setObjectName("CodeHeader")
        row = QHBoxLayout(head)
        row.setContentsMargins(12, 2, 4, 2)
        name = QLabel(lang or "code", head)
        name.setObjectName("CodeLang")
        row.addWidget(name)
        row.addStretch(1)
        self.copy_button = QToolButton(head)
        self.copy_button.setObjectName("CodeCopy")
        self.copy_button.setText("Copy")
        self.copy_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        theme.set_icon(self.copy_button, "copy", size=14)
        self.copy_button.setAccessibleName(f"Copy {lang or 'code'} block")
        self.copy_button.setToolTip("Copy this code to the clipboard")
        self.copy_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.copy_button.clicked.connect(self.copy)
        row.addWidget(self.copy_button)
        col.addWidget(head)

        self.view = _CodeText(self)
        self.view.setObjectName("CodeText")
        self.view.setReadOnly(True)
        self.view.setFrameShape(QFrame.Shape.NoFrame)
        self.view.setFont(mono_font())
        self.view.setWordWrapMode(QTextOption.WrapMode.NoWrap)
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.view.setAccessibleName(f"{lang or 'Code'} block")
        self.view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.view.document().setDocumentMargin(10)
        self.view.horizontalScrollBar().rangeChanged.connect(self._fit)
        col.addWidget(self.view)
        self._fit()

    @property
    def text(self) -> str:
        return self._text

    def set_text(self, text: str) -> None:
        """Show `text`; if it extends what is shown, only the new part is added."""
        if text.startswith(self._text):
            self.append(text[len(self._text):])
            return
        self._text = text
        self.view.setPlainText(text.removesuffix("\n"))
        self._fit()

    def append(self, more: str) -> None:
        if not more:
            return
        shown = self._text.removesuffix("\n")
        self._text += more
        new = self._text.removesuffix("\n")[len(shown):]
        cur = QTextCursor(self.view.document())
        cur.movePosition(QTextCursor.MoveOperation.End)
        cur.insertText(new)
        self._fit()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self._text.removesuffix("\n"))
        self.copy_button.setText("Copied")
        theme.set_icon(self.copy_button, "check", size=14)
        QTimer.singleShot(1500, self, self._copied_done)

    def _copied_done(self) -> None:
        self.copy_button.setText("Copy")
        theme.set_icon(self.copy_button, "copy", size=14)

    def _fit(self, *_: object) -> None:
        lines = max(1, self.view.document().blockCount())
        fm = self.view.fontMetrics()
        h = lines * fm.lineSpacing() + 2 * int(self.view.document().documentMargin()) + 2
        bar = self.view.horizontalScrollBar()
        if bar.maximum() > 0:
            h += bar.sizeHint().height()
        if self.view.height() != h:
            self.view.setFixedHeight(h)
