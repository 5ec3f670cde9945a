"""Fixtures for the chat window: a real window on a real engine with the tiny synthetic model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QListView,
    QPlainTextEdit,
    QWidget,
)

from app.context import AppContext
from app.gui import Pages, add_pages, build_window, load_page_backends
from ui.main_window import MainWindow

TINY = "tiny:TQ2_0"
LOAD_MS = 30_000
REPLY_MS = 60_000


def register_tiny(ctx: AppContext, tiny_models: dict[str, Path],
                  encodings: tuple[str, ...] = ("tq2_0",)) -> None:
    for enc in encodings:
        ctx.registry.add_variant("tiny", tiny_models[enc], enc, "synthetic",
                                 model_fields={"synthetic": 1, "chat": 0, "family": "synthetic"})


@pytest.fixture()
def open_window(qtbot) -> Iterator[Callable[..., MainWindow]]:
    """Opens windows assembled as `tern` assembles them (build_window: every page) and always shuts them
    down afterwards. `pages=False`: the window as it first shows, Chat and welcome only."""
    windows: list[MainWindow] = []

    def opener(ctx: AppContext | None = None, wait_ready: bool = True, pages: bool = True,
               sampler: Any = None) -> MainWindow:
        window = build_window(ctx or AppContext(), pages=pages, sampler=sampler)
        windows.append(window)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        if wait_ready:
            qtbot.waitUntil(lambda: window.chat.controller.ready, timeout=LOAD_MS)
        return window

    yield opener
    for w in windows:
        try:
            assert w.shutdown(), "the engine thread did not stop in time"
            assert w.chat.controller.thread.isFinished()
        except RuntimeError:  # already deleted by the test
            pass


def join_pages(window: MainWindow, sampler: Any = None, catalog: Any = None) -> Pages:
    """Add the other pages to a window opened with pages=False, as `tern` does once the window shows."""
    return add_pages(window, window.ctx, catalog if catalog is not None else load_page_backends(), sampler)


@pytest.fixture()
def chat_window(open_window, tiny_models: dict[str, Path]) -> MainWindow:
    """A window with the tiny model loaded (as the last model, restored at start)."""
    ctx = AppContext()
    register_tiny(ctx, tiny_models)
    ctx.settings.update(last_model=TINY)
    return open_window(ctx)


LONG = "tiny-long:TQ2_0"


def register_long(ctx: AppContext, long_tiny: Path) -> None:
    """The 64k-context tiny model as the last model, with the context setting that lets it stream long."""
    from tests.conftest import LONG_CTX

    ctx.registry.add_variant("tiny-long", long_tiny, "tq2_0", "synthetic",
                             model_fields={"synthetic": 1, "chat": 0, "family": "synthetic"})
    ctx.settings.update(last_model=LONG, n_ctx=LONG_CTX)


@pytest.fixture()
def long_chat_window(open_window, long_tiny: Path) -> MainWindow:
    """A window whose model keeps streaming for seconds (for tests that act in the middle of a reply)."""
    ctx = AppContext()
    register_long(ctx, long_tiny)
    return open_window(ctx)


def type_and_send(qtbot, window: MainWindow, text: str) -> None:
    """Type into the message box and press Enter, as a person would."""
    box = window.chat.composer.input
    box.setFocus()
    qtbot.keyClicks(box, text)
    with qtbot.waitSignal(window.chat.controller.reply_started, timeout=5000):
        qtbot.keyClick(box, Qt.Key.Key_Return)


def unnamed_controls(top: QWidget) -> list[str]:
    """Visible controls under `top` without an accessible name or a tooltip (should be none)."""
    kinds = (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QPlainTextEdit, QListView)
    missing = []
    for child in top.findChildren(QWidget):
        if not isinstance(child, kinds) or not child.isVisible():
            continue
        if isinstance(child, QLineEdit) and isinstance(child.parent(), (QComboBox, QAbstractSpinBox)):
            continue  # the inner editor of a combo or spin box: the outer control carries the name
        if not child.accessibleName() or not child.toolTip():
            parent = child.parent()
            missing.append(f"{type(child).__name__} {child.objectName()!r} {child.accessibleName()!r} in "
                           f"{type(parent).__name__} {parent.objectName()!r}")
    return missing
