"""Cancel by request id, in the engine worker.

The parent cancels a request by its id. The running one stops at once; one that has not started
yet is remembered and stops as soon as it starts (the cancel may overtake its request); one that
has already finished is ignored, so a late Stop never stops the next reply.
"""

from __future__ import annotations

import threading
from typing import Any


class Cancels:
    def __init__(self) -> None:
        self.event = threading.Event()  # set while the running request is cancelled
        self._lock = threading.Lock()
        self._running: Any = None
        self._started: set[Any] = set()
        self._pending: set[Any] = set()

    def cancel(self, rid: Any) -> None:
        """From the reader thread. Without an id: whatever runs (shutdown)."""
        with self._lock:
            if rid is None or rid == self._running:
                self.event.set()
            elif rid not in self._started:
                self._pending.add(rid)

    def begin(self, rid: Any) -> None:
        """Request `rid` starts: cancelled already if its cancel came first."""
        with self._lock:
            self._running = rid
            if rid is not None:
                self._started.add(rid)
            if rid is not None and rid in self._pending:
                self._pending.discard(rid)
                self.event.set()
            else:
                self.event.clear()

    def end(self) -> None:
        with self._lock:
            self._running = None
            self.event.clear()

    def is_set(self) -> bool:
        return self.event.is_set()
