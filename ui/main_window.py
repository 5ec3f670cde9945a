"""The main window (foundation version): names the local models Tern can see."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QListWidget, QMainWindow, QVBoxLayout, QWidget


class MainWindow(QMainWindow):
    def __init__(self, model_lines: list[str]) -> None:
        super().__init__()
        self.setWindowTitle("Tern")
        self.resize(900, 600)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        heading = QLabel("Local models" if model_lines else "No local models yet — run `tern demo` to make the offline demo pair.")
        heading.setAccessibleName("Local models heading")
        self.models = QListWidget(central)
        self.models.setAccessibleName("Local models")
        self.models.addItems(model_lines)
        layout.addWidget(heading)
        layout.addWidget(self.models)
        self.setCentralWidget(central)
