"""Settings' token row: Show, Test (the Hub's whoami, off the GUI thread) and where the token is kept."""

from __future__ import annotations

import keyring
import pytest
from keyrings.alt.file import PlaintextKeyring
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from app import secrets
from tests.support import hub_repos


class RankedFileKeyring(PlaintextKeyring):
    """A real file-backed keyring backend that ranks like an OS keyring."""

    priority = 5  # type: ignore[assignment]


@pytest.fixture()
def file_keyring(monkeypatch, tmp_path):
    monkeypatch.setenv("TERN_KEYRING", "1")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    before = keyring.get_keyring()
    keyring.set_keyring(RankedFileKeyring())
    yield
    keyring.set_keyring(before)


def settings(qtbot, w):
    dialog = w.open_settings()
    qtbot.waitUntil(lambda: dialog.token_row.is_loaded, timeout=5000)
    return dialog, dialog.token_row


def test_show_toggles_the_tokens_visibility(qtbot, open_window) -> None:
    w = open_window(wait_ready=False)
    dialog, row = settings(qtbot, w)
    row.field.setText("hf_visible_or_not")
    assert row.field.echoMode() == QLineEdit.EchoMode.Password and row.show_button.text() == "Show"
    qtbot.mouseClick(row.show_button, Qt.MouseButton.LeftButton)
    assert row.field.echoMode() == QLineEdit.EchoMode.Normal and row.show_button.text() == "Hide"
    qtbot.mouseClick(row.show_button, Qt.MouseButton.LeftButton)
    assert row.field.echoMode() == QLineEdit.EchoMode.Password
    dialog.reject()


def test_test_asks_the_configured_hub_off_the_gui_thread_and_says_whose_token_it_is(qtbot, open_window,
                                                                                    local_hub) -> None:
    local_hub.whoami_delay = 1.0
    w = open_window(wait_ready=False)
    dialog, row = settings(qtbot, w)
    assert not row.test_button.isEnabled()  # nothing to test yet
    row.field.setText(hub_repos.TOKEN)
    with qtbot.waitSignal(row.tested, timeout=10_000) as answer:
        qtbot.mouseClick(row.test_button, Qt.MouseButton.LeftButton)
        # the click returned before the Hub answered: the question runs on another thread
        assert row.result.text() == f"Asking {local_hub.url} whose token this is…"
        assert not row.test_button.isEnabled()
    assert answer.args[0] is True
    assert row.result.text() == (f"✓ This token belongs to 'tern-tester' (token 'tern-test-token', read access) "
                                 f"on {local_hub.url}.")
    local_hub.whoami_delay = 0.0
    row.field.setText("hf_wrong")
    with qtbot.waitSignal(row.tested, timeout=10_000) as answer:
        qtbot.mouseClick(row.test_button, Qt.MouseButton.LeftButton)
    assert answer.args[0] is False and row.result.text().startswith("✗ ")
    assert "does not accept this token (HTTP 401)" in row.result.text()
    assert secrets.get_hf_token() is None  # testing stores nothing
    dialog.reject()


def test_settings_says_the_keyring_holds_the_token(qtbot, open_window, file_keyring) -> None:
    w = open_window(wait_ready=False)
    dialog, row = settings(qtbot, w)
    assert row.where.text() == ("No token saved. One you enter is kept in the keyring backend "
                                f"{__name__}.RankedFileKeyring.")
    row.field.setText(hub_repos.TOKEN)
    with qtbot.waitSignal(dialog.finished, timeout=5000):
        dialog.accept()
    assert RankedFileKeyring().get_password(secrets.SERVICE, secrets.ACCOUNT) == hub_repos.TOKEN
    assert not secrets.token_file().exists()
    dialog, row = settings(qtbot, w)
    assert row.field.text() == hub_repos.TOKEN
    assert row.where.text() == f"Kept in the keyring backend {__name__}.RankedFileKeyring."
    dialog.reject()


def test_settings_says_the_private_file_holds_the_token_when_there_is_no_keyring(qtbot, open_window) -> None:
    w = open_window(wait_ready=False)  # conftest: TERN_KEYRING=0, as with no keyring at all
    dialog, row = settings(qtbot, w)
    row.field.setText(hub_repos.TOKEN)
    with qtbot.waitSignal(dialog.finished, timeout=5000):
        dialog.accept()
    dialog, row = settings(qtbot, w)
    assert row.where.text() == f"Kept in a file only you can read ({secrets.token_file()})."
    dialog.reject()
