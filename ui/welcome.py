"""First run, no model yet: what Tern is, in two sentences, and the two ways to start.

The content scrolls when the window is too short for it (800×500): squeezed, Qt would draw the cards'
words over each other and cut off the demo card's "random weights" label.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from backend.chat.choices import SYNTHETIC_LABEL
from ui import theme
from ui.scroll_page import scroll_page

ABOUT = ("Tern runs 1.58-bit (ternary) language models on this computer — no account, no cloud, and no "
         "internet once a model is downloaded. It measures what ternary weights buy you in memory, speed "
         "and power, side by side with the same model in F16 (16-bit floats).")


class _Card(QFrame):
    def __init__(self, icon_name: str, title: str, text: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        col = QVBoxLayout(self)
        col.setContentsMargins(20, 18, 20, 18)
        col.setSpacing(8)
        head = QHBoxLayout()
        head.setSpacing(10)
        glyph = QLabel(self)
        glyph.setPixmap(theme.icon(icon_name, theme.current().accent, 22).pixmap(22, 22))
        head.addWidget(glyph)
        t = QLabel(title, self)
        t.setObjectName("CardTitle")
        head.addWidget(t)
        head.addStretch(1)
        col.addLayout(head)
        self.text = QLabel(text, self)
        self.text.setObjectName("CardText")
        self.text.setWordWrap(True)
        col.addWidget(self.text)
        self.body = col


class WelcomePage(QWidget):
    library_requested = Signal()
    demo_requested = Signal()
    suggestion_requested = Signal(str)  # the catalog entry id of the suggested model

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("WelcomePage")
        page = QVBoxLayout(self)
        page.setContentsMargins(0, 0, 0, 0)
        self.scroll, body = scroll_page(self, "Welcome", sideways=False)
        self.scroll.viewport().setAutoFillBackground(False)
        body.setAutoFillBackground(False)
        page.addWidget(self.scroll)
        outer = QVBoxLayout(body)
        outer.setContentsMargins(32, 24, 32, 24)
        outer.addStretch(2)
        inner = QWidget(body)
        inner.setMaximumWidth(720)
        col = QVBoxLayout(inner)
        col.setSpacing(14)
        logo = QLabel(inner)
        logo.setPixmap(theme.app_icon().pixmap(72, 72))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        col.addWidget(logo)
        title = QLabel("Welcome to Tern", inner)
        title.setObjectName("WelcomeTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        col.addWidget(title)
        about = QLabel(ABOUT, inner)
        about.setObjectName("WelcomeText")
        about.setWordWrap(True)
        about.setAlignment(Qt.AlignmentFlag.AlignCenter)
        col.addWidget(about)
        col.addSpacing(14)

        cards = QHBoxLayout()
        cards.setSpacing(16)
        self.catalog_card = _Card("library", "Get a model", "Browse ternary models that run here, with their "
                                  "download size and how much memory they need.", inner)
        self.suggestion = QLabel(inner)
        self.suggestion.setObjectName("Suggestion")
        self.suggestion.setAccessibleName("Suggested first model")
        self.suggestion.setWordWrap(True)
        self.suggestion.hide()
        self.catalog_card.body.addWidget(self.suggestion)
        self.suggestion_button = QPushButton("See it in the Library", inner)
        self.suggestion_button.setAccessibleName("See the suggested model in the Library")
        self.suggestion_button.setToolTip("Open the Library at this model, to download it (and convert it when it "
                                          "needs converting)")
        self.suggestion_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.suggestion_button.clicked.connect(lambda: self.suggestion_requested.emit(self._suggested))
        self.suggestion_button.hide()
        self._suggested = ""
        self.catalog_card.body.addWidget(self.suggestion_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.catalog_card.body.addStretch(1)
        self.library_button = QPushButton("Open the Library", inner)
        self.library_button.setProperty("variant", "primary")
        self.library_button.setAccessibleName("Open the Library")
        self.library_button.setToolTip("See the models you can download and the ones already on this "
                                       "computer")
        self.library_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.library_button.clicked.connect(self.library_requested)
        self.catalog_card.body.addWidget(self.library_button, 0, Qt.AlignmentFlag.AlignLeft)
        cards.addWidget(self.catalog_card, 1)

        self.demo_card = _Card("sparkle", "Try the offline demo",
                               "Makes a small synthetic model on this computer in seconds — nothing is "
                               "downloaded. Its weights are random: " + SYNTHETIC_LABEL + ".", inner)
        self.demo_card.body.addStretch(1)
        self.progress = QProgressBar(inner)
        self.progress.setObjectName("DemoProgress")
        self.progress.setAccessibleName("Demo progress")
        self.progress.setToolTip("Making the demo model")
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(6)
        self.progress.hide()
        self.progress_label = QLabel(inner)
        self.progress_label.setObjectName("CardText")
        self.progress_label.hide()
        self.demo_card.body.addWidget(self.progress)
        self.demo_card.body.addWidget(self.progress_label)
        self.demo_button = QPushButton("Make the demo model", inner)
        self.demo_button.setAccessibleName("Try the offline demo")
        self.demo_button.setToolTip("Make the synthetic demo model (random weights) and load it")
        self.demo_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.demo_button.clicked.connect(self.demo_requested)
        self.demo_card.body.addWidget(self.demo_button, 0, Qt.AlignmentFlag.AlignLeft)
        cards.addWidget(self.demo_card, 1)
        col.addLayout(cards)

        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(inner, 100)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(3)

    def set_suggestion(self, text: str, entry_id: str = "") -> None:
        """The smallest chat model of the catalog that fits this computer (`entry_id` set), or why none
        does (no `entry_id`): figures from backend.hub.suggest."""
        self.suggestion.setText(text)
        self.suggestion.setVisible(bool(text))
        self._suggested = entry_id
        self.suggestion_button.setVisible(bool(entry_id))

    def set_demo_progress(self, stage: str, fraction: float | None) -> None:
        """fraction None: finished or idle (the button comes back)."""
        busy = fraction is not None
        self.demo_button.setEnabled(not busy)
        self.progress.setVisible(busy)
        self.progress_label.setVisible(busy)
        if busy:
            self.progress.setValue(int(100 * (fraction or 0)))
            self.progress_label.setText(stage)
