"""Everything the window must stop when Tern quits, in one list, within one time budget.

Steps run in the reverse of the order they were added — what was built last (a page that uses the
chat's engine, say) stops before what it depends on — and each gets the time left of the budget, so
one that hangs cannot make the rest wait forever. A step that returns False did not stop in time;
the list says which, and carries on with the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("tern.ui")
Stop = Callable[[int], object]  # stop(ms_left) -> False when it did not finish in time


class ShutdownList:
    def __init__(self, budget_ms: int = 10_000) -> None:
        self.budget_ms = budget_ms
        self.steps: list[tuple[str, Stop]] = []
        self.done = False
        self.late: list[str] = []  # steps that did not stop in time

    def add(self, name: str, stop: Stop) -> None:
        self.steps.append((name, stop))

    def names(self) -> list[str]:
        """The steps in the order they will run."""
        return [name for name, _ in reversed(self.steps)]

    def run(self) -> bool:
        """Run every step once (later calls do nothing); True if each stopped within the budget."""
        if self.done:
            return not self.late
        self.done = True
        deadline = time.monotonic() + self.budget_ms / 1000
        for name, stop in reversed(self.steps):
            left = max(0, int((deadline - time.monotonic()) * 1000))
            try:
                ok = stop(left) is not False
            except Exception:  # one broken step must not keep the others running
                log.exception("shutting down %s failed", name)
                ok = False
            if not ok:
                self.late.append(name)
                log.warning("%s did not stop within the shutdown budget (%d ms left)", name, left)
        return not self.late
