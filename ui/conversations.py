"""The conversation list: search, new, rename (double-click or F2), delete with undo."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from backend.store import Conversation, Store
from ui import theme

IdRole = Qt.ItemDataRole.UserRole + 1
UpdatedRole = Qt.ItemDataRole.UserRole + 2
Index = QModelIndex | QPersistentModelIndex


def when_text(ts: float, now: float | None = None) -> str:
    """A short, human time for the list: 14:05, Yesterday, Mon, 3 Feb, 3 Feb 2024."""
    now = now or time.time()
    t, n = time.localtime(ts), time.localtime(now)
    days = (time.mktime(n[:3] + (0, 0, 0) + n[6:]) - time.mktime(t[:3] + (0, 0, 0) + t[6:])) / 86400
    if days < 1:
        return time.strftime("%H:%M", t)
    if days < 2:
        return "Yesterday"
    if days < 7:
        return time.strftime("%a", t)
    if t.tm_year == n.tm_year:
        return f"{t.tm_mday} {time.strftime('%b', t)}"
    return f"{t.tm_mday} {time.strftime('%b %Y', t)}"


class ConversationListModel(QAbstractListModel):
    renamed = Signal(int, str)
    failed = Signal(object)  # an exception from the store (the window shows it)

    def __init__(self, store: Store, parent: Any = None) -> None:
        super().__init__(parent)
        self.store = store
        self.search = ""
        self.rows: list[Conversation] = []

    def refresh(self, search: str | None = None) -> None:
        if search is not None:
            self.search = search
        self.beginResetModel()
        self.rows = self.store.conversations(self.search.strip())
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        c = self.rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return c.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{c.title}\nLast active {time.strftime('%Y-%m-%d %H:%M', time.localtime(c.updated_at))}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{c.title}, {when_text(c.updated_at)}"
        if role == IdRole:
            return c.id
        if role == UpdatedRole:
            return c.updated_at
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsEditable if index.isValid() else base

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        title = str(value).strip()
        if not title:
            return False
        c = self.rows[index.row()]
        try:
            self.store.update_conversation(c.id, title=title)
        except sqlite3.Error as e:
            self.failed.emit(e)
            return False
        c.title = title
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole])
        self.renamed.emit(c.id, title)
        return True

    def row_of(self, cid: int) -> int:
        return next((i for i, c in enumerate(self.rows) if c.id == cid), -1)


class ConversationDelegate(QStyledItemDelegate):
    """Title on the left, last-active time on the right, a rounded highlight for the current one."""

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(200, max(36, option.fontMetrics.height() + 18))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        t = theme.current()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = option.rect.adjusted(6, 2, -6, -2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hover = bool(option.state & QStyle.StateFlag.State_MouseOver)
        if selected or hover:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(t.accent_soft if selected else t.raised))
            painter.drawRoundedRect(r, 7, 7)
        fm = option.fontMetrics
        when = when_text(float(index.data(UpdatedRole) or 0))
        when_w = fm.horizontalAdvance(when)
        painter.setPen(QColor(t.faint))
        small = option.font
        painter.setFont(small)
        painter.drawText(QRect(r.right() - when_w - 10, r.top(), when_w, r.height()),
                         int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight), when)
        title_rect = QRect(r.left() + 10, r.top(), r.width() - when_w - 28, r.height())
        painter.setPen(QColor(t.text))
        title = fm.elidedText(str(index.data() or ""), Qt.TextElideMode.ElideRight, title_rect.width())
        painter.drawText(title_rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), title)
        painter.restore()


class ConversationPanel(QFrame):
    """The left column of the chat page. Emits the user's intentions; the page acts on them."""

    selected = Signal(int)  # conversation id
    new_requested = Signal()
    delete_requested = Signal(int)

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ConversationPanel")
        self.model = ConversationListModel(store, self)
        col = QVBoxLayout(self)
        col.setContentsMargins(10, 12, 10, 10)
        col.setSpacing(8)
        self.new_button = QPushButton("New chat", self)
        self.new_button.setObjectName("NewChatButton")
        theme.set_icon(self.new_button, "new-chat", size=18)
        self.new_button.setAccessibleName("New chat")
        self.new_button.setToolTip("Start a new conversation (Ctrl+N)")
        self.new_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.new_button.clicked.connect(self.new_requested)
        col.addWidget(self.new_button)
        self.search = QLineEdit(self)
        self.search.setObjectName("SearchField")
        self.search.setPlaceholderText("Search conversations")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search conversations")
        self.search.setToolTip("Find conversations by title or by any message in them")
        self._search_action = self.search.addAction(theme.icon("search", size=16),
                                                    QLineEdit.ActionPosition.LeadingPosition)
        theme.set_icon(self._search_action, "search", size=16)
        self._search_action.setText("Search")
        self._search_action.setToolTip("Search conversations")
        for button in self.search.findChildren(QToolButton):  # the magnifier drawn by the action
            button.setAccessibleName("Search")
            button.setToolTip("Search conversations")
        col.addWidget(self.search)
        self.list = QListView(self)
        self.list.setObjectName("ConversationList")
        self.list.setAccessibleName("Conversations")
        self.list.setToolTip("Your conversations. Double-click or F2 renames; Delete removes (with undo)")
        self.list.setModel(self.model)
        self.list.setItemDelegate(ConversationDelegate(self.list))
        self.list.setMouseTracking(True)
        self.list.setFrameShape(QFrame.Shape.NoFrame)
        self.list.setUniformItemSizes(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.selectionModel().currentChanged.connect(self._current_changed)
        self.list.installEventFilter(self)
        col.addWidget(self.list, 1)
        self.empty_hint = QPushButton("No conversations match", self)
        self.empty_hint.setObjectName("ListEmpty")
        self.empty_hint.setFlat(True)
        self.empty_hint.setEnabled(False)
        self.empty_hint.hide()
        col.addWidget(self.empty_hint)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(150)
        self._debounce.timeout.connect(self._apply_search)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.current_id = 0
        self._quiet = False
        self._pending: tuple[bool, int | None] = (False, None)
        self.list.itemDelegate().closeEditor.connect(self._editor_closed)

    def _editor_closed(self, *_: object) -> None:
        if self._pending[0]:
            QTimer.singleShot(0, lambda: self.refresh(self._pending[1]))

    # -- contents ---------------------------------------------------------------------------
    def refresh(self, select: int | None = None) -> None:
        """Reload from the store and keep (or set) the current conversation.

        While a title is being edited the reload waits until the editor closes (a reset would
        throw the edit away).
        """
        if self.list.state() == QAbstractItemView.State.EditingState:
            self._pending = (True, select if select is not None else self._pending[1])
            return
        self._pending = (False, None)
        keep = self.current_id if select is None else select
        self._quiet = True
        try:
            self.model.refresh()
            self._select_row(self.model.row_of(keep))
        finally:
            self._quiet = False
        self.current_id = keep
        self.empty_hint.setVisible(self.model.rowCount() == 0 and bool(self.model.search))

    def _select_row(self, row: int) -> None:
        if row >= 0:
            self.list.setCurrentIndex(self.model.index(row))
        else:
            self.list.clearSelection()
            self.list.setCurrentIndex(QModelIndex())

    def _apply_search(self) -> None:
        self.model.search = self.search.text()
        self.refresh()

    def ids(self) -> list[int]:
        return [c.id for c in self.model.rows]

    def titles(self) -> list[str]:
        return [c.title for c in self.model.rows]

    # -- user actions -----------------------------------------------------------------------
    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._quiet or not current.isValid():
            return
        cid = int(current.data(IdRole))
        if cid != self.current_id:
            self.current_id = cid
            self.selected.emit(cid)

    def rename(self, cid: int) -> None:
        row = self.model.row_of(cid)
        if row >= 0:
            self.list.edit(self.model.index(row))

    def _menu(self, pos: Any) -> None:
        index = self.list.indexAt(pos)
        if not index.isValid():
            return
        cid = int(index.data(IdRole))
        menu = QMenu(self)
        menu.addAction(theme.icon("edit", size=16), "Rename", lambda: self.rename(cid))
        menu.addAction(theme.icon("trash", size=16), "Delete", lambda: self.delete_requested.emit(cid))
        menu.exec(self.list.viewport().mapToGlobal(pos))

    def eventFilter(self, obj: Any, e: QEvent) -> bool:
        if obj is self.list and e.type() == QEvent.Type.KeyPress and self.list.state() != \
                QAbstractItemView.State.EditingState:
            key = e.key()  # type: ignore[attr-defined]
            index = self.list.currentIndex()
            if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and index.isValid():
                self.delete_requested.emit(int(index.data(IdRole)))
                return True
        return False
