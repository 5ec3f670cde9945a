"""Stop sequences: cut a streamed reply where one of the caller's strings first appears.

Text that might be the start of a stop sequence is held back until the next piece shows whether
it is, so a client never receives part of a stop sequence (OpenAI leaves the stop string out).
"""

from __future__ import annotations


class StopScanner:
    def __init__(self, stops: tuple[str, ...] | list[str]) -> None:
        self.stops = tuple(s for s in stops if s)
        self.held = ""
        self.hit = False

    def feed(self, text: str) -> str:
        """The part of `text` that is safe to send now; after a hit, nothing more."""
        if self.hit:
            return ""
        if not self.stops:
            return text
        buf = self.held + text
        found = [i for i in (buf.find(s) for s in self.stops) if i >= 0]
        if found:
            self.hit = True
            self.held = ""
            return buf[: min(found)]
        keep = self._overlap(buf)
        self.held = buf[len(buf) - keep:] if keep else ""
        return buf[: len(buf) - keep]

    def flush(self) -> str:
        """What was held back, at the end of the reply (it turned out not to be a stop sequence)."""
        out, self.held = ("" if self.hit else self.held), ""
        return out

    def _overlap(self, buf: str) -> int:
        """Length of the longest end of `buf` that is the beginning of some stop sequence."""
        best = 0
        for s in self.stops:
            for n in range(min(len(s) - 1, len(buf)), best, -1):
                if buf.endswith(s[:n]):
                    best = n
                    break
        return best
