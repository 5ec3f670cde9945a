"""A read-only Markdown text that is exactly as tall as its content (no inner scroll bar).

Rendered by Qt's own Markdown importer (md4c, GitHub dialect: tables, task lists, strikethrough),
then given the theme's look: inline code on a tinted background, tables with ruled cells.
"""

from __future__ import annotations

import functools
import math

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
    QTextFrame,
    QTextFrameFormat,
    QTextLength,
    QTextTable,
    QTextTableFormat,
    QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser, QWidget

from ui import theme
from ui.fonts import code_font

_FEATURES = QTextDocument.MarkdownFeature.MarkdownDialectGitHub


_ONLY_SPECIFIED = QTextCharFormat.FontPropertiesInheritanceBehavior.FontPropertiesSpecifiedOnly
BODY_PX = 14  # the chat's text size (assets/styles/app.qss sets the same on #MarkdownView)
CODE_PX = 13
HEADING_SCALE = {1: 1.45, 2: 1.25, 3: 1.12}


def mono_font(pixel_size: int = CODE_PX) -> QFont:
    """Code's font: one whose glyphs really share one advance (ui.fonts.code_font), not Qt's fixedPitch flag.
    Chosen once per size (the choice measures glyphs; every render of a streaming reply asks for it)."""
    return QFont(_chosen_mono_font(pixel_size))


@functools.cache
def _chosen_mono_font(pixel_size: int) -> QFont:
    return code_font(pixel_size)


class MarkdownView(QTextBrowser):
    def __init__(self, parent: QWidget | None = None, plain: bool = False) -> None:
        super().__init__(parent)
        self.plain = plain
        self.setObjectName("MarkdownView")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setOpenExternalLinks(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.viewport().setAutoFillBackground(False)
        self.setAutoFillBackground(False)
        self.document().setDocumentMargin(1)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._source = ""
        self._frozen: str | None = None  # while a paragraph is continued: the source before its open part
        self._tail_start = 0  # … and where that open part starts in the document
        self._tail_key: object = None  # which continuation the open part is
        self.setFixedHeight(self._line_height())

    @property
    def source(self) -> str:
        return self._source

    def set_markdown(self, text: str) -> None:
        self._frozen, self._tail_key = None, None
        if text == self._source:
            return
        self._source = text
        doc = self.document()
        if self.plain:
            doc.setPlainText(text)
        else:
            doc.setMarkdown(text, _FEATURES)
            style_document(doc)
        self._fit()

    def continue_markdown(self, key: object, text: str) -> None:
        """Show `text` as the continuation of this view's last paragraph (a block a long paragraph was
        cut into while it streams), rendering only `text`: the paragraph reads as one, exactly as when
        the whole reply is shown at once. `key` names the continuation; a new key freezes the last one."""
        doc = self.document()
        if self._frozen is None or key != self._tail_key:
            self._frozen = self._source
            self._tail_start = doc.characterCount() - 1
            self._tail_key = key
        cur = QTextCursor(doc)
        cur.setPosition(self._tail_start)
        cur.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cur.removeSelectedText()
        if text:
            part = QTextDocument()
            part.setDefaultFont(doc.defaultFont())
            part.setMarkdown(text, _FEATURES)
            style_document(part)
            whole = QTextCursor(part)
            whole.select(QTextCursor.SelectionType.Document)
            cur.insertText(" ")  # the soft line break (or the space) the paragraph was cut at
            cur.insertFragment(whole.selection())
        self._source = self._frozen + "\n" + text
        self._fit()

    def _line_height(self) -> int:
        return self.fontMetrics().lineSpacing() + 2

    def _fit(self, *_: object) -> None:
        h = max(self._line_height(), math.ceil(self.document().size().height()))
        if h != self.height():
            self.setFixedHeight(h)

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.height())

    def resizeEvent(self, e) -> None:  # type: ignore[no-untyped-def]
        super().resizeEvent(e)
        self._fit()

    def wheelEvent(self, e: QWheelEvent) -> None:
        e.ignore()  # the chat scrolls, not this text


