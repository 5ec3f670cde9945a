"""The library page's look: a style sheet from the theme's colour tokens; chips and glyphs.

The page carries its own sheet (the app sheet is the window's), rebuilt from `ui.theme` tokens
whenever the theme changes, so light and dark can't drift apart. Widgets say what they are with
an object name and a `kind` property (ok / warn / bad / muted / enc / busy); `set_kind` repolishes.
"""

from __future__ import annotations

import weakref
from string import Template

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from ui import theme

SHEET = Template("""
#LibraryPage, #LibBody, #LibScroll, #LibStack { background: $window; }
#LibTitle { font-size: 22px; font-weight: 700; }
#LibSubtitle { color: $muted; font-size: 13px; }
#LibTab { background: transparent; border: none; border-radius: 8px; padding: 6px 14px; color: $muted;
          font-weight: 600; }
#LibTab:hover { background: $raised; color: $text; }
#LibTab:checked { background: $panel; color: $text; border: 1px solid $border; }
#LibTabs { background: $rail; border: 1px solid $border; border-radius: 10px; }
#LibSection { color: $muted; font-size: 11px; font-weight: 700; letter-spacing: 0.5px; }
#LibCard { background: $panel; border: 1px solid $border; border-radius: 12px; }
#LibCard[highlight="true"] { border: 2px solid $accent; }
#LibCardTitle { font-size: 15px; font-weight: 600; background: transparent; }
#LibMeta { color: $muted; font-size: 12px; background: transparent; }
#LibNote { color: $faint; font-size: 12px; background: transparent; }
#LibFileRow { background: transparent; border: none; border-top: 1px solid $border; }
#LibFileName { font-size: 13px; background: transparent; }
#LibSize { color: $text; font-size: 12px; font-weight: 600; background: transparent; }
#LibChip { border-radius: 7px; padding: 3px 8px; font-size: 11px; font-weight: 600; background: $raised;
           color: $muted; }
#LibChip[kind="enc"] { background: $accent_soft; color: $accent; }
#LibChip[kind="ok"] { background: transparent; color: $ok; border: 1px solid $ok; padding: 2px 7px; }
#LibChip[kind="warn"] { background: $warn_soft; color: $warn; }
#LibChip[kind="bad"] { background: $danger_soft; color: $danger; }
#LibChip[kind="busy"] { background: transparent; color: $faint; border: 1px dashed $border;
                        padding: 2px 7px; }
#LibVerdict { font-size: 12px; background: transparent; color: $muted; }
#LibVerdict[kind="ok"] { color: $ok; }
#LibVerdict[kind="bad"] { color: $danger; }
#LibVerdict[kind="warn"] { color: $warn; }
#LibVerdict[kind="busy"] { color: $faint; font-style: italic; }
#LibProgress { background: $raised; border: none; border-radius: 3px; max-height: 6px; min-height: 6px; }
#LibProgress::chunk { background: $accent; border-radius: 3px; }
#LibProgress[kind="paused"]::chunk { background: $faint; }
#LibStrip { background: $warn_soft; border: 1px solid $warn_soft; border-radius: 10px; }
#LibStrip[kind="info"] { background: $accent_soft; border-color: $accent_soft; }
#LibStripText { color: $text; font-size: 13px; background: transparent; }
#LibDownloads { background: $panel; border: 1px solid $border; border-radius: 12px; }
#LibDownloadRow { background: transparent; }
#LibLink { background: transparent; border: none; color: $accent; padding: 2px 4px; font-weight: 600; }
#LibLink:hover { color: $text; }
#LibLink:disabled { color: $faint; background: transparent; }
#LibIconButton { background: transparent; border: none; border-radius: 7px; padding: 5px; }
#LibIconButton:hover { background: $raised; }
#LibIconButton::menu-indicator { image: none; width: 0; }
QPushButton[variant="primary"]:disabled { background: $raised; color: $faint; border-color: $border; }
#LibSearch { background: $panel; border: 1px solid $border; border-radius: 10px; padding: 8px 12px;
             font-size: 14px; }
#LibSearch:focus { border-color: $accent; }
#LibEmptyTitle { font-size: 18px; font-weight: 600; background: transparent; }
#LibEmptyText { color: $muted; font-size: 13px; background: transparent; }
#LibDrop { background: $accent_soft; border: 2px dashed $accent; border-radius: 16px; }
#LibDropText { color: $accent; font-size: 18px; font-weight: 700; background: transparent; }
#LibVariant { background: $window; border: 1px solid $border; border-radius: 9px; }
#LibVariant[kind="bad"] { background: $danger_soft; border-color: $danger; }
""")

_glyphs: weakref.WeakKeyDictionary[QLabel, tuple[str, str, int]] = weakref.WeakKeyDictionary()


def sheet() -> str:
    return SHEET.substitute(theme.current().__dict__)


def set_kind(widget: QWidget, kind: str, prop: str = "kind") -> None:
    """Change a style property and redraw the widget in its new colours."""
    if widget.property(prop) == kind:
        return
    widget.setProperty(prop, kind)
    widget.style().unpolish(widget)
    widget.style().polish(widget)
    widget.update()


def glyph(parent: QWidget, name: str, role: str = "muted", size: int = 18) -> QLabel:
    """A theme icon as a label, redrawn by `refresh_glyphs` when the theme changes."""
    label = QLabel(parent)
    label.setFixedSize(size, size)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    set_glyph(label, name, role, size)
    return label


def set_glyph(label: QLabel, name: str, role: str = "muted", size: int = 18) -> None:
    _glyphs[label] = (name, role, size)
    label.setPixmap(theme.icon(name, getattr(theme.current(), role), size).pixmap(size, size))


def refresh_glyphs() -> None:
    for label, (name, role, size) in list(_glyphs.items()):
        try:
            label.setPixmap(theme.icon(name, getattr(theme.current(), role), size).pixmap(size, size))
        except RuntimeError:  # the C++ label is gone
            _glyphs.pop(label, None)


def chip(parent: QWidget, text: str, kind: str = "", tip: str = "") -> QLabel:
    c = QLabel(text, parent)
    c.setObjectName("LibChip")
    c.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
    c.setProperty("kind", kind)
    c.setToolTip(tip)
    c.setAccessibleName(text)
    if tip:
        c.setAccessibleDescription(tip)
    return c
