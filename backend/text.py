"""Make text from a file or the network safe to print or show.

A model file's strings (its name, architecture, tensor names, chat template, any metadata) are
whatever its author wrote: terminal escape sequences (ESC [, OSC titles, the 8-bit CSI 0x9B), other
control characters, bidirectional overrides that reorder what a reader sees. `printable` removes
them where such strings enter Tern, so everything downstream can print or show them as they are.
"""

from __future__ import annotations

import re

# C0 controls and DEL, C1 controls (0x80–0x9F: 0x9B is a one-byte CSI on many terminals), and the
# Unicode bidirectional embeddings, overrides and isolates.
_BIDI = "\u202a-\u202e\u2066-\u2069"
_ANY_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_CONTROL_BUT_NEWLINE_AND_TAB = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
# An escape sequence is removed whole, not just its ESC: "\x1b[2J" would otherwise leave "[2J".
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, clearing the screen
    r"|\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, hyperlinks, clipboard writes
    r"|[@-Z\\-_])"  # other two-byte sequences
    r"|\x9b[0-?]*[ -/]*[@-~]"  # the 8-bit CSI
)


def printable(text: str, multiline: bool = False) -> str:
    """`text` without escape sequences and control characters.

    One-line text (names, keys, tensor names) loses every control character; multi-line text (a chat
    template, a licence) keeps newlines and tabs.
    """
    text = _ESCAPE_SEQUENCE.sub("", text)
    return (_CONTROL_BUT_NEWLINE_AND_TAB if multiline else _ANY_CONTROL).sub("", text)
