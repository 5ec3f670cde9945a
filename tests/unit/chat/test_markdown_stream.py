from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.chat.markdown_stream import HARD_LIMIT, MarkdownStream, split_blocks

DOC = """# Title
Intro line one
line two.

- a
- b
  continued

1. one

2. two

```python
x = 1

y = 2
```
| a | b |
|---|---|
| 1 | 2 |

The end."""


def test_a_reply_splits_into_headings_paragraphs_lists_code_and_tables() -> None:
    blocks = split_blocks(DOC)
    assert [(b.kind, b.text) for b in blocks] == [
        ("md", "# Title"),
        ("md", "Intro line one\nline two."),
        ("md", "- a\n- b\n  continued\n\n1. one\n\n2. two"),
        ("code", "x = 1\n\ny = 2\n"),
        ("md", "| a | b |\n|---|---|\n| 1 | 2 |"),
        ("md", "The end."),
    ]
    assert blocks[3].lang == "python" and all(b.closed for b in blocks)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=400))
def test_any_chunking_gives_the_same_blocks_and_code_only_grows(cuts: list[int]) -> None:
    stream = MarkdownStream()
    pos, i = 0, 0
    seen_code: dict[int, str] = {}
    while pos < len(DOC):
        n = cuts[i % len(cuts)]
        i += 1
        for idx in stream.feed(DOC[pos:pos + n]):
            b = stream.blocks[idx]
            if b.kind == "code":
                assert b.text.startswith(seen_code.get(idx, "")), "a code block must only grow at its end"
                seen_code[idx] = b.text
        pos += n
        # a closed block never changes again
        assert all(b.closed for b in stream.blocks[:-1])
    stream.finish()
    assert [(b.kind, b.text) for b in stream.blocks] == [(b.kind, b.text) for b in split_blocks(DOC)]


def test_a_new_paragraph_gets_its_own_block_before_its_line_ends() -> None:
    stream = MarkdownStream()
    stream.feed("First paragraph.\n\nSecond")
    assert [b.text for b in stream.blocks] == ["First paragraph.", "Second"]
    assert stream.blocks[0].closed and not stream.blocks[1].closed


def test_a_fence_is_held_back_until_its_line_is_complete() -> None:
    stream = MarkdownStream()
    stream.feed("Text\n``")
    assert [b.text for b in stream.blocks] == ["Text"]
    stream.feed("`js\nlet a")
    assert [(b.kind, b.text) for b in stream.blocks] == [("md", "Text"), ("code", "let a")]


def test_text_without_line_breaks_still_comes_in_bounded_blocks() -> None:
    stream = MarkdownStream()
    for i in range(3000):
        stream.feed(f"word{i} ")
    stream.finish()
    assert len(stream.blocks) > 3 and max(len(b.text) for b in stream.blocks) <= HARD_LIMIT
    assert " ".join(b.text for b in stream.blocks).split() == [f"word{i}" for i in range(3000)]


def test_control_characters_are_dropped_from_display() -> None:
    assert split_blocks("a\x08b\x1fc\td")[0].text == "abc\td"
