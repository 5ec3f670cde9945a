"""The Library page until the model library (ui/library) is installed: the models on this
computer, and the offline demo. Nothing here pretends to download."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from backend.chat.choices import SYNTHETIC_LABEL, ModelChoice, human_size
from ui import theme


class _ModelRow(QFrame):
    def __init__(self, choice: ModelChoice, loaded: bool, on_load: Signal, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("ModelRow")
        row = QHBoxLayout(self)
        row.setContentsMargins(16, 12, 12, 12)
        row.setSpacing(12)
        glyph = QLabel(self)
        glyph.setPixmap(theme.icon("cpu", theme.current().accent, 22).pixmap(22, 22))
        row.addWidget(glyph)
        col = QVBoxLayout()
        col.setSpacing(2)
        name = QLabel(choice.label, self)
        name.setObjectName("RowTitle")
        col.addWidget(name)
        details = f"{human_size(choice.file_bytes)}  ·  {choice.path}"
        info = QLabel(details, self)
        info.setObjectName("RowDetail")
        info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        col.addWidget(info)
        if choice.synthetic:
            tag = QLabel(SYNTHETIC_LABEL, self)
            tag.setObjectName("SyntheticBadge")
            col.addWidget(tag, 0, Qt.AlignmentFlag.AlignLeft)
        row.addLayout(col, 1)
        button = QPushButton("Loaded" if loaded else "Chat with it", self)
        button.setEnabled(not loaded)
        button.setAccessibleName(f"Chat with {choice.label}")
        button.setToolTip(f"Load {choice.label} and open the chat")
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.clicked.connect(lambda: on_load.emit(choice))
        row.addWidget(button)


class LocalModelsPage(QWidget):
    load_requested = Signal(object)  # ModelChoice
    demo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LocalModelsPage")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget(scroll)
        body.setObjectName("PageBody")
        self.col = QVBoxLayout(body)
        self.col.setContentsMargins(40, 32, 40, 32)
        self.col.setSpacing(10)
        title = QLabel("Library", body)
        title.setObjectName("PageTitle")
        self.col.addWidget(title)
        sub = QLabel("Models on this computer.", body)
        sub.setObjectName("PageSubtitle")
        self.col.addWidget(sub)
        self.col.addSpacing(8)
        self.rows = QVBoxLayout()
        self.rows.setSpacing(8)
        self.col.addLayout(self.rows)
        self.empty = QLabel("No models yet.", body)
        self.empty.setObjectName("PageSubtitle")
        self.col.addWidget(self.empty)
        self.col.addSpacing(12)
        demo = QHBoxLayout()
        self.demo_button = QPushButton("Try the offline demo", body)
        theme.set_icon(self.demo_button, "sparkle", size=16)
        self.demo_button.setAccessibleName("Try the offline demo")
        self.demo_button.setToolTip(f"Make the synthetic demo model on this computer ({SYNTHETIC_LABEL})")
        self.demo_button.clicked.connect(self.demo_requested)
        demo.addWidget(self.demo_button)
        demo.addStretch(1)
        self.col.addLayout(demo)
        self.col.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll)

    def set_models(self, options: list[ModelChoice], loaded_spec: str = "") -> None:
        while self.rows.count():
            item = self.rows.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        for c in options:
            self.rows.addWidget(_ModelRow(c, c.spec == loaded_spec, self.load_requested, self))
        self.empty.setVisible(not options)
        self.demo_button.setVisible(not any(c.spec.lower().startswith("demo:") for c in options))
