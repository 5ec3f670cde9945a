"""The chat in the window exactly as `tern` builds it (every page installed: Library, Compare, metrics),
driven through the widgets' accessible names: switching the model mid-reply, a conversation that
outgrows the context, and figures that belong to the model that made them."""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QWidget

from app.context import AppContext
from app.gui import build_window
from backend.store import CANCELLED, COMPLETE, INTERRUPTED
from tests.conftest import LONG_CTX
from tests.gui.conftest import LOAD_MS, REPLY_MS
from ui.main_window import MainWindow

LONG_TQ, LONG_F16, TINY = "tiny-long:TQ2_0", "tiny-long:F16", "tiny:TQ2_0"
FOREVER = {"max_tokens": 1_000_000, "ignore_eos": True}


def named(root: QWidget, name: str, kind: type[QWidget] = QWidget) -> QWidget:
    """The visible widget under `root` with accessible name `name` (exactly one)."""
    found = [w for w in root.findChildren(kind) if w.accessibleName() == name and w.isVisible()]
    assert len(found) == 1, f"{len(found)} visible widgets named {name!r}"
    return found[0]


@pytest.fixture()
def assembled(qtbot, long_tiny_models: dict[str, Path], tiny_models: dict[str, Path]
              ) -> Iterator[Callable[..., MainWindow]]:
    """Windows built by app.gui.build_window as `tern` builds them, with the tiny models registered."""
    windows: list[MainWindow] = []

    def make(last_model: str = LONG_TQ, n_ctx: int = LONG_CTX) -> MainWindow:
        ctx = AppContext()
        fields = {"synthetic": 1, "chat": 0, "family": "synthetic"}
        for enc, path in long_tiny_models.items():
            ctx.registry.add_variant("tiny-long", path, enc, "synthetic", model_fields=fields)
        ctx.registry.add_variant("tiny", tiny_models["tq2_0"], "tq2_0", "synthetic", model_fields=fields)
        ctx.settings.update(last_model=last_model, n_ctx=n_ctx)
        window = build_window(ctx)
        windows.append(window)
        qtbot.addWidget(window)
        assert {"chat", "library", "compare"} <= set(window.pages)  # every page, as in `tern`
        window.show()
        qtbot.waitExposed(window)
        qtbot.waitUntil(lambda: window.chat.controller.ready, timeout=LOAD_MS)
        return window

    yield make
    for w in windows:
        try:
            w.close()  # closeEvent: the window's own shutdown, and the pages that follow it
            assert w.chat.controller.stopped
        except RuntimeError:
            pass


def send(qtbot, w: MainWindow, text: str) -> None:
    box = named(w, "Message")
    box.setFocus()
    qtbot.keyClicks(box, text)
    with qtbot.waitSignal(w.chat.controller.reply_started, timeout=5000):
        qtbot.keyClick(box, Qt.Key.Key_Return)


def streaming(qtbot, w: MainWindow, tokens: int = 5) -> int:
    """Wait until the reply being written has `tokens` tokens on screen; returns its message id."""
    c = w.chat.controller
    assert c.turn is not None
    qtbot.waitUntil(lambda: w.chat.view._received >= tokens, timeout=20_000)
    return c.turn.reply.id


def pick(qtbot, w: MainWindow, spec: str) -> None:
    """Choose a model in the picker, as a click on its line of the list does."""
    picker = named(w, "Model", QComboBox)
    index = picker.findData(spec)
    assert index >= 0, spec
    picker.setCurrentIndex(index)
    picker.activated.emit(index)


def not_stuck(qtbot, w: MainWindow) -> None:
    """The chat answers again: Send is Send, a new reply streams, Esc stops it, and Send is back."""
    c = w.chat.controller
    assert not c.busy
    assert named(w, "Send message", QAbstractButton).isEnabled()
    w.chat.extra_params = FOREVER
    send(qtbot, w, "Are you still there?")
    streaming(qtbot, w, 3)
    with qtbot.waitSignal(c.reply_finished, timeout=10_000) as done:
        qtbot.keyClick(named(w, "Message"), Qt.Key.Key_Escape)
    assert done.args[1] == CANCELLED
    assert named(w, "Send message", QAbstractButton).isEnabled()


