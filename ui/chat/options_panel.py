"""Per-conversation options: the system prompt and the sampling settings, with the defaults a
new conversation starts with. Changes are saved to the conversation as they are made."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from backend.chat.context import DEFAULT_POLICY, POLICIES, POLICY_TIPS
from ui import theme

# key: (label, tooltip, minimum, maximum, step, decimals) — decimals None means an integer
FIELDS: dict[str, tuple[str, str, float, float, float, int | None]] = {
    "temperature": ("Temperature", "Randomness of the reply: 0 always picks the most likely token; higher "
                    "values give more varied text.", 0.0, 2.0, 0.05, 2),
    "top_p": ("Top-p", "Sample only from the smallest set of tokens whose probabilities add up to this "
              "(1 turns it off).", 0.0, 1.0, 0.01, 2),
    "top_k": ("Top-k", "Sample only from the k most likely tokens (0 turns it off).", 0, 500, 1, None),
    "repeat_penalty": ("Repeat penalty", "Makes tokens already in the text less likely (1 turns it off).",
                       0.5, 2.0, 0.01, 2),
    "max_tokens": ("Max tokens", "The longest reply, in tokens. The reply stops here if the model has not "
                   "finished.", 1, 32768, 64, None),
    "seed": ("Seed", "The random seed for sampling: the same seed, prompt and settings give the same reply. "
             "-1 picks a new seed for every reply.", -1, 2_147_483_647, 1, None),
}


SPIN_MIN_WIDTH = 72  # room for "random", "0.70", "32768" with the arrows; the seed's full range scrolls inside


class OptionsPanel(QFrame):
    changed = Signal(str, object, str)  # system prompt, params dict, context policy
    close_requested = Signal()

    def __init__(self, defaults: Callable[[], dict[str, Any]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("OptionsPanel")
        self._defaults = defaults  # called when first needed: the defaults live with the engine's code
        self._source: Callable[[], tuple[str, dict[str, Any], str]] | None = None
        self._loading = False
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        head = QHBoxLayout()
        head.setContentsMargins(16, 12, 8, 8)
        title = QLabel("Conversation settings", self)
        title.setObjectName("PanelTitle")
        head.addWidget(title)
        head.addStretch(1)
        close = QToolButton(self)
        close.setObjectName("PanelClose")
        theme.set_icon(close, "close", size=16)
        close.setAccessibleName("Close conversation settings")
        close.setToolTip("Close conversation settings")
        close.clicked.connect(self.close_requested)
        head.addWidget(close)
        outer.addLayout(head)

        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        # The panel is as wide as the person makes it: the fields shrink to fit, never a sideways scroll.
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget(scroll)
        body.setObjectName("PanelBody")
        col = QVBoxLayout(body)
        col.setContentsMargins(16, 4, 16, 16)
        col.setSpacing(8)
        label = QLabel("System prompt", body)
        label.setObjectName("FieldLabel")
        col.addWidget(label)
        self.system = QPlainTextEdit(body)
        self.system.setObjectName("SystemPrompt")
        self.system.setPlaceholderText("e.g. You are a concise assistant. Answer in plain English.")
        self.system.setAccessibleName("System prompt")
        self.system.setToolTip("Instructions the model sees before the conversation, for this "
                               "conversation only")
        self.system.setTabChangesFocus(True)
        self.system.setFixedHeight(110)
        self.system.textChanged.connect(self._edited)
        label.setBuddy(self.system)
        col.addWidget(self.system)
        note = QLabel("Sampling", body)
        note.setObjectName("FieldLabel")
        col.addSpacing(6)
        col.addWidget(note)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(8)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.spins: dict[str, QSpinBox | QDoubleSpinBox] = {}
        for key, (name, tip, lo, hi, step, decimals) in FIELDS.items():
            spin: QSpinBox | QDoubleSpinBox
            if decimals is None:
                spin = QSpinBox(body)
                spin.setRange(int(lo), int(hi))
                spin.setSingleStep(int(step))
            else:
                spin = QDoubleSpinBox(body)
                spin.setRange(lo, hi)
                spin.setSingleStep(step)
                spin.setDecimals(decimals)
            if key == "seed":
                spin.setSpecialValueText("random")
            spin.setAccessibleName(name)
            spin.setToolTip(tip)
            spin.setKeyboardTracking(False)
            spin.setMinimumWidth(SPIN_MIN_WIDTH)  # a set minimum overrides the range's wide size hint
            spin.valueChanged.connect(self._edited)
            row_label = QLabel(name, body)
            row_label.setToolTip(tip)
            row_label.setBuddy(spin)
            form.addRow(row_label, spin)
            self.spins[key] = spin
        col.addLayout(form)
        ctx_label = QLabel("When the context is full", body)
        ctx_label.setObjectName("FieldLabel")
        col.addSpacing(6)
        col.addWidget(ctx_label)
        self.policy = QComboBox(body)
        self.policy.setAccessibleName("When the context is full")
        for key, name in POLICIES.items():
            self.policy.addItem(name, key)
            self.policy.setItemData(self.policy.count() - 1, POLICY_TIPS[key], Qt.ItemDataRole.ToolTipRole)
        self.policy.setToolTip("What Tern sends when this conversation no longer fits the model's context")
        self.policy.currentIndexChanged.connect(self._edited)
        ctx_label.setBuddy(self.policy)
        col.addWidget(self.policy)
        col.addSpacing(8)
        self.reset_button = QPushButton("Reset to defaults", body)
        self.reset_button.setAccessibleName("Reset conversation settings to defaults")
        self.reset_button.setToolTip("Empty system prompt, the default sampling settings, and leaving out the "
                                     "middle when the context is full")
        self.reset_button.clicked.connect(self.reset)
        col.addWidget(self.reset_button, 0, Qt.AlignmentFlag.AlignLeft)
        hint = QLabel("Saved with this conversation. New conversations start from the defaults.", body)
        hint.setObjectName("PanelHint")
        hint.setWordWrap(True)
        col.addWidget(hint)
        col.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(400)
        self._save_timer.timeout.connect(self._emit)

    @property
    def defaults(self) -> dict[str, Any]:
        return self._defaults()

    def bind(self, source: Callable[[], tuple[str, dict[str, Any], str]]) -> None:
        """Follow a conversation: its settings are read now if the panel is open, else when it opens."""
        self._save_timer.stop()
        self._source = source
        if self.isVisible():
            self.load(*source())

    def showEvent(self, e: QShowEvent) -> None:
        if self._source is not None:
            self.load(*self._source())
        super().showEvent(e)

    def load(self, system_prompt: str, params: dict[str, Any], policy: str = DEFAULT_POLICY) -> None:
        """Show a conversation's settings (without saving them back)."""
        self._save_timer.stop()
        self._source = None
        self._loading = True
        defaults = self.defaults
        try:
            self.system.setPlainText(system_prompt)
            for key, spin in self.spins.items():
                spin.setValue(params.get(key, defaults[key]))
            self.policy.setCurrentIndex(max(0, self.policy.findData(policy)))
        finally:
            self._loading = False

    def values(self) -> tuple[str, dict[str, Any], str]:
        if self._source is not None:
            self.load(*self._source())
        params: dict[str, Any] = {}
        for key, spin in self.spins.items():
            params[key] = int(spin.value()) if isinstance(spin, QSpinBox) else round(float(spin.value()), 4)
        return self.system.toPlainText(), params, str(self.policy.currentData())

    def reset(self) -> None:
        self.load("", self.defaults, DEFAULT_POLICY)
        self._emit()

    def flush(self) -> None:
        """Save pending edits now (before a message is sent)."""
        if self._save_timer.isActive():
            self._save_timer.stop()
            self._emit()

    def _edited(self, *_: object) -> None:
        if not self._loading:
            self._save_timer.start()

    def _emit(self) -> None:
        self.changed.emit(*self.values())
