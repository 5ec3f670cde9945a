"""The "Local server" page: a switch that starts and stops the OpenAI-compatible server, its URL and
state, how to point a client at it, and a live log of the requests it served with their figures."""

from __future__ import annotations

import dataclasses
import secrets

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from backend.server.config import ServerConfig
from ui import theme
from ui.server.controller import ServerController
from ui.server.log_model import RequestLogModel
from ui.server.switch import Switch

STATES = {"stopped": "Off", "starting": "Starting…", "running": "Running", "stopping": "Stopping…",
          "failed": "Could not start"}


class ServerPage(QWidget):
    def __init__(self, controller: ServerController, base: ServerConfig, parent: QWidget | None = None) -> None:
        """`base` carries what the page does not ask for (context, threads, power settings)."""
        super().__init__(parent)
        self.setObjectName("PageBody")
        self.controller = controller
        self.base = base
        self.log = RequestLogModel(self)
        col = QVBoxLayout(self)
        col.setContentsMargins(28, 20, 28, 16)
        col.setSpacing(8)
        title = QLabel("Local server", self)
        title.setObjectName("PageTitle")
        col.addWidget(title)
        sub = QLabel("An OpenAI-compatible API for your editor, scripts and chat front-ends — "
                     "the same models and measurements as the chat.", self)
        sub.setObjectName("PageSubtitle")
        sub.setWordWrap(True)
        col.addWidget(sub)
        col.addWidget(self._card())
        head = QHBoxLayout()
        section = QLabel("Requests", self)
        section.setObjectName("SectionTitle")
        head.addWidget(section)
        head.addStretch(1)
        self.energy = QLabel("", self)
        self.energy.setObjectName("PageSubtitle")
        head.addWidget(self.energy)
        col.addLayout(head)
        self.table = QTableView(self)
        self.table.setAccessibleName("Request log")
        self.table.setToolTip("Each request the server answered, newest first; hover a row for details")
        self.table.setModel(self.log)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        # Fitting the columns measures this many rows (the newest, on top), not the whole log of up to 500:
        # every answered request refits them, and measuring every cell stalled the window ~70 ms a request.
        header.setResizeContentsPrecision(32)
        self.table.resizeColumnsToContents()  # empty, the columns fit their titles: no sideways scrolling at 800 px
        col.addWidget(self.table, 1)
        self.empty = QLabel("No requests yet. Turn the server on and point a client at its URL.", self)
        self.empty.setObjectName("PageSubtitle")
        col.addWidget(self.empty)

        controller.state_changed.connect(self.show_state)
        controller.request_logged.connect(self.add_record)
        controller.energy_label.connect(self.show_energy)
        self.show_state(controller.state, controller.url)

    def _card(self) -> QFrame:
        card = QFrame(self)
        card.setObjectName("Card")
        col = QVBoxLayout(card)
        col.setContentsMargins(16, 12, 16, 12)
        col.setSpacing(8)
        top = QHBoxLayout()
        self.switch = Switch("Local server", card)
        self.switch.setToolTip("Start or stop the local OpenAI-compatible server")
        self.switch.clicked.connect(self._switched)
        top.addWidget(self.switch)
        self.state = QLabel(card)
        self.state.setObjectName("CardTitle")
        self.state.setAccessibleName("Server state")
        top.addWidget(self.state)
        self.url = QLineEdit(card)
        self.url.setReadOnly(True)
        self.url.setAccessibleName("Server URL")
        self.url.setPlaceholderText("http://127.0.0.1:8080/v1")
        self.url.setToolTip("The base URL an OpenAI client takes (its base_url)")
        top.addWidget(self.url, 1)
        self.copy = QPushButton("Copy", card)
        theme.set_icon(self.copy, "copy", size=14)
        self.copy.setAccessibleName("Copy the server URL")
        self.copy.setToolTip("Copy the base URL to the clipboard")
        self.copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.url.text()))
        top.addWidget(self.copy)
        col.addLayout(top)

        options = QHBoxLayout()
        options.addWidget(QLabel("Port", card))
        self.port = QSpinBox(card)
        self.port.setRange(1024, 65535)
        self.port.setValue(self.base.port if self.base.port >= 1024 else 8080)
        self.port.setAccessibleName("Port")
        self.port.setToolTip("The TCP port the server listens on")
        options.addWidget(self.port)
        options.addSpacing(12)
        self.lan = QCheckBox("Other computers may connect", card)
        self.lan.setToolTip("Listen on every network address (0.0.0.0). Needs an API key; without this the server "
                            "answers this computer only (127.0.0.1).")
        self.lan.setAccessibleName("Other computers may connect")
        self.lan.toggled.connect(self._lan_toggled)
        options.addWidget(self.lan)
        self.key = QLineEdit(card)
        self.key.setPlaceholderText("API key")
        self.key.setAccessibleName("API key")
        self.key.setToolTip("Clients send it as `Authorization: Bearer KEY` (required when other computers may "
                            "connect)")
        self.key.setEnabled(False)
        options.addWidget(self.key, 1)
        options.addStretch(0)
        col.addLayout(options)
        self.hint = QLabel(card)
        self.hint.setObjectName("CardText")
        self.hint.setWordWrap(True)
        self.hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        col.addWidget(self.hint)
        return card

    def config(self) -> ServerConfig:
        lan = self.lan.isChecked()
        return dataclasses.replace(self.base, host="0.0.0.0" if lan else "127.0.0.1", port=self.port.value(),
                                   api_key=self.key.text().strip() if lan else "")

    @Slot(bool)
    def _switched(self, on: bool) -> None:
        if on:
            self.controller.start(self.config())
        else:
            self.controller.stop()

    @Slot(bool)
    def _lan_toggled(self, on: bool) -> None:
        self.key.setEnabled(on)
        if on and not self.key.text().strip():
            self.key.setText(secrets.token_urlsafe(18))  # a key nobody can guess; the user may replace it

    @Slot(str, str)
    def show_state(self, state: str, detail: str) -> None:
        running = state == "running"
        self.switch.setChecked(state in ("starting", "running"))
        self.switch.setEnabled(state in ("stopped", "running", "failed"))
        for w in (self.port, self.lan):
            w.setEnabled(state in ("stopped", "failed"))
        self.key.setEnabled(self.lan.isChecked() and state in ("stopped", "failed"))
        self.state.setText(STATES.get(state, state))
        self.state.setToolTip(detail if state == "failed" else "")
        self.url.setText(detail if running else "")
        self.copy.setEnabled(running)
        if state == "failed":
            self.hint.setText(detail)
        elif running:
            key = "the key above" if self.lan.isChecked() else "any text (no key is needed on this computer)"
            self.hint.setText(f"In an OpenAI client: base_url = {detail}, api_key = {key}; model = a name from "
                              "GET /v1/models, e.g. \"demo\" or \"demo:f16\".")
        else:
            self.hint.setText("Off. When on, it answers on this computer only unless you allow other computers "
                              "(then an API key is required).")

    @Slot(str)
    def show_energy(self, label: str) -> None:
        """The power source behind J/token in a few words; the whole label (or why there is none) on hover."""
        short = "no power reading" if label.startswith("no power reading") else label.split(" — ")[0]
        self.energy.setText(f"Energy: {short}")
        self.energy.setToolTip(label)

    @Slot(object)
    def add_record(self, record: object) -> None:
        self.log.add(record)  # type: ignore[arg-type]
        self.empty.hide()
        self.table.resizeColumnsToContents()  # the columns fit their figures; the result column takes the rest

    def shutdown(self, ms_left: int = 15_000) -> bool:
        """Stop the server and its engines within `ms_left` (a step of the window's shutdown list)."""
        return self.controller.shutdown(ms_left)
