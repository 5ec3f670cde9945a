"""Who a Hugging Face token belongs to: the Hub's `whoami-v2`, asked once, for Settings' Test button.

One request to HF_ENDPOINT's `/api/whoami-v2` with the token (the same endpoint `HfApi.whoami`
calls), without huggingface_hub's retry loop: a person who pressed Test wants an answer in
seconds. The answer is network data: every field is type-checked and shown through `printable`.
Blocks; run it off the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from huggingface_hub.utils import get_session

from backend.hub.env import HubEnv
from backend.hub.errors import HubError, HubServerError, from_exception, offline_error
from backend.hub.names import printable

TIMEOUT = 10.0


class TokenRejected(HubError):
    """The Hub does not accept the token (HTTP 401/403)."""

    code = "token_rejected"


@dataclass(frozen=True)
class Account:
    name: str
    kind: str  # "user" | "org" | …
    token_name: str | None
    role: str | None  # "read" | "write" | "fineGrained"
    endpoint: str

    def describe(self) -> str:
        """"belongs to alice (token “laptop”, read access) on https://…" — names shown escaped."""
        token = f"token {printable(self.token_name)}" if self.token_name else "a token"
        role = {"read": "read access", "write": "write access", "fineGrained": "fine-grained access"}.get(
            self.role or "", f"{printable(self.role)} access" if self.role else "access unknown")
        return f"belongs to {printable(self.name)} ({token}, {role}) on {self.endpoint}"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def whoami(token: str, env: HubEnv | None = None) -> Account:
    """The account `token` belongs to on the configured Hub. Raises TokenRejected, HubOffline,
    HubServerError or HubError — each saying what happened."""
    env = env or HubEnv.current(token)
    token = token.strip()
    if not token:
        raise TokenRejected("There is no token to test.", "Paste a token from your Hugging Face settings first.")
    if env.offline:
        raise offline_error("Offline mode is on, so the token cannot be tested.")
    url = f"{env.endpoint}/api/whoami-v2"
    try:
        r = get_session().get(url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
    except Exception as e:  # noqa: BLE001 - network failures become a user-facing HubError
        raise from_exception(e, "the token test", None, True, env.endpoint) from e
    if r.status_code in (401, 403):
        raise TokenRejected(f"{env.endpoint} does not accept this token (HTTP {r.status_code}): it is mistyped, "
                            "expired or revoked.", "Create a new read token in your Hugging Face settings and "
                                                    "paste it here.")
    if r.status_code >= 500:
        raise HubServerError(f"{env.endpoint} failed to answer (HTTP {r.status_code}).",
                             "This is on the Hub's side; try again in a few minutes.")
    if r.status_code != 200:
        raise HubError(f"{env.endpoint} refused the question (HTTP {r.status_code}).")
    try:
        data = r.json()
    except ValueError:
        data = None
    name = _text(data.get("name")) if isinstance(data, dict) else None
    if name is None:
        raise HubError(f"{env.endpoint} answered, but not with an account.",
                       "Check HF_ENDPOINT: it may not point at a Hugging Face Hub.")
    auth = data.get("auth") if isinstance(data.get("auth"), dict) else {}
    access = auth.get("accessToken") if isinstance(auth.get("accessToken"), dict) else {}
    return Account(name, _text(data.get("type")) or "user", _text(access.get("displayName")),
                   _text(access.get("role")), env.endpoint)
