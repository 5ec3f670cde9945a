"""`tern models download` says what is true: no "sha256 verified" without a sha256, and a hostile
listing is refused by name without touching the user's files."""

from __future__ import annotations

import os
from pathlib import Path

from tests.e2e.test_models_cli import events, tern
from tests.support import hub_repos
from tests.support.hub_server import HubServer

FILE = "tiny-TQ2_0.gguf"


def test_a_download_without_a_published_sha256_is_not_called_verified(local_hub: HubServer) -> None:
    local_hub.hide_sha(hub_repos.TERNARY, FILE)
    r = tern("models", "download", hub_repos.TERNARY, FILE)
    assert r.returncode == 0, r.stderr
    assert "sha256 verified" not in r.stdout and "not verified: the Hub lists no sha256 for it" in r.stdout
    [listed] = [e for e in events(tern("models", "list", "--json")) if e["event"] == "model"]
    assert [v["verified"] for v in listed["variants"]] == [False]


def test_a_verified_download_still_says_so(local_hub: HubServer) -> None:
    r = tern("models", "download", hub_repos.TERNARY, FILE)
    assert r.returncode == 0, r.stderr
    assert "sha256 verified" in r.stdout


def test_a_listing_naming_the_users_file_is_refused_and_the_file_survives(local_hub: HubServer,
                                                                         tmp_path: Path) -> None:
    victim = tmp_path / "victim" / "precious.gguf"
    victim.parent.mkdir()
    victim.write_bytes(b"mine, not a model\n" * 50)
    repo = "tern-test/hostile-cli"
    local_hub.add_repo(repo, {str(victim): local_hub.file(hub_repos.TERNARY, FILE).path}, tags=["gguf"],
                       temporary=True)
    r = tern("models", "download", repo, str(victim))
    assert r.returncode == 1
    assert repo in r.stderr and str(victim) in r.stderr and "absolute path" in r.stderr
    assert "Traceback" not in r.stderr
    assert not victim.is_symlink() and victim.read_bytes() == b"mine, not a model\n" * 50
    assert os.listdir(victim.parent) == ["precious.gguf"]
