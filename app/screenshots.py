"""`make screenshots`: render the main views to PNGs, offscreen, with a real engine on a synthetic model.

    python -m app.screenshots assets/screenshots

Runs in a temporary TERN_HOME (your conversations and models are not touched), makes the
offline demo model (synthetic, random weights — which the window says), and captures: the
welcome page, a conversation with a reply streaming (light and dark), the settings dialog, and the
library with a download in progress (from a local stand-in Hub with synthetic repos).
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
QUESTION_2 = "Write a short note on why ternary weights use less memory than 16-bit floats."


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

        written.append(out / "library-downloading.png")
        _library_downloading(window, written[-1])

        written.append(out / "compare.png")
        _compare(window, written[-1])
    finally:
        window.close()
    return written


def _compare(window: Any, path: Path) -> None:
    """The demo pair side by side after one fair comparison, ratios across the top."""
    panel = window.pages["compare"]
    for banner in window.notices.banners():  # notices left by the library step
        banner.close_banner()
    window.show_page("compare")
    panel.select_model("demo")
    _until(lambda: panel.send.isEnabled(), 120, "the demo pair to be prepared")
    panel.prompt.setText("Explain why ternary weights save memory.")
    panel.send.click()
    _until(lambda: panel.busy, 10, "the comparison to start")
    _until(lambda: not panel.busy, 600, "both sides to answer")
    _save(window, path)


def _library_downloading(window: Any, path: Path) -> None:
    """The Library page with Hub search results and a download running, against the local stand-in Hub
    (tests/support: synthetic repos on 127.0.0.1, paced like a slow link so speed and time left show)."""
    from huggingface_hub import constants

    from tests.support import hub_repos
    from tests.support.hub_server import HubServer

    saved = {k: os.environ.get(k) for k in ("HF_ENDPOINT", "HF_HOME", "HF_HUB_OFFLINE")}
    was_offline = constants.HF_HUB_OFFLINE  # read once at import: the run's HF_HUB_OFFLINE=1 stuck there
    with tempfile.TemporaryDirectory(prefix="tern-hub-") as folder:
        hub = HubServer(hub_repos.TOKEN).start()
        try:
            hub_repos.build_repos(Path(folder) / "repos", hub)
            os.environ.update(HF_ENDPOINT=hub.url, HF_HOME=str(Path(folder) / "hf"))
            os.environ.pop("HF_HUB_OFFLINE", None)
            constants.HF_HUB_OFFLINE = False  # only 127.0.0.1 is asked
            window.show_page("library")
            page, key = window.pages["library"], (hub_repos.TERNARY, "tiny-TQ2_0.gguf")
            page.set_tab(1)
            page.discover.search("")
            def checked() -> bool:  # the Library checks the rows on screen (those further down when scrolled to)
                rows = [r for c in page.discover.search_cards for r in c.rows
                        if r.isVisible() and not r.visibleRegion().isEmpty()]
                return bool(rows) and all(r.inspection for r in rows)

            def under_way() -> bool:
                s = page.downloads.states.get(key)
                p = s.progress if s is not None else None
                return p is not None and p.done_bytes > 150_000 and p.eta_s is not None

            _until(checked, 60, "search results and their header checks")
            hub.throttle_bps = 120_000
            page.downloads.start(*key)
            _until(under_way, 60, "the download to get going")
            _save(window, path)
            page.downloads.cancel(*key)
            _until(lambda: not page.downloads.states, 30, "the download to stop")
        finally:
            hub.throttle_bps = 1 << 30  # a sender still pacing itself finishes at once
            hub.stop()
            constants.HF_HUB_OFFLINE = was_offline
            for k, v in saved.items():
                os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


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
