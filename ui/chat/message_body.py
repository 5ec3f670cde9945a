"""The body of a reply: Markdown blocks and code blocks, rendered once each as the reply grows.

A stored reply is shown in as few widgets as possible (consecutive Markdown blocks share one);
a streaming reply feeds a `MarkdownStream` and only touches the widget of the block that changed.
"""

from __future__ import annotations

from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

from backend.chat.markdown_stream import Block, MarkdownStream, split_blocks
from ui.chat.code_block import CodeBlock
from ui.chat.markdown_view import MarkdownView

Segment = MarkdownView | CodeBlock
GAP = 8  # between blocks, in pixels


class MessageBody(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MessageBody")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setSpacing(0)  # gaps are added per block: none before a `continued` one
        self.segments: list[Segment] = []
        self.stream: MarkdownStream | None = None
        self._seg_of: list[int] = []  # while streaming: the segment each block is drawn in

    # -- a finished text --------------------------------------------------------------------
    def set_text(self, text: str) -> None:
        self.clear()
        self.stream = None
        runs: list[Block] = []
        for block in split_blocks(text):
            if block.kind == "md" and runs and runs[-1].kind == "md":
                joint = "\n" if block.continued else "\n\n"
                runs[-1] = Block("md", runs[-1].text + joint + block.text, closed=True)
            else:
                runs.append(block)
        for block in runs:
            self._update(self._add(block), block)

    def clear(self) -> None:
        while self.layout_.count():
            item = self.layout_.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()  # at once: the widget goes when the event loop next runs
                item.widget().deleteLater()
        self.segments = []
        self._seg_of = []

    # -- a streaming text -------------------------------------------------------------------
    def start_stream(self, initial: str = "") -> None:
        self.clear()
        self.stream = MarkdownStream()
        if initial:
            self.feed(initial)

    def feed(self, text: str) -> None:
        assert self.stream is not None, "start_stream first"
        self._apply(self.stream.feed(text))

    def finish_stream(self) -> None:
        if self.stream is not None:
            self._apply(self.stream.finish())

    @property
    def text(self) -> str:
        if self.stream is not None:
            return self.stream.text
        return "\n\n".join(s.source if isinstance(s, MarkdownView) else f"```{s.lang}\n{s.text}```"
                           for s in self.segments)

    def _apply(self, changed: list[int]) -> None:
        """Draw the blocks that changed. A block split from a long paragraph only for speed (`continued`)
        goes on in the paragraph's own view, so streaming never shows a break the text does not have."""
        assert self.stream is not None
        blocks = self.stream.blocks
        del self._seg_of[len(blocks):]  # a block dropped unshown (never expected) takes its mapping along
        for i in changed:
            while len(self._seg_of) <= i:
                j = len(self._seg_of)
                b = blocks[j]
                joins = (b.continued and b.kind == "md" and j > 0 and blocks[j - 1].kind == "md"
                         and isinstance(self.segments[self._seg_of[j - 1]], MarkdownView))
                if joins:
                    self._seg_of.append(self._seg_of[j - 1])
                else:
                    self._add(b)
                    self._seg_of.append(len(self.segments) - 1)
            seg, block = self.segments[self._seg_of[i]], blocks[i]
            head = i == 0 or self._seg_of[i - 1] != self._seg_of[i]
            if head or not isinstance(seg, MarkdownView):
                self._update(seg, block)
            else:
                seg.continue_markdown(i, block.text)

    def _add(self, block: Block) -> Segment:
        seg: Segment = CodeBlock(block.lang, self) if block.kind == "code" else MarkdownView(self)
        prev = self.segments[-1] if self.segments else None
        if prev is not None and not (isinstance(prev, MarkdownView) and isinstance(seg, MarkdownView)):
            self.layout_.addSpacing(GAP)  # paragraphs keep their own margin, as in one view of the whole text
        self.segments.append(seg)
        self.layout_.addWidget(seg)
        return seg

    @staticmethod
    def _update(seg: Segment, block: Block) -> None:
        if isinstance(seg, CodeBlock):
            seg.set_text(block.text)
        else:
            seg.set_markdown(block.text)
