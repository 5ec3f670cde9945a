"""First run (welcome → offline demo), the settings dialog round trip, the Hugging Face token's privacy."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel

from app import secrets
from app.context import AppContext
from app.settings import Settings
from backend.chat.choices import SYNTHETIC_LABEL
from backend.engine.hardware import logical_cpus
from tests.gui.conftest import LOAD_MS, unnamed_controls
from ui import theme


def test_the_welcome_page_suggests_the_smallest_chat_model_that_fits_this_machine(qtbot, open_window) -> None:
    w = open_window(wait_ready=False)
    qtbot.waitUntil(lambda: not w.jobs, timeout=15_000)  # the suggestion made at start, for this machine
    gib = 1024**3

    def suggest(ram: int, disk: int) -> str:
        with qtbot.waitSignal(w._suggest_first_model(available_ram=ram, free_disk=disk).done, timeout=15_000):
            pass
        return w.welcome.suggestion.text()

    plenty = suggest(16 * gib, 500 * 10**9)
    assert plenty.startswith("Suggested first model: BitNet b1.58 2B-4T (packed) — the smallest chat model")
    assert "1.18 GB download, converted on this computer to TQ2_0" in plenty and "(16.0 GiB available now)" in plenty
    assert w.welcome.suggestion_button.isVisible()
    little = suggest(1 * gib, 500 * 10**9)  # the converted 2B-4T (Q8_0 head) needs ≈ 1.07 GiB: nothing fits
    assert little.startswith("No chat model in the catalog fits this computer now: the smallest, BitNet b1.58 "
                             "2B-4T (packed), needs ≈ 1,098 MiB of RAM (1,024 MiB available now)"), little
    assert "offline demo" in little and not w.welcome.suggestion_button.isVisible()
    no_disk = suggest(16 * gib, 2 * 10**9)  # download + converted file: 2.07 GB at once
    assert "2.07 GB of disk (2.00 GB free)" in no_disk and "of RAM" not in no_disk.split("needs")[1]
    suggest(16 * gib, 500 * 10**9)
    qtbot.mouseClick(w.welcome.suggestion_button, Qt.MouseButton.LeftButton)
    assert w.current_page() == "library"
    lib = w.pages["library"]
    card = next(c for c in lib.discover.catalog_cards if c.entry.id == "bitnet-b1.58-2b-4t")
    assert lib.stack.currentIndex() == 1 and card.property("highlight") == "true"
    qtbot.waitUntil(lambda: not card.visibleRegion().isEmpty(), timeout=5000)  # scrolled to it


def test_first_run_shows_the_welcome_page_and_the_demo_gets_you_chatting(qtbot, open_window) -> None:
    w = open_window(wait_ready=False)
    assert w.current_page() == "welcome" and w.welcome.isVisible()
    assert unnamed_controls(w) == []
    text = " ".join(lbl.text() for lbl in w.welcome.findChildren(QLabel))
    assert "Tern runs 1.58-bit (ternary) language models" in text and SYNTHETIC_LABEL in text
    # the smallest chat model of the catalog that fits this computer is suggested (or why none fits)
    qtbot.waitUntil(lambda: w.welcome.suggestion.isVisible(), timeout=15_000)
    shown = w.welcome.suggestion.text()
    assert shown.startswith(("Suggested first model: ", "No chat model in the catalog fits")), shown
    assert "RAM" in shown
    # "Open the Library" goes to the library page, and back
    qtbot.mouseClick(w.welcome.library_button, Qt.MouseButton.LeftButton)
    assert w.current_page() == "library"
    w.show_page("chat")
    assert w.current_page() == "welcome"

    w.demo_shape = "tiny"  # the real demo shape takes ~10 s to make; the same code path with a tiny shape
    progress: list[float] = []
    with qtbot.waitSignal(w.chat.controller.engine_started, timeout=LOAD_MS):
        qtbot.mouseClick(w.welcome.demo_button, Qt.MouseButton.LeftButton)
        job = w.jobs[-1]
        job.progress.connect(lambda _s, f: progress.append(f))
        assert not w.welcome.demo_button.isEnabled() and w.welcome.progress.isVisible()
    assert progress and progress[-1] == pytest.approx(1.0)
    assert w.current_page() == "chat"
    choice = w.chat.controller.choice
    assert choice is not None and choice.spec == "demo:TQ2_0" and choice.synthetic
    strip = w.chat.header.badge
    assert strip.isVisible() and strip.text().lower() == SYNTHETIC_LABEL + "."
    assert "random weights" in w.chat.view.empty.detail.text()
    assert w.settings.last_model == "demo:TQ2_0"
    qtbot.waitUntil(lambda: not w.jobs, timeout=5000)  # the job's thread ended and was let go


@pytest.fixture()
def file_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERN_KEYRING", "0")  # this machine has no keyring: the private file is what is used


def test_settings_round_trip_and_the_token_stays_private(qtbot, open_window, file_token, tiny_models,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "")  # (so the test's end restores the environment as it was)
    w = open_window(wait_ready=False)
    dialog = w.open_settings()
    qtbot.waitExposed(dialog)
    assert dialog.threads.value() == 0 and "physical cores" in dialog.threads.specialValueText()
    # folder sizes are measured off the GUI thread
    qtbot.waitUntil(lambda: "used" in dialog.data_row.size_label.text(), timeout=5000)
    n = logical_cpus()  # the most the spin box offers: more threads than CPUs only slow llama.cpp down
    assert dialog.threads.maximum() == n
    dialog.threads.setValue(n)
    dialog.n_ctx.setCurrentIndex(dialog.n_ctx.findData(4096))
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.offline.setChecked(True)
    assert not dialog.keep_source.isChecked()  # converted models' sources are removed by default
    dialog.keep_source.setChecked(True)
    dialog.token.setText("hf_secret_test_token_123")
    heard: list[Settings] = []
    w.settings.subscribe(heard.append)
    with qtbot.waitSignal(dialog.finished, timeout=5000):  # the token is stored off the GUI thread
        dialog.accept()
    assert heard and heard[-1].threads == n
    # the settings file has the values, and a fresh load reads them back
    fresh = Settings.load(w.ctx.paths.settings_file)
    assert (fresh.threads, fresh.n_ctx, fresh.theme, fresh.offline) == (n, 4096, "dark", True)
    assert fresh.keep_source is True
    # the controller uses them for the next load; the theme is applied at once
    assert (w.chat.controller.n_threads, w.chat.controller.n_ctx) == (n, 4096)
    assert theme.current().name == "dark"
    assert os.environ["HF_HUB_OFFLINE"] == "1"  # the Hub client reads it at every call
    assert w.palette().color(QPalette.ColorRole.Window).name() == theme.DARK.window
    # the token: in a file only this user can read, nowhere else
    assert secrets.get_hf_token() == "hf_secret_test_token_123"
    path = secrets.token_file()
    if sys.platform != "win32":
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "hf_secret" not in w.ctx.paths.settings_file.read_text()
    log = w.ctx.paths.logs / "tern.log"
    assert not log.exists() or "hf_secret" not in log.read_text()
    # reopening shows what was saved
    again = w.open_settings()
    qtbot.waitUntil(lambda: again.token_row.is_loaded, timeout=5000)  # read off the GUI thread
    assert again.threads.value() == n and again.n_ctx.currentData() == 4096
    assert again.theme.currentData() == "dark" and again.offline.isChecked() and again.keep_source.isChecked()
    assert again.token.text() == "hf_secret_test_token_123"
    again.token.clear()
    again.theme.setCurrentIndex(again.theme.findData("light"))
    again.offline.setChecked(False)
    with qtbot.waitSignal(again.finished, timeout=5000):
        again.accept()
    assert not os.environ.get("HF_HUB_OFFLINE")
    assert secrets.get_hf_token() is None and not path.exists()
    assert theme.current().name == "light"
    assert json.loads(w.ctx.paths.settings_file.read_text())["theme"] == "light"


def test_changing_threads_while_a_model_is_loaded_offers_a_reload(qtbot, chat_window, file_token) -> None:
    w = chat_window
    dialog = w.open_settings()
    dialog.threads.setValue(1)
    dialog.accept()
    banner = next(b for b in w.notices.banners() if b.notice.key == "reload-settings")
    with qtbot.waitSignal(w.chat.controller.engine_started, timeout=LOAD_MS) as started:
        qtbot.mouseClick(banner.buttons[0], Qt.MouseButton.LeftButton)
    assert started.args[1]["n_threads"] == 1


def test_token_file_is_replaced_not_appended(file_token) -> None:
    assert secrets.set_hf_token("hf_one") == "file"
    assert secrets.set_hf_token("hf_two") == "file"
    assert secrets.token_file().read_text() == "hf_two"
    assert secrets.set_hf_token("") == "removed" and secrets.get_hf_token() is None


def test_a_missing_last_model_leaves_the_picker_waiting(qtbot, open_window, tiny_models) -> None:
    ctx = AppContext()
    from tests.gui.conftest import register_tiny

    register_tiny(ctx, tiny_models)
    ctx.settings.update(last_model="gone:TQ2_0")
    w = open_window(ctx, wait_ready=False)
    assert w.chat.controller.choice is None and not w.chat.controller.loading
    assert w.chat.header.picker.currentText() == "Choose a model…"
    assert not w.chat.composer.button.isEnabled()
    assert w.chat.view.empty.title.text() == "Choose a model to start"
