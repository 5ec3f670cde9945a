"""The user's text, checked before it reaches the engine.

Text from a terminal arrives as Python decoded it: bytes that are not UTF-8 become lone
surrogates (surrogateescape), which cannot be encoded for the engine's protocol. A command line
refuses them with a message that says where; the window replaces them with U+FFFD (the usual
"�"), so a pasted oddity never stops a conversation.
"""

from __future__ import annotations

import re

from backend.errors import TernError

_SURROGATE = re.compile(r"[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


class BadText(TernError):
    code = "bad_text"


def clean_text(text: str) -> str:
    """`text` with every character that is not valid Unicode replaced by U+FFFD."""
    return _SURROGATE.sub(REPLACEMENT, text)


def strict_text(text: str, what: str) -> str:
    """`text` unchanged if it is valid Unicode, else a BadText naming `what` and the first bad byte."""
    bad = _SURROGATE.search(text)
    if bad is None:
        return text
    code = ord(bad.group())
    byte = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"code point U+{code:04X}"
    raise BadText(f"{what} is not valid UTF-8 text ({byte} at character {bad.start() + 1}).",
                  "Save or type it as UTF-8 and try again.")


def clean_messages(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{**m, "content": clean_text(str(m.get("content", "")))} for m in messages]