def style_document(doc: QTextDocument) -> None:
    """Give Markdown output the theme's look (colours Qt's importer leaves at defaults)."""
    t = theme.current()
    code_fmt = QTextCharFormat()
    code_fmt.setBackground(QColor(t.code_bg))
    code_fmt.setFont(mono_font(CODE_PX - 1), _ONLY_SPECIFIED)
    quote_fmt = QTextCharFormat()
    quote_fmt.setForeground(QColor(t.muted))
    quote_fmt.setFontItalic(True)
    block = doc.begin()
    first = True
    while block.isValid():
        _space_block(doc, block, first, quote_fmt)
        first = False
        it = block.begin()
        while not it.atEnd():
            frag = it.fragment()
            if frag.isValid() and frag.charFormat().fontFixedPitch():
                cur = QTextCursor(doc)
                cur.setPosition(frag.position())
                cur.setPosition(frag.position() + frag.length(), QTextCursor.MoveMode.KeepAnchor)
                cur.mergeCharFormat(code_fmt)
            it += 1
        block = block.next()
    for frame in _frames(doc.rootFrame()):
        if isinstance(frame, QTextTable):
            _style_table(frame, t)


def _space_block(doc: QTextDocument, block: QTextBlock, first: bool, quote_fmt: QTextCharFormat) -> None:
    """Paragraph spacing, line height and heading sizes Qt's importer leaves at their tight defaults."""
    fmt = block.blockFormat()
    cur = QTextCursor(block)
    if cur.currentTable() is not None:
        return  # table cells keep the table's own padding
    level = fmt.headingLevel()
    in_list = block.textList() is not None
    fmt.setLineHeight(135, QTextBlockFormat.LineHeightTypes.ProportionalHeight.value)
    if level:
        fmt.setTopMargin(0 if first else 10)
        fmt.setBottomMargin(4)
        heading = QTextCharFormat()
        font = QFont()
        font.setPixelSize(round(BODY_PX * HEADING_SCALE.get(level, 1.0)))
        font.setBold(True)
        heading.setFont(font, _ONLY_SPECIFIED)
        cur.select(QTextCursor.SelectionType.BlockUnderCursor)
        cur.mergeCharFormat(heading)
        cur = QTextCursor(block)
    elif not in_list:
        fmt.setBottomMargin(6)
    else:
        fmt.setBottomMargin(2)
    if fmt.hasProperty(QTextFormat.Property.BlockQuoteLevel):
        cur.select(QTextCursor.SelectionType.BlockUnderCursor)
        cur.mergeCharFormat(quote_fmt)
        cur = QTextCursor(block)
    cur.setBlockFormat(fmt)


def _frames(root: QTextFrame) -> list[QTextFrame]:
    out = []
    for child in root.childFrames():
        out.append(child)
        out.extend(_frames(child))
    return out


def _style_table(table: QTextTable, t: theme.Tokens) -> None:
    fmt: QTextTableFormat = table.format()
    fmt.setBorder(1)
    fmt.setBorderBrush(QColor(t.border))
    fmt.setBorderStyle(QTextFrameFormat.BorderStyle.BorderStyle_Solid)
    fmt.setBorderCollapse(True)
    fmt.setCellSpacing(0)
    fmt.setCellPadding(6)
    fmt.setTopMargin(4)
    fmt.setBottomMargin(4)
    fmt.setWidth(QTextLength(QTextLength.Type.VariableLength, 0))
    table.setFormat(fmt)
    head = QTextCharFormat()
    head.setBackground(QColor(t.code_head))
    for col in range(table.columns()):
        cell = table.cellAt(0, col)
        cf = cell.format()
        cf.setBackground(QColor(t.code_head))
        cell.setFormat(cf)