def test_switching_the_model_in_the_picker_mid_reply_ends_the_reply_and_the_chat_goes_on(qtbot, assembled) -> None:
    w = assembled()
    c = w.chat.controller
    old_pid = c.engine_pid
    w.chat.extra_params = FOREVER
    send(qtbot, w, "Tell me a long story")
    mid = streaming(qtbot, w)
    assert named(w, "Stop reply", QAbstractButton).isEnabled()
    with qtbot.waitSignals([c.reply_finished, c.engine_started], timeout=LOAD_MS) as both:
        pick(qtbot, w, LONG_F16)
    # before the fix: Send stayed Stop and Esc did nothing, in every chat, until restart
    assert w.ctx.store.message(mid).status == CANCELLED and w.ctx.store.message(mid).content
    assert c.choice.spec == LONG_F16 and c.engine_pid != old_pid
    assert "stopped by you" in w.chat.view.widgets[mid].footer.text()
    # the composer names the model now loaded, not the one before, and not "Loading…"
    assert named(w, "Message").placeholderText() == "Message tiny-long · F16…"
    del both
    not_stuck(qtbot, w)


def test_the_librarys_chat_button_mid_reply_switches_cleanly(qtbot, assembled) -> None:
    w = assembled()
    c = w.chat.controller
    w.chat.extra_params = FOREVER
    send(qtbot, w, "Keep going")
    mid = streaming(qtbot, w)
    w.show_page("library")
    library = w.pages["library"]
    qtbot.waitUntil(lambda: any(b.accessibleName() == "Chat with tiny:TQ2_0" and b.isVisible()
                                for b in library.findChildren(QAbstractButton)), timeout=10_000)
    with qtbot.waitSignal(c.engine_started, timeout=LOAD_MS):
        qtbot.mouseClick(named(library, "Chat with tiny:TQ2_0", QAbstractButton), Qt.MouseButton.LeftButton)
    assert w.current_page() == "chat"
    assert w.ctx.store.message(mid).status == CANCELLED and not c.busy
    assert c.choice.spec == TINY and named(w, "Message").placeholderText() == "Message tiny · TQ2_0…"
    w.chat.extra_params = {"max_tokens": 4, "ignore_eos": True}
    with qtbot.waitSignal(c.reply_finished, timeout=REPLY_MS) as done:
        send(qtbot, w, "Short one")
    assert done.args[1] == COMPLETE


def test_reload_now_mid_reply_reloads_and_the_chat_goes_on(qtbot, assembled) -> None:
    w = assembled()
    c = w.chat.controller
    w.chat.extra_params = FOREVER
    send(qtbot, w, "Go on")
    mid = streaming(qtbot, w)
    w.settings.update(threads=1)  # as the Settings dialog does: applies at the next load, and says so
    banner = next(b for b in w.notices.banners() if b.notice.key == "reload-settings")
    reload = next(b for b in banner.buttons if b.text() == "Reload now")
    with qtbot.waitSignal(c.engine_started, timeout=LOAD_MS) as started:
        qtbot.mouseClick(reload, Qt.MouseButton.LeftButton)
    assert started.args[1]["n_threads"] == 1
    assert w.ctx.store.message(mid).status == CANCELLED
    not_stuck(qtbot, w)


def peak_mib(w: MainWindow) -> float | None:
    m = re.search(r"peak ([\d,]+) MiB", named(w, "Engine RAM", QLabel).text())
    return float(m.group(1).replace(",", "")) if m else None


def test_figures_belong_to_the_model_that_made_them(qtbot, assembled) -> None:
    """One model, one engine process: after a switch the peak RAM is the new model's, and the decode
    figure of the previous model's last reply is gone from the status line."""
    w = assembled(last_model=LONG_F16)  # its 64k-token context holds a 128 MiB KV cache
    c = w.chat.controller
    w.chat.extra_params = {"max_tokens": 16, "ignore_eos": True}
    with qtbot.waitSignal(c.reply_finished, timeout=REPLY_MS):
        send(qtbot, w, "Hello")
    decode = named(w, "Decode speed", QLabel)
    qtbot.waitUntil(lambda: "tok/s" in decode.text(), timeout=5000)
    qtbot.waitUntil(lambda: (peak_mib(w) or 0) > 150, timeout=10_000)
    big = peak_mib(w)
    with qtbot.waitSignal(c.engine_started, timeout=LOAD_MS):
        w.chat.load_with(next(x for x in w.chat.header.options if x.spec == TINY), 2048, 0)
    assert "tok/s" not in decode.text()  # the previous model's figure is gone at once
    qtbot.waitUntil(lambda: peak_mib(w) is not None and peak_mib(w) < big - 64, timeout=10_000)
    # before the fix the same process served both models, and F16's peak stayed on screen
    assert peak_mib(w) < 100, (peak_mib(w), big)


