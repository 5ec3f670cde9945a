"""The conversation column: messages top to bottom, a reply streaming in at the end.

Tokens are buffered and drawn every FLUSH_MS on a timer, never one repaint per token; only the
reply's last block is re-rendered (see MessageBody). The view follows the reply downwards only
while it is scrolled to the bottom, so reading earlier messages is never interrupted
(qtconsole's `_viewport_at_end` pattern).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from backend.chat.session import ChatTurn
from backend.store import Message
from ui import theme
from ui.chat.message_widget import MessageWidget

FLUSH_MS = 40
COLUMN_MAX = 860
STICK_PX = 24  # within this distance of the bottom counts as "at the bottom"


class EmptyState(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("EmptyState")
        col = QVBoxLayout(self)
        col.setContentsMargins(24, 80, 24, 24)
        col.setSpacing(10)
        glyph = QLabel(self)
        glyph.setPixmap(theme.icon("bird", theme.current().accent, 40).pixmap(40, 40))
        glyph.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel("Start a conversation", self)
        self.title.setObjectName("EmptyTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setWordWrap(True)  # a long model name wraps rather than being cut off in a narrow window
        self.detail = QLabel(self)
        self.detail.setObjectName("EmptyDetail")
        self.detail.setWordWrap(True)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        for w in (glyph, self.title, self.detail):
            col.addWidget(w)
        col.addStretch(1)

    def set_text(self, title: str, detail: str) -> None:
        self.title.setText(title)
        self.detail.setText(detail)


class ChatView(QScrollArea):
    edit_submitted = Signal(int, str)
    regenerate_requested = Signal(int)
    continue_requested = Signal(int)
    delete_requested = Signal(int)
    version_requested = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatScroll")
        self.setAccessibleName("Conversation")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        canvas = QWidget(self)
        canvas.setObjectName("ChatCanvas")
        row = QHBoxLayout(canvas)
        row.setContentsMargins(0, 0, 0, 0)
        row.addStretch(1)
        self.column = QWidget(canvas)
        self.column.setObjectName("ChatColumn")
        self.column.setMaximumWidth(COLUMN_MAX)
        self.column.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        row.addWidget(self.column, 100)
        row.addStretch(1)
        self.col = QVBoxLayout(self.column)
        self.col.setContentsMargins(28, 24, 28, 28)
        self.col.setSpacing(22)
        self.empty = EmptyState(self.column)
        self.col.addWidget(self.empty)
        self.col.addStretch(1)
        self.setWidget(canvas)
        self.column.installEventFilter(self)

        self.widgets: dict[int, MessageWidget] = {}
        self.streaming: MessageWidget | None = None
        self._buffer: list[tuple[str, int]] = []  # (text, offset in the reply) not drawn yet
        self._busy = False
        self._timer = QTimer(self)
        self._timer.setInterval(FLUSH_MS)
        self._timer.timeout.connect(self.flush)
        self._stick = True
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._scrolled)
        bar.rangeChanged.connect(self._range_changed)
        # what the view showed, when (for the token-to-screen benchmark): (time_ns, tokens shown so far)
        self.shown: list[tuple[int, int]] = []
        self.flush_ms: list[float] = []  # time each draw took in the GUI thread
        self._received = 0  # tokens of the reply that arrived (drawn or not)
        self._stream_mid: int | None = None  # the reply being generated, wherever it is
        self._fed = 0  # characters of that reply its widget shows
        # The reply's text so far, from its one owner (the turn runner, via the controller): used to
        # show a streaming reply again after another conversation was on screen.
        self.live_text: Callable[[int], str | None] = lambda _mid: None

    # -- conversation -----------------------------------------------------------------------
    def show_messages(self, messages: list[Message]) -> None:
        """Show a conversation. A reply still streaming (from this or another visit) picks up where it is."""
        self.flush()
        self.streaming = None
        for w in self.widgets.values():
            self.col.removeWidget(w)
            w.deleteLater()
        self.widgets = {}
        for m in messages:
            w = self._add(m)
            if m.id == self._stream_mid:  # the store has it as of its last save; the runner has all of it
                text = self.live_text(m.id)
                if text is None:
                    text = m.content
                w.start_stream(text)
                self._fed = len(text)
                self.streaming = w
        self._after_change()
        self.scroll_to_bottom()

    def _add(self, message: Message, index: int | None = None) -> MessageWidget:
        """A widget for `message`, wired, at `index` in the column (default: last, above the stretch)."""
        w = MessageWidget(message, self.column)
        w.edit_submitted.connect(self.edit_submitted)
        w.regenerate_requested.connect(self.regenerate_requested)
        w.continue_requested.connect(self.continue_requested)
        w.delete_requested.connect(self.delete_requested)
        w.version_requested.connect(self.version_requested)
        w.set_bubble_width(self._bubble_width())
        self.col.insertWidget(self.col.count() - 1 if index is None else index, w)
        self.widgets[message.id] = w
        return w

    def remove(self, ids: list[int]) -> None:
        for mid in ids:
            w = self.widgets.pop(mid, None)
            if w is not None:
                self.col.removeWidget(w)
                w.deleteLater()
        self._after_change()

    def insert(self, message: Message) -> MessageWidget:
        """Show `message` in its place by id (a deleted message put back)."""
        later = [mid for mid in self.widgets if mid > message.id]
        index = self.col.indexOf(self.widgets[min(later)]) if later else self.col.count() - 1
        w = self.widgets.get(message.id)
        if w is None:
            w = self._add(message, index)
        else:
            self.col.insertWidget(index, w)
        self.widgets = dict(sorted(self.widgets.items()))
        self._after_change()
        return w

    def update_message(self, message: Message) -> None:
        """Show a stored message's new state (another version of a reply)."""
        w = self.widgets.get(message.id)
        if w is not None and w is not self.streaming:
            w.show_message(message)
            self._after_change()

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._after_change()

    def _after_change(self) -> None:
        self.empty.setVisible(not self.widgets)
        replies = [w for w in self.widgets.values() if w.role == "assistant"]
        last = replies[-1] if replies else None
        for w in self.widgets.values():
            w.set_actions_enabled(not self._busy, last_reply=w is last)

    # -- streaming --------------------------------------------------------------------------
    def begin_reply(self, turn: ChatTurn) -> MessageWidget:
        self.flush()
        self.remove(turn.removed)
        if turn.user is not None:
            self._add(turn.user)
        w = self.widgets.get(turn.reply.id)  # regenerate and continue write into the reply shown
        if w is None:
            w = self._add(turn.reply)
        w.message = turn.reply
        w.start_stream(turn.spec.prefix)
        self.streaming = w
        self._stream_mid = turn.reply.id
        self._fed = len(turn.spec.prefix)
        self.shown = []
        self.flush_ms = []
        self._received = 0
        self._busy = True
        self._after_change()
        self.scroll_to_bottom()
        self._timer.start()
        return w

    def append_tokens(self, text: str, offset: int, tokens: int = 0) -> None:
        """A batch of the reply: `text` (`tokens` tokens), starting at character `offset` of the reply."""
        self._buffer.append((text, offset))
        self._received += tokens

    def flush(self) -> None:
        """Draw what arrived since the last flush (called every FLUSH_MS while a reply streams).

        A batch is placed by its offset: what the widget already shows (taken from the runner when the
        conversation was shown again) is not drawn twice, so the screen never shows text that is not in
        the reply.
        """
        if not self._buffer:
            return
        t0 = time.perf_counter_ns()
        batches, self._buffer = self._buffer, []
        if self.streaming is None:  # another conversation is on screen: the runner keeps the text
            return
        new = []
        for text, offset in batches:
            end = offset + len(text)
            if end <= self._fed:
                continue  # already shown
            new.append(text[max(0, self._fed - offset):])
            self._fed = end
        if not new:
            return
        self.streaming.feed("".join(new))
        self.shown.append((time.time_ns(), self._received))
        self.flush_ms.append((time.perf_counter_ns() - t0) / 1e6)

    def end_reply(self, message: Message) -> None:
        """The reply ended; `message` is as stored (its final text, status, figures and versions)."""
        self.flush()
        self._timer.stop()
        w = self.widgets.get(message.id)
        if w is not None:
            if w.text != message.content:  # a tail the stream did not carry (never expected): show the record
                w.show_message(message)
            else:
                w.finish(message)
        self.streaming = None
        self._stream_mid = None
        self._fed = 0
        self._busy = False
        self._after_change()

    def view_decode_tps(self) -> float | None:
        """Tokens per second as the screen showed them: (tokens − 1) between the first and last draw."""
        if len(self.shown) < 2:
            return None
        (t0, n0), (t1, n1) = self.shown[0], self.shown[-1]
        # the first draw may hold several tokens; count from its last one
        return (n1 - n0) / ((t1 - t0) / 1e9) if t1 > t0 else None

    # -- scrolling --------------------------------------------------------------------------
    @property
    def at_bottom(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - STICK_PX

    def scroll_to_bottom(self) -> None:
        self._stick = True
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _scrolled(self, _value: int) -> None:
        self._stick = self.at_bottom

    def _range_changed(self, _lo: int, hi: int) -> None:
        if self._stick:
            self.verticalScrollBar().setValue(hi)

    def _bubble_width(self) -> int:
        return int(max(240, self.column.width() - 56) * 0.8)

    def eventFilter(self, obj: QObject, e: QEvent) -> bool:
        if obj is self.column and e.type() == QEvent.Type.Resize:
            width = self._bubble_width()
            for w in self.widgets.values():
                w.set_bubble_width(width)
        return False
