"""The font code is shown in: one whose glyphs really all have the same advance.

Qt's system fixed font is the first choice (QFontDatabase.systemFont(FixedFont)), but what a reader
needs is columns that line up, and Qt's own `QFontInfo.fixedPitch()` is not a reliable witness of
that: with more fonts installed, "monospace" can resolve to Noto Sans Mono, which Qt reports as not
fixed-pitch although every glyph has the same advance. So the choice is checked by measuring —
`i`, `l`, `.`, `0` and `W` must advance alike — and, if the system font fails, a list of common
monospaced families is tried in order.
"""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontDatabase, QFontMetricsF

FALLBACK = ("DejaVu Sans Mono", "Noto Sans Mono", "Liberation Mono", "Ubuntu Mono", "Cascadia Mono", "Consolas",
            "Menlo", "SF Mono", "Courier New", "Courier")
PROBE = "il.0W"


def monospaced(font: QFont) -> bool:
    """True when the glyphs a reader lines up in code all take the same horizontal space."""
    fm = QFontMetricsF(font)
    advances = {round(fm.horizontalAdvance(c), 2) for c in PROBE}
    return len(advances) == 1


def code_font(pixel_size: int = 13) -> QFont:
    """The system's fixed font if it is really monospaced at this size, else the first installed fallback
    that is; the system's font when nothing better is installed."""
    system = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    installed = set(QFontDatabase.families())
    candidates = [system] + [QFont(name) for name in FALLBACK if name in installed]
    for font in candidates:
        font.setPixelSize(pixel_size)
        font.setStyleHint(QFont.StyleHint.Monospace)
        if monospaced(font):
            return font
    return candidates[0]
