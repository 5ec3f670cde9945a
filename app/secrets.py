"""The Hugging Face token, kept out of settings.json and out of the logs.

Stored in the OS keyring when the `keyring` package and a working backend are installed;
otherwise in a file in the config dir that only this user can read (mode 0600). Set
TERN_KEYRING=0 to skip the keyring (tests, portable installs). The token itself is never
logged: log lines say where it went, not what it is.
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


def token_file() -> Path:
    return paths().config / FILE_NAME


def _keyring() -> Any | None:
    """The keyring module if a real backend is available, else None."""
    if os.environ.get("TERN_KEYRING", "1").lower() in ("0", "no", "off", "false"):
        return None
    try:
        import keyring
        from keyring.backends import fail
    except Exception:  # not installed, or broken on this system
        return None
    try:
        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) <= 0:
            return None
    except Exception:
        return None
    return keyring


def storage() -> str:
    """Where a token is (or would be) kept, in words for the settings dialog."""
    if _keyring() is not None:
        return "the system keyring"
    return f"a file only you can read ({token_file()})"


def get_hf_token() -> str | None:
    """The stored token, or None. The environment's HF_TOKEN is left to huggingface_hub itself."""
    kr = _keyring()
    if kr is not None:
        try:
            value = kr.get_password(SERVICE, ACCOUNT)
            if value:
                return value
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
    """Store `token` (None or "" forgets it); returns where it went: "keyring", "file" or "removed"."""
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
            log.info("Hugging Face token stored in the keyring")
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
