"""A page that scrolls up and down: what the welcome page, the Library's tabs and Compare are built in."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QWidget


def scroll_page(owner: QWidget, name: str, sideways: bool = True) -> tuple[QScrollArea, QWidget]:
    """A frameless scroll area `<name>Scroll` (the style sheet's name) holding the body `<name>Body` to fill.

    The body follows the area's width; with `sideways=False` it never scrolls sideways (its contents shrink
    to fit a narrow window instead).
    """
    scroll = QScrollArea(owner)
    scroll.setObjectName(f"{name}Scroll")
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    if not sideways:
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    body = QWidget(scroll)
    body.setObjectName(f"{name}Body")
    scroll.setWidget(body)
    return scroll, body
