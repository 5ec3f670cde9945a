"""Light and dark themes: one set of colour tokens, a Fusion palette and a style sheet built from them.

Colours live here (tokens) and shapes live in `assets/styles/app.qss` (a template with `$token`
placeholders), so the two themes can't drift apart. "Follow system" reads Qt's colour scheme
hint and follows it when the system changes.
"""

from __future__ import annotations

import logging
import tempfile
import weakref
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from string import Template

from PySide6.QtCore import QByteArray, QObject, QSize, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

log = logging.getLogger("tern.ui")


@dataclass(frozen=True)
class Tokens:
    name: str
    window: str  # page background
    rail: str  # navigation rail and conversation list
    panel: str  # cards, inputs, the chat column
    raised: str  # hover backgrounds, chips
    text: str
    muted: str
    faint: str
    border: str
    accent: str
    accent_text: str
    accent_soft: str  # user bubbles, selection
    code_bg: str
    code_head: str
    danger: str
    danger_soft: str
    warn: str
    warn_soft: str
    ok: str


LIGHT = Tokens(
    name="light", window="#f6f7f9", rail="#eef0f3", panel="#ffffff", raised="#e7eaee",
    text="#1c2127", muted="#5f6b7a", faint="#8d97a5", border="#dde1e6", accent="#0b7a85",
    accent_text="#ffffff", accent_soft="#e0f1f2", code_bg="#f3f5f7", code_head="#e8ecf0",
    danger="#b42318", danger_soft="#fdecea", warn="#8a5a00", warn_soft="#fff4dc", ok="#1a7f37",
)
DARK = Tokens(
    name="dark", window="#1b1d21", rail="#15171a", panel="#23262b", raised="#2e3238",
    text="#e7e9ec", muted="#a2aab5", faint="#76808c", border="#353a41", accent="#34b3bf",
    accent_text="#0e1416", accent_soft="#1d3a3e", code_bg="#16181b", code_head="#2a2e34",
    danger="#f97066", danger_soft="#3b1f1e", warn="#f5c163", warn_soft="#3a2f17", ok="#4ac26b",
)


def system_is_dark() -> bool:
    app = QGuiApplication.instance()
    if app is None:
        return False
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def tokens_for(choice: str) -> Tokens:
    if choice == "dark" or (choice == "system" and system_is_dark()):
        return DARK
    return LIGHT


def palette(t: Tokens) -> QPalette:
    p = QPalette()
    c = QColor
    roles = {
        QPalette.ColorRole.Window: t.window, QPalette.ColorRole.WindowText: t.text,
        QPalette.ColorRole.Base: t.panel, QPalette.ColorRole.AlternateBase: t.rail,
        QPalette.ColorRole.Text: t.text, QPalette.ColorRole.Button: t.panel,
        QPalette.ColorRole.ButtonText: t.text, QPalette.ColorRole.Highlight: t.accent,
        QPalette.ColorRole.HighlightedText: t.accent_text, QPalette.ColorRole.ToolTipBase: t.panel,
        QPalette.ColorRole.ToolTipText: t.text, QPalette.ColorRole.PlaceholderText: t.faint,
        QPalette.ColorRole.Link: t.accent, QPalette.ColorRole.LinkVisited: t.accent,
        QPalette.ColorRole.Light: t.panel, QPalette.ColorRole.Midlight: t.raised,
        QPalette.ColorRole.Mid: t.border, QPalette.ColorRole.Dark: t.border,
        QPalette.ColorRole.Shadow: t.border,
    }
    for role, value in roles.items():
        p.setColor(role, c(value))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, c(t.faint))
    return p


@cache
def _template() -> Template:
    text = resources.files("assets.styles").joinpath("app.qss").read_text(encoding="utf-8")
    return Template(text)


def style_sheet(t: Tokens) -> str:
    arrows = {f"arrow_{d}": _arrow_file(d, t.muted) for d in ("down", "up")}
    return _template().safe_substitute({**t.__dict__, **arrows})


