"""Split a growing Markdown reply into blocks, so a view renders each block once and freezes it.

A reply arrives a few characters at a time. Re-rendering the whole reply for every batch costs
time proportional to its length, so a long reply would get slower and slower to show. Instead
the reply is cut, as it grows, into blocks — paragraphs, headings, lists, tables, fenced code —
and only the last, still open block changes. A code block only ever grows at its end, so a view
can append to it instead of rendering it again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$")
_HEADING = re.compile(r"^ {0,3}#{1,6}(\s|$)")
_LIST_ITEM = re.compile(r"^\s*([-*+]|\d{1,9}[.)])(\s|$)")
_TABLE_ROW = re.compile(r"^\s*\|")
_MAYBE_MARKER = re.compile(r"^\s*\d{1,9}$")
_RULE = re.compile(r"^ {0,3}([-*_])(\s*\1){2,}\s*$")
# An open paragraph longer than this is closed at the next line break, so that even a reply
# without blank lines is rendered in pieces of bounded size (re-rendering 800 characters of
# Markdown takes ~1 ms; 3,000 take ~7 ms).
SOFT_LIMIT = 800
# A line longer than this (text with no line breaks at all) is cut at its last space, so the open
# block stays bounded even then. Blocks made by either cut are marked `continued`, and a view
# shows them without a paragraph gap.
HARD_LIMIT = 1200
# Control characters (other than tab and newline) that random-weight models emit; shown as nothing.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass
class Block:
    kind: str  # "md" or "code"
    text: str = ""
    lang: str = ""
    closed: bool = False
    continued: bool = False  # split from the previous block for size, not by the text's own structure


class MarkdownStream:
    """Feed text as it arrives; read `blocks`. `feed` and `finish` return the indexes that changed."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._lines: list[str] = []  # complete lines of the open block
        self._partial = ""  # the line being written
        self._fence = ""  # the opening fence of the open code block ("" outside code)
        self._blank_before = False
        self._fed: list[str] = []
        self._cut = False

    @property
    def text(self) -> str:
        """Everything fed so far (after dropping control characters)."""
        return "".join(self._fed)

    def feed(self, text: str) -> list[int]:
        text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
        if not text:
            return []
        self._fed.append(text)
        changed: set[int] = set()
        data = self._partial + text
        *complete, self._partial = data.split("\n")
        for line in complete:
            changed.update(self._line(line))
        while len(self._partial) > HARD_LIMIT and not self._fence:
            cut = self._partial.rfind(" ", 0, HARD_LIMIT)
            cut = cut if cut > 0 else HARD_LIMIT
            changed.update(self._line(self._partial[:cut]))
            changed.update(self._close())
            self._cut = True  # what follows continues the same paragraph, in a new block
            self._partial = self._partial[cut:].lstrip(" ")
        changed.update(self._show_open())
        return sorted(changed)

    def finish(self) -> list[int]:
        """The reply ended: the last line is complete and every block is closed."""
        changed: set[int] = set()
        if self._partial:
            changed.update(self._line(self._partial))
            self._partial = ""
        changed.update(self._close())
        return sorted(changed)

    # -- line handling ----------------------------------------------------------------------
    def _line(self, line: str) -> list[int]:
        changed: list[int] = []
        if self._fence:
            if _closes(line, self._fence):
                return self._close()
            self._lines.append(line)
            return []
        fence = _FENCE.match(line)
        if fence:
            changed += self._close()
            self._cut = False
            self.blocks.append(Block("code", lang=fence.group(2)))
            self._fence = fence.group(1)
            return [*changed, len(self.blocks) - 1]
        if not line.strip():
            if self._lines:
                self._lines.append(line)
            self._blank_before = True
            return changed
        continued = False
        if self._starts_block(line):
            continued = self._size_split(line)
            changed += self._close()
        if not self.blocks or self.blocks[-1].closed:
            self.blocks.append(Block("md", continued=continued or self._cut))
            self._cut = False
        self._lines.append(line)
        self._blank_before = False
        if _HEADING.match(line) or _RULE.match(line):
            changed += [len(self.blocks) - 1, *self._close()]
        return changed

    def _starts_block(self, line: str) -> bool:
        """Whether `line` begins a new block rather than continuing the open one."""
        body = [x for x in self._lines if x.strip()]
        if not body:
            return False
        if _HEADING.match(line):
            return True
        last = body[-1]
        in_list = bool(_LIST_ITEM.match(last)) or (last.startswith((" ", "\t")) and _has_list(body))
        in_table = bool(_TABLE_ROW.match(last))
        if in_list and (_LIST_ITEM.match(line) or line.startswith((" ", "\t"))):
            return False  # the next item of a list, or an item's indented continuation
        if in_table and _TABLE_ROW.match(line):
            return False
        if self._blank_before or in_table:
            return True
        if in_list:
            return False  # a lazy continuation line of the last item
        return sum(len(x) + 1 for x in self._lines) > SOFT_LIMIT

    def _size_split(self, line: str) -> bool:
        """Whether `line` starts a new block only because the open one is long."""
        return not self._blank_before and not _HEADING.match(line) and \
            sum(len(x) + 1 for x in self._lines) > SOFT_LIMIT

    def _show_open(self) -> list[int]:
        """Put the open block's text (complete lines and the line being written) on display.

        A line being written that already shows it starts a new block (after a blank line, say)
        goes to a new block at once, rather than into the previous paragraph until it ends.
        """
        changed: list[int] = []
        partial = "" if _looks_like_fence(self._partial) else self._partial
        open_md = bool(self.blocks) and not self.blocks[-1].closed and self.blocks[-1].kind == "md"
        if partial.strip() and open_md and self._lines:
            if _MAYBE_MARKER.match(partial):
                partial = ""  # "12" may become "12. item": wait for the line to say what it is
            elif self._starts_block(partial):
                self._cut = self._cut or self._size_split(partial)
                changed += self._close()
        if not self.blocks or self.blocks[-1].closed:
            if not partial.strip():
                return changed
            self.blocks.append(Block("md", continued=self._cut))
            self._cut = False
        block = self.blocks[-1]
        if block.kind == "code":
            text = "".join(x + "\n" for x in self._lines) + partial
        else:
            text = "\n".join([*self._lines, partial]) if partial else "\n".join(self._lines)
        if text == block.text:
            return changed
        block.text = text
        return [*changed, len(self.blocks) - 1]

    def _close(self) -> list[int]:
        if not self.blocks or self.blocks[-1].closed:
            self._lines, self._fence = [], ""
            return []
        block = self.blocks[-1]
        if block.kind == "code":
            block.text = "".join(x + "\n" for x in self._lines)
        else:
            block.text = "\n".join(self._lines).strip("\n")
            if not block.text:  # never shown: drop it rather than leave an empty block
                self.blocks.pop()
                self._lines, self._fence = [], ""
                return []
        block.closed = True
        self._lines, self._fence = [], ""
        return [len(self.blocks) - 1]


def _closes(line: str, fence: str) -> bool:
    s = line.strip()
    return len(line) - len(line.lstrip(" ")) <= 3 and s.startswith(fence) and set(s) == {fence[0]}


def _looks_like_fence(partial: str) -> bool:
    """A line being written that may turn out to be a fence is held back until it is complete."""
    s = partial.lstrip(" ")
    if not s or s[0] not in "`~" or len(partial) - len(s) > 3:
        return False
    return s.startswith(s[0] * 3) or s == s[0] * len(s)


def _has_list(lines: list[str]) -> bool:
    return any(_LIST_ITEM.match(x) for x in lines)


def split_blocks(text: str) -> list[Block]:
    """All blocks of a finished text (what a view shows for a stored message)."""
    stream = MarkdownStream()
    stream.feed(text)
    stream.finish()
    return stream.blocks
