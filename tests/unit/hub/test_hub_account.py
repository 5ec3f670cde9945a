"""Settings' token test: who a token belongs to, asked of the configured Hub (the local stand-in)."""

from __future__ import annotations

import pytest

from backend.hub.account import TokenRejected, whoami
from backend.hub.errors import HubOffline, HubServerError
from tests.support import hub_repos
from tests.support.hub_server import HubServer


def test_a_good_token_says_whose_it_is_on_the_configured_endpoint(local_hub: HubServer) -> None:
    who = whoami(hub_repos.TOKEN)
    assert (who.name, who.token_name, who.role, who.endpoint) == ("tern-tester", "tern-test-token", "read",
                                                                  local_hub.url)
    assert who.describe() == f"belongs to 'tern-tester' (token 'tern-test-token', read access) on {local_hub.url}"
    [req] = local_hub.requests("api", "/api/whoami-v2")
    assert req.auth


def test_a_wrong_token_is_rejected_with_what_to_do(local_hub: HubServer) -> None:
    with pytest.raises(TokenRejected, match=r"does not accept this token \(HTTP 401\)") as e:
        whoami("hf_not_the_right_one")
    assert local_hub.url in str(e.value) and "new read token" in e.value.hint
    with pytest.raises(TokenRejected, match="no token"):
        whoami("  ")


def test_offline_unreachable_and_failing_hubs_say_so(local_hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    local_hub.fail(None, 503, where="whoami")
    with pytest.raises(HubServerError, match="HTTP 503"):
        whoami(hub_repos.TOKEN)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubOffline, match="Offline mode"):
        whoami(hub_repos.TOKEN)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(HubOffline, match="cannot be reached"):
        whoami(hub_repos.TOKEN)


def test_a_hostile_account_name_is_shown_escaped(local_hub: HubServer) -> None:
    local_hub.account = "evil\x1b[2J\u202e"
    try:
        text = whoami(hub_repos.TOKEN).describe()
    finally:
        local_hub.account = "tern-tester"
    assert "\x1b" not in text and "\u202e" not in text and "evil\\x1b[2J\\u202e" in text
