"""The conversation view on its own: Markdown rendering, code blocks, incremental streaming, auto-scroll."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics, QGuiApplication, QTextTable

from app.context import AppContext
from backend.chat.session import ChatSession
from backend.store import COMPLETE
from tests.gui.conftest import unnamed_controls
from ui import theme
from ui.chat.chat_view import ChatView
from ui.chat.code_block import CodeBlock
from ui.chat.markdown_view import MarkdownView
from ui.chat.message_body import MessageBody

REPLY = """# Shopping list

Here is what we need:

- apples
- pears
  (ripe ones)
- bread

| item | price |
|------|------:|
| apples | 2.10 |
| bread | 1.80 |

```python
def total(prices):
    return sum(prices)
```

That's **all**, with `inline code` too.
"""


def _stream(body: MessageBody, text: str, chunk: int = 3) -> None:
    body.start_stream()
    for i in range(0, len(text), chunk):
        body.feed(text[i:i + chunk])
    body.finish_stream()


def test_markdown_renders_headings_lists_tables_and_code_with_a_copy_button(qtbot) -> None:
    theme.ThemeManager().apply("light")
    body = MessageBody()
    qtbot.addWidget(body)
    body.resize(600, 400)
    _stream(body, REPLY)
    body.show()
    kinds = [type(s).__name__ for s in body.segments]
    assert kinds.count("CodeBlock") == 1 and kinds[0] == "MarkdownView"
    docs = [s.document() for s in body.segments if isinstance(s, MarkdownView)]
    heading = docs[0].begin()
    assert heading.text() == "Shopping list" and heading.blockFormat().headingLevel() == 1
    text = "\n".join(d.toPlainText() for d in docs)
    assert "apples" in text and "#" not in text and "|" not in text and "**" not in text
    tables = [f for d in docs for f in d.rootFrame().childFrames() if isinstance(f, QTextTable)]
    assert len(tables) == 1 and (tables[0].rows(), tables[0].columns()) == (3, 2)
    assert any(d.begin().textList() is not None for d in docs)  # the list is a real list
    code = next(s for s in body.segments if isinstance(s, CodeBlock))
    metrics = QFontMetrics(code.view.font())  # what a reader sees: every glyph the same width
    assert code.lang == "python" and metrics.horizontalAdvance("i") == metrics.horizontalAdvance("W")
    assert code.view.toPlainText() == "def total(prices):\n    return sum(prices)"
    qtbot.mouseClick(code.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "def total(prices):\n    return sum(prices)"
    assert code.copy_button.text() == "Copied" and code.copy_button.accessibleName() == "Copy python block"
    # a stored reply renders the same content (fewer widgets: consecutive Markdown shares one)
    stored = MessageBody()
    qtbot.addWidget(stored)
    stored.set_text(REPLY)
    assert [type(s).__name__ for s in stored.segments] == ["MarkdownView", "CodeBlock", "MarkdownView"]


def test_streaming_touches_only_the_last_block(qtbot) -> None:
    """A finished paragraph is never rendered again, however long the reply grows."""
    body = MessageBody()
    qtbot.addWidget(body)
    renders: dict[int, int] = {}
    original = MarkdownView.set_markdown

    def counting(self, text):  # type: ignore[no-untyped-def]
        renders[id(self)] = renders.get(id(self), 0) + 1
        return original(self, text)

    MarkdownView.set_markdown = counting  # type: ignore[method-assign]
    try:
        body.start_stream()
        for p in range(40):
            for word in f"Paragraph {p} has a few words in it".split():
                body.feed(word + " ")
            body.feed("\n\n")
        body.finish_stream()
    finally:
        MarkdownView.set_markdown = original  # type: ignore[method-assign]
    views = [s for s in body.segments if isinstance(s, MarkdownView)]
    assert len(views) == 40
    # each paragraph was rendered about once per piece that arrived while it was open, never afterwards
    assert max(renders.values()) <= 10
    appended: list[str] = []
    code = CodeBlock("text")
    qtbot.addWidget(code)
    code.view.document().contentsChange.connect(lambda pos, removed, added: appended.append((pos, removed)))
    for i in range(200):
        code.set_text("".join(f"line {j}\n" for j in range(i + 1)))
    assert all(removed == 0 for _pos, removed in appended)  # only ever appended, never re-set
    assert code.view.document().blockCount() == 200


def _conversation(n: int) -> tuple[AppContext, int]:
    ctx = AppContext()
    conv = ctx.store.create_conversation("Long")
    for i in range(n):
        ctx.store.add_message(conv.id, "user", f"question {i}")
        answer = "\n\n".join(f"Answer {i}, paragraph {k}." for k in range(4))
        ctx.store.add_message(conv.id, "assistant", answer)
    return ctx, conv.id


def test_auto_scroll_follows_only_when_at_the_bottom(qtbot) -> None:
    ctx, cid = _conversation(12)
    view = ChatView()
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.show()
    view.show_messages(ctx.store.messages(cid))
    bar = view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum(), timeout=3000)
    turn = ChatSession(ctx.store).begin_turn(cid, "more please", "tiny · TQ2_0")
    view.begin_reply(turn)
    sent = [""]

    def stream(text: str) -> None:
        view.append_tokens(text, len(sent[0]), 1)
        sent[0] += text

    for i in range(30):
        stream(f"word {i} " + ("\n\n" if i % 5 == 4 else ""))
        view.flush()
    qtbot.waitUntil(lambda: bar.value() == bar.maximum(), timeout=3000)  # followed the reply down
    # the reader scrolls up: new text no longer moves the view
    bar.setValue(bar.maximum() // 3)
    held = bar.value()
    old_max = bar.maximum()
    for i in range(30):
        stream(f"more {i} " + ("\n\n" if i % 5 == 4 else ""))
        view.flush()
    qtbot.waitUntil(lambda: bar.maximum() > old_max, timeout=3000)
    assert bar.value() == held
    ctx.store.update_message(turn.reply.id, content=sent[0], status=COMPLETE,
                             stats={"output_tokens": 60, "decode_tps": 50.0, "ttft_ms": 12.0, "stop_reason": "eos"})
    view.end_reply(ctx.store.message(turn.reply.id))
    assert view.widgets[turn.reply.id].footer.text().startswith("TTFT 12 ms")


def test_user_bubbles_hug_short_text_and_wrap_long_text(qtbot) -> None:
    ctx, cid = _conversation(1)
    ctx.store.add_message(cid, "user", "word " * 200)
    view = ChatView()
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    view.show_messages(ctx.store.messages(cid))
    qtbot.waitUntil(lambda: view.column.width() > 0, timeout=2000)
    users = [w for w in view.widgets.values() if w.role == "user"]
    short, long_ = users[0].bubble, users[1].bubble
    qtbot.waitUntil(lambda: long_.width() > short.width() * 2, timeout=2000)
    assert long_.width() <= view.column.width() * 0.85 and long_.height() > short.height() * 3


def test_every_control_has_an_accessible_name_and_a_tooltip(qtbot, chat_window) -> None:
    w = chat_window
    w.chat.header.options_button.setChecked(True)
    dialog = w.open_settings()
    assert unnamed_controls(w) == [] and unnamed_controls(dialog) == []
    w.show_page("library")
    assert unnamed_controls(w) == []
    dialog.reject()


def _paragraphs(widget) -> list[str]:
    """The paragraphs a reader sees in a reply, in order (each view's text blocks)."""
    from ui.chat.markdown_view import MarkdownView

    out = []
    for seg in widget.body.segments:
        if isinstance(seg, MarkdownView):
            block = seg.document().begin()
            while block.isValid():
                out.append(block.text())
                block = block.next()
    return out


def test_streaming_shows_no_paragraph_break_the_text_does_not_have(qtbot) -> None:
    """A long paragraph is cut into blocks while it streams (so each update stays cheap); the cuts must not
    show: the streaming reply reads exactly as the stored one does when the conversation is reopened."""
    import random

    rnd = random.Random(1)
    words = "the ternary model writes long replies without blank lines and keeps going".split()
    para = lambda n: " ".join(rnd.choice(words) for _ in range(n))  # noqa: E731
    text = para(150) + "\n" + para(30) + "\n\n" + para(25) + " " + para(230)  # one soft break, one cut at a space
    ctx, cid = _conversation(0)
    turn = ChatSession(ctx.store).begin_turn(cid, "tell me", "tiny · TQ2_0")
    view = ChatView()
    qtbot.addWidget(view)
    view.resize(800, 900)
    view.show()
    view.show_messages(ctx.store.messages(cid)[:-1])
    view.begin_reply(turn)
    for i in range(0, len(text), 9):
        view.append_tokens(text[i:i + 9], i, 1)
        view.flush()
    live = _paragraphs(view.streaming)
    ctx.store.update_message(turn.reply.id, content=text, status=COMPLETE)
    view.end_reply(ctx.store.message(turn.reply.id))
    reopened = ChatView()
    qtbot.addWidget(reopened)
    reopened.resize(800, 900)
    reopened.show_messages(ctx.store.messages(cid))
    stored = _paragraphs(reopened.widgets[turn.reply.id])
    assert len(stored) == 2  # "\n" is a soft break (a space) and the cut is not in the text at all
    assert live == stored  # before: four paragraphs while streaming, two when reopened
