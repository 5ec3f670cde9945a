"""Repo listings and search against the local Hub: what a person sees before choosing a file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from backend.hub import search
from backend.hub.api import repo_listing
from backend.hub.errors import AuthRequired, HubOffline, RateLimited, RepoNotFound
from tests.support import hub_repos
from tests.support.hub_server import HubServer


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_listing_has_exact_sizes_and_the_sha256_of_the_served_bytes(local_hub: HubServer) -> None:
    listing = repo_listing(hub_repos.TERNARY)
    served = local_hub.file(hub_repos.TERNARY, "tiny-TQ2_0.gguf").path
    f = listing.file("tiny-TQ2_0.gguf")
    assert f.size == served.stat().st_size
    assert f.sha256 == sha256(served)
    assert f.encoding_hint == "TQ2_0"
    assert listing.commit == local_hub.repos[hub_repos.TERNARY].commit
    assert listing.license == "mit"
    assert {g.name for g in listing.gguf_files} == {"tiny-TQ2_0.gguf", "tiny-TQ1_0.gguf"}
    assert listing.file("README.md").sha256 is None  # small git file: no LFS record


def test_split_parts_are_grouped_in_order(local_hub: HubServer) -> None:
    listing = repo_listing(hub_repos.SPLIT)
    parts = listing.parts_of("tiny-split-TQ2_0-00002-of-00003.gguf")
    assert [p.split[1] for p in parts] == [1, 2, 3]  # type: ignore[index]


def test_search_lists_each_hits_gguf_files_with_sizes(local_hub: HubServer) -> None:
    hits = search("tiny-")
    by_repo = {h.repo: h for h in hits}
    assert set(by_repo) == {hub_repos.TERNARY, hub_repos.SPLIT}
    sizes = {f.name: f.size for f in by_repo[hub_repos.TERNARY].files}
    assert sizes["tiny-TQ1_0.gguf"] == local_hub.file(hub_repos.TERNARY, "tiny-TQ1_0.gguf").path.stat().st_size
    assert "README.md" not in sizes  # GGUF files only


def test_empty_search_uses_the_ternary_terms_and_skips_non_gguf_repos(local_hub: HubServer) -> None:
    hits = search("", with_files=False)
    repos = [h.repo for h in hits]
    assert hub_repos.I2S in repos and hub_repos.TERNARY in repos  # found by "bitnet" and "ternary"
    assert hub_repos.NOT_GGUF not in repos
    downloads = [h.downloads for h in hits]
    assert downloads == sorted(downloads, reverse=True)
    queries = [r.query for r in local_hub.requests("api", "/api/models") if r.path == "/api/models"]
    assert len(queries) == 6 and sum("filter=gguf" in q for q in queries) == 5
    assert sum("filter=bitnet" in q for q in queries) == 1  # ternary safetensors repos, converted here


def test_a_missing_repo_is_named_in_the_error(local_hub: HubServer) -> None:
    with pytest.raises(AuthRequired, match="tern-test/no-such-repo") as e:  # the Hub answers 401 to anonymous
        repo_listing("tern-test/no-such-repo")
    assert "Check the spelling" in e.value.hint
    with pytest.raises(RepoNotFound, match="no model repo 'tern-test/no-such-repo'"):
        repo_listing("tern-test/no-such-repo", token="hf_any")


def test_rate_limit_says_how_long_to_wait(local_hub: HubServer) -> None:
    local_hub.fail(hub_repos.TERNARY, 429)
    with pytest.raises(RateLimited) as e:
        repo_listing(hub_repos.TERNARY)
    assert e.value.retry_after == 30 and "Wait 30 s" in str(e.value) and hub_repos.TERNARY in str(e.value)
    local_hub.fail(None, 429, where="/api/models")
    with pytest.raises(RateLimited, match="rate-limiting"):
        search("tiny", with_files=False)


def test_offline_mode_asks_nothing_and_says_why(local_hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubOffline, match="HF_HUB_OFFLINE") as e:
        search("tiny")
    assert "Local models keep working" in str(e.value)
    with pytest.raises(HubOffline):
        repo_listing(hub_repos.TERNARY)
    assert local_hub.requests() == []


def test_unreachable_hub_is_offline_not_a_traceback() -> None:
    # tern_home points HF_ENDPOINT at a closed port
    with pytest.raises(HubOffline, match="cannot be reached"):
        search("bitnet")


def test_nothing_but_the_configured_endpoint_is_contacted(local_hub: HubServer,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """huggingface_hub would fetch an "agent registry" from the endpoint it saw at import time."""
    import socket

    from huggingface_hub.utils import _detect_agent, close_session

    monkeypatch.setattr(_detect_agent, "_registry", None)  # as in a fresh process
    close_session()  # no pooled connections: every request resolves its host
    hosts: list[str] = []
    real = socket.getaddrinfo

    def spy(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        hosts.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", spy)
    repo_listing(hub_repos.TERNARY)
    search("tiny-")
    assert hosts and set(hosts) == {"127.0.0.1"}
