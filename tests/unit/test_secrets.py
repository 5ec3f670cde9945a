"""The Hugging Face token goes to a keyring where there is one, else to a 0600 file — and Tern says which.

The keyrings here are real keyring backends, going through the `keyring` package's own API:
keyrings.alt's PlaintextKeyring (a file in XDG_DATA_HOME), once chosen the way a user chooses a
backend (PYTHON_KEYRING_BACKEND) and once as a subclass ranking like an OS keyring; keyring's
`fail` backend where none exists; one that refuses to store, like a locked keyring.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.core
import pytest
from keyring.backends import fail
from keyring.errors import PasswordSetError
from keyrings.alt.file import PlaintextKeyring

from app import secrets

TOKEN = "hf_keyring_test_token_42"


class RankedFileKeyring(PlaintextKeyring):
    """A file-backed backend that ranks like an OS keyring (Secret Service, Keychain: priority 5)."""

    priority = 5  # type: ignore[assignment]


class LockedKeyring(RankedFileKeyring):
    """A keyring that refuses to store, as a locked or unreachable one does."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise PasswordSetError("the collection is locked")


def in_keyring_file() -> str | None:
    """What a fresh reader of keyrings.alt's file (XDG_DATA_HOME) finds under Tern's entry."""
    return PlaintextKeyring().get_password(secrets.SERVICE, secrets.ACCOUNT)


@pytest.fixture()
def use_keyring(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Let Tern use the keyring (conftest turns it off); keyring's files live in tmp_path."""
    monkeypatch.setenv("TERN_KEYRING", "1")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))  # no keyringrc.cfg of the developer's
    before = keyring.get_keyring()
    yield tmp_path / "xdg-data" / "python_keyring" / "keyring_pass.cfg"
    keyring.set_keyring(before)


def test_a_backend_the_user_chose_holds_the_token_and_settings_names_it(use_keyring: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    keyring.core.init_backend()  # what keyring does at start: read the user's choice
    assert secrets.location() is None
    assert secrets.set_hf_token(TOKEN) == "keyring"
    assert use_keyring.exists() and in_keyring_file() == TOKEN  # in the keyring's own file
    assert not secrets.token_file().exists()  # and only there
    assert secrets.get_hf_token() == TOKEN
    where = secrets.location()
    assert where == secrets.storage() == "the keyring backend keyrings.alt.file.PlaintextKeyring"
    assert secrets.set_hf_token("") == "removed" and in_keyring_file() is None
    assert secrets.get_hf_token() is None and secrets.location() is None


def test_a_keyring_ranked_like_an_os_keyring_is_used_without_being_chosen(use_keyring: Path) -> None:
    keyring.set_keyring(RankedFileKeyring())
    assert secrets.set_hf_token(TOKEN) == "keyring"
    assert in_keyring_file() == TOKEN and not secrets.token_file().exists()
    assert secrets.get_hf_token() == TOKEN


def test_a_low_ranked_keyring_nobody_chose_is_not_used(use_keyring: Path) -> None:
    """keyrings.alt's plaintext file ranks 0.5, below keyring's 'recommended' (1): the 0600 file is used."""
    keyring.set_keyring(PlaintextKeyring())
    assert secrets.set_hf_token(TOKEN) == "file"
    assert not use_keyring.exists() and secrets.get_hf_token() == TOKEN
    assert secrets.location() == f"a file only you can read ({secrets.token_file()})"


def test_without_a_keyring_the_token_goes_to_a_file_only_this_user_can_read(use_keyring: Path) -> None:
    keyring.set_keyring(fail.Keyring())
    assert secrets.storage() == f"a file only you can read ({secrets.token_file()})"
    assert secrets.set_hf_token(TOKEN) == "file"
    assert secrets.token_file().read_text() == TOKEN and secrets.get_hf_token() == TOKEN
    if sys.platform != "win32":
        assert stat.S_IMODE(os.stat(secrets.token_file()).st_mode) == 0o600
    assert secrets.location() == f"a file only you can read ({secrets.token_file()})"


def test_a_keyring_that_refuses_falls_back_to_the_file_and_says_so(use_keyring: Path) -> None:
    keyring.set_keyring(LockedKeyring())
    assert secrets.set_hf_token(TOKEN) == "file"
    assert secrets.get_hf_token() == TOKEN
    assert secrets.location() == f"a file only you can read ({secrets.token_file()})"


def test_a_token_saved_in_the_file_before_the_keyring_existed_is_still_found(use_keyring: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERN_KEYRING", "0")
    secrets.set_hf_token(TOKEN)  # an install without a keyring
    monkeypatch.setenv("TERN_KEYRING", "1")
    keyring.set_keyring(RankedFileKeyring())
    assert secrets.get_hf_token() == TOKEN
    assert secrets.location() == f"a file only you can read ({secrets.token_file()})"  # the truth, not the plan
    assert secrets.set_hf_token(TOKEN) == "keyring" and not secrets.token_file().exists()  # saving moves it


def test_keyring_is_a_dependency_and_goes_into_the_bundle() -> None:
    import tomllib

    root = Path(__file__).resolve().parents[2]
    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.startswith("keyring") for d in deps)
    sys.path.insert(0, str(root / "packaging"))
    try:
        import bundle_contents
    finally:
        sys.path.remove(str(root / "packaging"))
    assert any(r.startswith("keyring") for r in bundle_contents.bundle_requirements())
    hidden = set(bundle_contents.hiddenimports())
    assert {"keyring.backends.SecretService", "keyring.backends.macOS", "keyring.backends.Windows"} <= hidden
    assert "keyring" in bundle_contents.METADATA  # keyring finds its backends through its entry points
    spec = (root / "packaging" / "tern.spec").read_text()
    assert "copy_metadata" in spec and "bundle_contents.METADATA" in spec


def test_settings_names_each_os_keyring_as_a_person_knows_it() -> None:
    from keyring.backends import SecretService, Windows, kwallet, macOS

    names = [secrets.keyring_name(b()) for b in (SecretService.Keyring, macOS.Keyring, Windows.WinVaultKeyring,
                                                 kwallet.DBusKeyring)]
    assert names == ["the system keyring (Secret Service)", "the macOS Keychain", "Windows Credential Manager",
                     "the system keyring (KWallet)"]
