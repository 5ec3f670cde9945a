"""The Hugging Face token, kept out of settings.json and out of the logs.

Stored in the OS keyring — Secret Service (GNOME Keyring, KWallet) on Linux, the Keychain on
macOS, Credential Manager on Windows — through the `keyring` package when it finds one;
otherwise in a file in the config dir that only this user can read (mode 0600). A backend that
keyring ranks below "recommended" (priority < 1, such as keyrings.alt's plaintext file) is used
only when the user chose it (PYTHON_KEYRING_BACKEND or keyringrc.cfg). TERN_KEYRING=0 skips the
keyring (portable installs). The token itself is never logged: log lines say where it went.

Every function here may talk to a keyring daemon (which can wait for the user to unlock it):
the GUI calls them off its thread.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from backend.paths import paths

log = logging.getLogger("tern.secrets")
SERVICE = "Tern"
ACCOUNT = "huggingface-token"
FILE_NAME = "hf_token"
# What each OS keyring is called where a person would look for it.
_KNOWN = {
    "keyring.backends.SecretService": "the system keyring (Secret Service)",
    "keyring.backends.libsecret": "the system keyring (Secret Service)",
    "keyring.backends.kwallet": "the system keyring (KWallet)",
    "keyring.backends.macOS": "the macOS Keychain",
    "keyring.backends.Windows": "Windows Credential Manager",
}


def token_file() -> Path:
    return paths().config / FILE_NAME


def _chosen_by_user() -> bool:
    """The user named a keyring backend (environment or keyringrc.cfg), whatever its priority."""
    if os.environ.get("PYTHON_KEYRING_BACKEND"):
        return True
    try:
        from keyring.core import load_config

        return load_config() is not None
    except Exception:  # a broken config: keyring itself will say so
        return False


def _keyring() -> Any | None:
    """The keyring backend to use, or None (then the private file is used)."""
    if os.environ.get("TERN_KEYRING", "1").lower() in ("0", "no", "off", "false"):
        return None
    try:
        import keyring
        from keyring.backends import fail, null
    except Exception:  # not installed, or broken on this system
        return None
    try:
        backend = keyring.get_keyring()
        if isinstance(backend, (fail.Keyring, null.Keyring)):
            return None
        if backend.priority < 1 and not _chosen_by_user():  # below what keyring itself recommends
            return None
    except Exception:
        return None
    return backend


def keyring_name(backend: Any) -> str:
    """The keyring in words: "the macOS Keychain", "the system keyring (Secret Service)", …"""
    inner = getattr(backend, "backends", None)  # keyring's chainer: name the first that holds tokens
    if inner:
        backend = inner[0]
    module = type(backend).__module__
    for prefix, name in _KNOWN.items():
        if module.startswith(prefix):
            return name
    return f"the keyring backend {module}.{type(backend).__name__}"  # as PYTHON_KEYRING_BACKEND names it


def storage() -> str:
    """Where a token would be kept now, in words for the settings dialog."""
    kr = _keyring()
    return keyring_name(kr) if kr is not None else f"a file only you can read ({token_file()})"


def location() -> str | None:
    """Where the saved token is, in words ("the macOS Keychain", "a file only you can read (…)"),
    or None when none is saved."""
    kr = _keyring()
    if kr is not None:
        try:
            if kr.get_password(SERVICE, ACCOUNT):
                return keyring_name(kr)
        except Exception as e:
            log.warning("could not read the keyring (%s)", type(e).__name__)
    return f"a file only you can read ({token_file()})" if token_file().exists() else None


def get_hf_token() -> str | None:
    """The stored token, or None. The environment's HF_TOKEN is left to huggingface_hub itself."""
    kr = _keyring()
    if kr is not None:
        try:
            value = kr.get_password(SERVICE, ACCOUNT)
            if value:
                return str(value)
        except Exception as e:
            log.warning("could not read the token from the keyring (%s); trying the file", type(e).__name__)
    try:
        value = token_file().read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as e:
        log.warning("could not read the token file %s (%s)", token_file(), e.strerror)
        return None
    return value or None


def set_hf_token(token: str | None) -> str:
    """Store `token` (None or "" forgets it); returns where it went: "keyring", "file" or "removed".
    Raises OSError only when neither the keyring nor the private file could take it."""
    token = (token or "").strip()
    kr = _keyring()
    if not token:
        if kr is not None:
            try:
                kr.delete_password(SERVICE, ACCOUNT)
            except Exception:
                pass  # nothing stored there
        token_file().unlink(missing_ok=True)
        log.info("Hugging Face token removed")
        return "removed"
    if kr is not None:
        try:
            kr.set_password(SERVICE, ACCOUNT, token)
            token_file().unlink(missing_ok=True)  # one copy only
            log.info("Hugging Face token stored in %s", keyring_name(kr))
            return "keyring"
        except Exception as e:
            log.warning("the keyring refused the token (%s); storing it in a private file", type(e).__name__)
    _write_private(token_file(), token)
    log.info("Hugging Face token stored in %s (mode 0600)", token_file())
    return "file"


def _write_private(path: Path, text: str) -> None:
    """Write `text` so that only this user can read it, replacing the file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    if sys.platform != "win32":
        os.chmod(tmp, 0o600)  # whatever the umask said
    os.replace(tmp, path)
