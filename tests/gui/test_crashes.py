"""When the engine dies mid-reply, and when Tern itself is killed mid-reply."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtCore import Qt

from app.context import AppContext
from backend.store import FAILED, INTERRUPTED, STREAMING
from tests.gui.conftest import LOAD_MS, REPLY_MS, TINY, register_long, register_tiny, type_and_send

ROOT = Path(__file__).resolve().parents[2]


def test_killed_engine_mid_reply_keeps_the_partial_reply_and_offers_reload(qtbot, long_chat_window) -> None:
    w = long_chat_window
    c = w.chat.controller
    w.chat.extra_params = {"max_tokens": 100_000, "ignore_eos": True}
    type_and_send(qtbot, w, "Keep talking")
    qtbot.waitUntil(lambda: w.chat.view._received >= 10, timeout=20_000)
    pid = c.engine_pid
    assert pid and pid != os.getpid()
    with qtbot.waitSignals([c.reply_finished, c.engine_stopped], timeout=15_000):
        os.kill(pid, signal.SIGKILL)
    mid = c.store.messages(w.chat.cid)[-1].id
    stored = c.store.message(mid)
    assert stored.status == FAILED and len(stored.content) > 0 and "SIGKILL" in stored.stats["error"]
    widget = w.chat.view.widgets[mid]
    assert widget.text == stored.content  # the partial reply stays on screen
    assert widget.badge.isVisible() and widget.badge.text().startswith("Not finished")
    assert w.chat.header.state.text() == "Engine stopped"
    banner = next(b for b in w.notices.banners() if b.notice.key == "engine")
    text = banner.text_label.text()
    assert "engine stopped unexpectedly" in text and "SIGKILL" in text and "Traceback" not in text
    reload = next(b for b in banner.buttons if b.text() == "Reload model")
    with qtbot.waitSignal(c.engine_started, timeout=LOAD_MS) as started:
        qtbot.mouseClick(reload, Qt.MouseButton.LeftButton)
    assert started.args[0] != pid
    # the conversation is intact and goes on
    w.chat.extra_params = {"max_tokens": 3}
    with qtbot.waitSignal(c.reply_finished, timeout=REPLY_MS):
        type_and_send(qtbot, w, "Are you back?")
    roles = [m.role for m in c.store.messages(w.chat.cid)]
    assert roles == ["user", "assistant", "user", "assistant"]


def test_an_engine_that_dies_while_idle_is_noticed(qtbot, chat_window) -> None:
    c = chat_window.chat.controller
    with qtbot.waitSignal(c.engine_stopped, timeout=5000):
        os.kill(c.engine_pid, signal.SIGKILL)
    assert not c.ready
    assert any(b.buttons and b.buttons[0].text() == "Reload model" for b in chat_window.notices.banners())


APP_SCRIPT = r'''
import json, sys, time
from app.gui import make_app, build_window
from PySide6.QtCore import QTimer
app = make_app([])
w = build_window()
w.show()
w.chat.extra_params = {"max_tokens": 100000, "ignore_eos": True}
def report():
    c = w.chat.controller
    if c.ready and not c.busy and not w.chat.view.widgets:
        w.chat.send("Write forever")
    s = w.chat.view.streaming
    print(json.dumps({"t": time.time(), "chars": len(s.text) if s else 0}), flush=True)
timer = QTimer(); timer.timeout.connect(report); timer.start(50)
app.exec()
'''


def test_killing_tern_mid_reply_loses_at_most_about_a_second(qtbot, open_window, long_tiny) -> None:
    ctx = AppContext()
    register_long(ctx, long_tiny)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    err_path = Path(os.environ["TERN_HOME"]).parent / "app.err"
    with open(err_path, "w") as err:
        proc = subprocess.Popen([sys.executable, "-c", APP_SCRIPT], stdout=subprocess.PIPE, stderr=err,
                                env=env, cwd=ROOT, text=True)
    reports: list[dict] = []
    try:
        deadline = time.time() + 60
        assert proc.stdout is not None
        for line in proc.stdout:
            reports.append(json.loads(line))
            if reports[-1]["chars"] and time.time() - next(r["t"] for r in reports if r["chars"]) > 3.0:
                break
            assert time.time() < deadline, "the app never streamed: " + err_path.read_text()[-2000:]
        kill_t = time.time()
        proc.kill()
    finally:
        proc.kill()
        proc.wait(10)
    # the store keeps the reply as far as it had been written
    ctx2 = AppContext()
    cid = ctx2.store.conversations()[0].id
    reply = [m for m in ctx2.store.messages(cid) if m.role == "assistant"][0]
    assert reply.status == STREAMING and reply.content
    # everything that had reached the window more than ~1.2 s before the kill is on disk
    shown_before = max(r["chars"] for r in reports if r["t"] <= kill_t - 1.2)
    assert shown_before > 0 and len(reply.content) >= shown_before, (len(reply.content), shown_before)
    # at the next start the reply is marked interrupted, and shown as such, text and all
    w = open_window(ctx2, wait_ready=False)
    assert ctx2.store.message(reply.id).status == INTERRUPTED
    assert w.chat.cid == cid
    widget = w.chat.view.widgets[reply.id]
    assert widget.text == reply.content and widget.badge.text().startswith("Interrupted")


def test_closing_tern_mid_reply_stops_it_and_keeps_it(qtbot, long_chat_window) -> None:
    import psutil

    w = long_chat_window
    c = w.chat.controller
    w.chat.extra_params = {"max_tokens": 100_000, "ignore_eos": True}
    type_and_send(qtbot, w, "Talk until I leave")
    mid, pid = c.turn.reply.id, c.engine_pid
    qtbot.waitUntil(lambda: w.chat.view._received >= 5, timeout=20_000)
    t0 = time.perf_counter()
    w.close()
    assert time.perf_counter() - t0 < 10 and c.thread.isFinished()
    reply = w.ctx.store.message(mid)
    assert reply.status == "cancelled" and reply.content
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_conversation_longer_than_the_context_is_explained(qtbot, open_window, tiny_models) -> None:
    ctx = AppContext()
    register_tiny(ctx, tiny_models)
    ctx.settings.update(last_model=TINY, n_ctx=256)  # the smallest context Tern allows
    w = open_window(ctx)
    with qtbot.waitSignal(w.chat.controller.reply_finished, timeout=REPLY_MS) as done:
        type_and_send(qtbot, w, "word " * 400)  # ~800 tokens: more than fits
    mid, status, stats = done.args
    assert status == FAILED and stats["stop_reason"] == "context_full"
    banner = next(b for b in w.notices.banners() if b.notice.key == "engine")
    text = banner.text_label.text()
    assert text.startswith("No reply: your message is too long for the model's context")
    assert "the context holds 256" in text and "load the model with a longer context" in text
    assert w.chat.view.widgets[mid].badge.text().startswith("Not written — context full")
    assert w.chat.controller.ready  # the engine is fine: only that request was refused
