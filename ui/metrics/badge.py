"""The power badge: says exactly what the power figure is; one click explains it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QToolButton, QWidget

from backend.metrics.snapshot import PowerState
from ui import theme
from ui.metrics.explain import PowerExplanation


def _colors(state: PowerState) -> tuple[str, str]:
    t = theme.current()
    if not state.available:
        return t.muted, t.raised
    if state.measured and state.key != "replay":
        return t.ok, t.raised
    return t.warn, t.warn_soft


def compact_badge(state: PowerState, narrow: bool = False) -> str:
    """The badge for a narrow place (the status line): an estimate keeps only what matters most;
    `narrow` (a small window) keeps one or two words: measured, estimated or none."""
    if narrow:
        if not state.available:
            return "No power reading"
        return "Measured" if state.measured and state.key != "replay" else "Estimated"
    if state.available and not state.measured and state.key == "estimate":
        return "Estimated — not a measurement"
    return state.badge


class PowerBadge(QToolButton):
    def __init__(self, parent: QWidget | None = None, compact: bool = False) -> None:
        super().__init__(parent)
        self.compact = compact
        self.narrow = False  # the fewest words (a narrow window); the tooltip has the rest
        self.setObjectName("PowerBadge")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAutoRaise(True)
        self.state = PowerState(False, "Power: looking for a source…")
        self._style_key: tuple[str, ...] = ()
        self.dialog: PowerExplanation | None = None
        self.get_watts: Callable[[], float] | None = None  # the user's watts per core, when editable
        self.set_watts: Callable[[float], None] | None = None
        self.clicked.connect(self.explain)
        self.set_state(self.state)

    def offer_watts(self, current: Callable[[], float], choose: Callable[[float], None]) -> None:
        """Let the explanation edit the one figure a user can supply: the CPU's watts per core."""
        self.get_watts, self.set_watts = current, choose

    def set_state(self, state: PowerState) -> None:
        self.state = state
        text = compact_badge(state, self.narrow) if self.compact else state.badge
        if self.text() != text:
            self.setText(text)
            self.setAccessibleName(f"Power source: {state.badge}")
        self.setToolTip(
            f"{state.badge}\n{state.reason or state.covers}\nClick for what this figure is and how "
            "it is obtained."
        )
        fg, bg = _colors(state)
        key = (fg, bg, theme.current().name)
        if key != self._style_key:
            self._style_key = key
            self.setStyleSheet(
                f"QToolButton#PowerBadge {{ color: {fg}; background: {bg}; border-radius: 8px; "
                f"padding: 1px 8px; font-size: 11px; }}"
            )

    @Slot()
    def explain(self) -> PowerExplanation:
        if self.dialog is not None:
            self.dialog.close()
        watts = self.get_watts() if self.get_watts else 0.0
        self.dialog = PowerExplanation(self.state, self.window(), watts, self.set_watts)
        self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog.destroyed.connect(self._forget)
        self.dialog.open()
        return self.dialog

    @Slot()
    def _forget(self) -> None:
        self.dialog = None