def _arrow_file(direction: str, color: str) -> str:
    """A small arrow PNG for style sheets (which take image files, not icons), made once per colour."""
    from backend.paths import paths

    name = f"chevron-{direction}-{color.lstrip('#')}.png"
    # the cache may be on a read-only or full disk: then the system's temporary folder, else no arrow image
    for folder in (paths().cache / "ui", Path(tempfile.gettempdir()) / "tern-ui"):
        path = folder / name
        try:
            if not path.exists():
                folder.mkdir(parents=True, exist_ok=True)
                if not icon(f"chevron-{direction}", color, 12).pixmap(12, 12).save(str(path)):
                    continue
            return path.as_posix()
        except OSError:
            continue
    return ""


@cache
def _svg(name: str) -> str:
    return resources.files("assets.styles").joinpath("icons", f"{name}.svg").read_text(encoding="utf-8")


def icon(name: str, color: str | None = None, size: int = 20) -> QIcon:
    """A line icon from assets/styles/icons, drawn in `color` (default: the theme's muted text colour)."""
    return _icon(name, color or current().muted, size)


@cache
def _icon(name: str, color: str, size: int) -> QIcon:
    """Rendered once per name, colour and size (QIcon is implicitly shared, so reuse is free)."""
    svg = _svg(name).replace("#000000", color)
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    result = QIcon()
    for scale in (1, 2):
        pm = QPixmap(QSize(size * scale, size * scale))
        pm.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pm)
        renderer.render(painter)
        painter.end()
        pm.setDevicePixelRatio(scale)
        result.addPixmap(pm)
    return result


_themed: weakref.WeakKeyDictionary[QObject, tuple[str, str, int]] = weakref.WeakKeyDictionary()


def set_icon(widget: QObject, name: str, role: str = "muted", size: int = 20) -> None:
    """Give a button (or action) a theme icon that is redrawn when the theme changes.

    `role` is a colour token name: "muted" for ordinary controls, "accent_text" on accent buttons.
    """
    _themed[widget] = (name, role, size)
    widget.setIcon(icon(name, getattr(current(), role), size))  # type: ignore[attr-defined]


def _refresh_icons() -> None:
    for widget, (name, role, size) in list(_themed.items()):
        try:
            widget.setIcon(icon(name, getattr(current(), role), size))  # type: ignore[attr-defined]
        except RuntimeError:  # the C++ object is gone
            _themed.pop(widget, None)


def app_icon() -> QIcon:
    """The application icon from assets/icons (made by packaging) if present, else Tern's bird glyph."""
    try:
        folder = resources.files("assets").joinpath("icons")
        names = sorted((p.name for p in folder.iterdir() if p.name.lower().endswith((".svg", ".png"))),
                       key=lambda n: ("tern" not in n.lower(), not n.endswith(".svg"), n))
    except (OSError, ModuleNotFoundError, TypeError):
        names = []
    if names:
        data = folder.joinpath(names[0]).read_bytes()
        pm = QPixmap()
        if pm.loadFromData(data):
            return QIcon(pm)
    return icon("bird", current().accent, 64)


class ThemeManager(QObject):
    """Applies the theme chosen in settings and re-applies it when the choice or the system changes."""

    changed = Signal(object)  # Tokens

    def __init__(self, choice: str = "system") -> None:
        super().__init__()
        self.choice = choice
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._system_changed)

    def apply(self, choice: str | None = None) -> Tokens:
        global _current
        if choice is not None:
            self.choice = choice
        t = tokens_for(self.choice)
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        if app.style().name().lower() != "fusion":
            app.setStyle("Fusion")
        _current = t
        app.setPalette(palette(t))
        app.setStyleSheet(style_sheet(t))
        _refresh_icons()
        self.changed.emit(t)
        log.info("theme: %s (%s)", t.name, self.choice)
        return t

    def _system_changed(self, *_: object) -> None:
        if self.choice == "system":
            self.apply()


_current: Tokens = LIGHT


def current() -> Tokens:
    return _current