def test_a_conversation_that_outgrows_the_context_keeps_being_answered(qtbot, assembled) -> None:
    w = assembled(last_model=TINY, n_ctx=256)  # the smallest context Tern allows
    c = w.chat.controller
    w.chat.extra_params = {"max_tokens": 16, "ignore_eos": True, "temperature": 0}
    with qtbot.waitSignal(c.reply_finished, timeout=REPLY_MS) as first:
        send(qtbot, w, "Hello")
    assert "token limit reached" in w.chat.view.widgets[first.args[0]].footer.text()
    qtbot.waitUntil(lambda: w.chat.composer.meter.isVisible(), timeout=5000)
    meter = named(w, "Context used", QLabel)
    qtbot.waitUntil(lambda: re.fullmatch(r"[\d,]+ / 256 tokens", meter.text()) is not None, timeout=5000)
    # each exchange is ~60 tokens: the fourth no longer fits, and every later one still gets its reply
    for i in range(6):
        with qtbot.waitSignal(c.reply_finished, timeout=REPLY_MS) as done:
            send(qtbot, w, f"message {i} " + "abcd " * 6)
        mid, status, stats = done.args
        assert status == COMPLETE and stats["output_tokens"] == 16, stats  # before: "the engine failed…"
    assert stats["context"]["dropped"] > 0 and stats["context"]["policy"] == "truncate_middle"
    assert "earlier messages left out" in w.chat.view.widgets[mid].footer.text()
    qtbot.waitUntil(lambda: "older messages left out" in meter.text(), timeout=5000)  # all of it: > 256
    # a reply that runs out of context says so, differently from one that reaches its own limit
    w.chat.extra_params = {"max_tokens": 10_000, "ignore_eos": True}
    with qtbot.waitSignal(c.reply_finished, timeout=REPLY_MS) as done:
        send(qtbot, w, "and now talk until the context is full")
    widget = w.chat.view.widgets[done.args[0]]
    assert done.args[2]["stop_reason"] == "context" and "context full" in widget.footer.text()
    assert "token limit" not in widget.footer.text() and widget.badge.text().startswith("Context full")
    # "Stop and say so": nothing more is sent, and the reason is given
    w.chat.header.options_button.setChecked(True)
    policy = named(w, "When the context is full", QComboBox)
    policy.setCurrentIndex(policy.findData("stop"))
    w.chat.options.flush()
    qtbot.waitUntil(lambda: "context full" in meter.text(), timeout=5000)
    box = named(w, "Message")
    box.setFocus()
    qtbot.keyClicks(box, "one more")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert not c.busy and box.toPlainText() == "one more"  # kept, not sent
    banner = next(b for b in w.notices.banners() if b.notice.key == "context-full")
    assert "fills the model's context" in banner.text_label.text()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGSTOP is POSIX")
def test_a_frozen_engine_does_not_freeze_the_chat(qtbot, assembled, monkeypatch) -> None:
    monkeypatch.setenv("TERN_ENGINE_HANG_S", "1.5")  # the bound (default 20 s), short for the test
    w = assembled()
    c = w.chat.controller
    w.chat.extra_params = FOREVER
    send(qtbot, w, "Keep talking")
    mid = streaming(qtbot, w, 10)
    frozen = c.engine_pid
    with qtbot.waitSignals([c.reply_finished, c.engine_stopped], timeout=30_000):  # before: never
        os.kill(frozen, signal.SIGSTOP)
    stored = w.ctx.store.message(mid)
    assert stored.status == INTERRUPTED and stored.content  # the partial reply is kept
    widget = w.chat.view.widgets[mid]
    assert widget.text == stored.content and "engine stopped responding" in widget.badge.text()
    assert named(w, "Continue reply", QAbstractButton).isEnabled()
    banner = next(b for b in w.notices.banners() if b.notice.key == "engine")
    assert "stopped responding" in banner.text_label.text() and f"pid {frozen}" in banner.text_label.text()
    with pytest.raises(ProcessLookupError):
        os.kill(frozen, 0)
    # the next message starts a fresh engine by itself
    w.chat.extra_params = {"max_tokens": 4, "ignore_eos": True}
    with qtbot.waitSignals([c.engine_started, c.reply_finished], timeout=LOAD_MS) as both:
        send(qtbot, w, "Are you back?")
    assert c.engine_pid not in (None, frozen)
    assert w.ctx.store.messages(w.chat.cid)[-1].status == COMPLETE
    del both
