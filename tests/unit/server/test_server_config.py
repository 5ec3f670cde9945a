"""Safe by default: loopback without a key is fine; any other address needs one."""

from __future__ import annotations

import pytest

from backend.server.config import ServerConfig, ServerConfigError, is_loopback


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.9.1", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("myhost.local", False),
])
def test_which_hosts_are_this_computer_only(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_other_addresses_need_a_key() -> None:
    ServerConfig(host="127.0.0.1").check()
    with pytest.raises(ServerConfigError, match="without an API key"):
        ServerConfig(host="0.0.0.0").check()
    ServerConfig(host="0.0.0.0", api_key="long-enough-key").check()


@pytest.mark.parametrize(("change", "words"), [
    ({"api_key": "short"}, "at least 8"),
    ({"api_key": "has a space"}, "without spaces"),
    ({"cors_origins": ("localhost:3000",)}, "not a browser origin"),
    ({"port": 70000}, "not a TCP port"),
    ({"n_ctx": 16}, "too short"),
])
def test_bad_settings_are_refused_with_what_to_do(change: dict, words: str) -> None:
    with pytest.raises(ServerConfigError, match=words):
        ServerConfig(**change).check()


def test_base_url_brackets_ipv6() -> None:
    assert ServerConfig(host="::1", port=9000).base_url() == "http://[::1]:9000/v1"
    assert ServerConfig().base_url(5555) == "http://127.0.0.1:5555/v1"
