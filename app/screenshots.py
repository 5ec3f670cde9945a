"""`make screenshots`: render the main views to PNGs, offscreen, with a real engine on a synthetic model.

    python -m app.screenshots assets/screenshots

Runs in a temporary TERN_HOME (your conversations and models are not touched), makes the
offline demo model (synthetic, random weights — which the window says), and captures: the
welcome page, a conversation with a reply streaming (light and dark), and the settings dialog.
Every figure on screen is measured by that run.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SIZE = (1280, 800)
QUESTION_1 = "Hello! What are you?"
QUESTION_2 = "Write a short note on why ternary weights use less memory than FP16."


def _spin(ms: int) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def _until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    end = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > end:
            raise TimeoutError(f"timed out waiting for {what}")
        _spin(25)


def _save(widget: Any, path: Path) -> None:
    _spin(250)  # let layouts settle and the live figures tick
    if not widget.grab().save(str(path)):
        raise OSError(f"could not write {path}")
    print(f"wrote {path}")


def capture(out: Path, demo_shape: str = "demo") -> list[Path]:
    from app.gui import build_window, make_app

    make_app([])
    window = build_window()
    window.resize(*SIZE)
    window.show()
    written = []
    try:
        written.append(out / "welcome.png")
        _save(window, written[-1])

        window.demo_shape = demo_shape
        window.make_demo()
        _until(lambda: window.chat.controller.ready, 600, "the demo model to be made and loaded")
        chat = window.chat
        chat.extra_params = {"max_tokens": 24, "seed": 7}
        chat.send(QUESTION_1)
        _until(lambda: not chat.controller.busy, 120, "the first reply")
        chat.extra_params = {"max_tokens": 100_000, "ignore_eos": True, "seed": 11}
        chat.composer.input.setPlainText(QUESTION_2)
        chat.send(QUESTION_2)
        started = time.monotonic()
        # enough text to fill the view; on a busy machine, settle for less after a while
        def enough() -> bool:
            shown = chat.view._received
            return shown >= 160 or (shown >= 12 and time.monotonic() - started > 45)

        _until(enough, 600, "the second reply to stream")
        written.append(out / "chat-streaming.png")
        _save(window, written[-1])
        window.settings.update(theme="dark")
        written.append(out / "chat-streaming-dark.png")
        _save(window, written[-1])
        chat.stop()
        _until(lambda: not chat.controller.busy, 30, "the reply to stop")
        window.settings.update(theme="light")

        dialog = window.open_settings()
        _until(lambda: "used" in dialog.models_row.size_label.text(), 30, "folder sizes")
        written.append(out / "settings.png")
        _save(dialog, written[-1])
        dialog.reject()
    finally:
        window.close()
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "assets/screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="tern-screenshots-") as home:
        os.environ["TERN_HOME"] = home
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        capture(out, os.environ.get("TERN_SCREENSHOT_SHAPE", "demo"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
