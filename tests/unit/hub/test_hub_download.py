"""Downloads into the HF cache: verified, resumable, cancellable, refused early when they cannot work."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path

import pytest
from huggingface_hub import try_to_load_from_cache

from backend.hub import Progress, download_model, pending_downloads
from backend.hub.cache import quarantine_dir, repo_dir
from backend.hub.download import discard_partial
from backend.hub.errors import (
    AuthRequired,
    Cancelled,
    ChecksumMismatch,
    DiskFull,
    DownloadInterrupted,
    HubOffline,
    NotRunnable,
    RateLimited,
)
from backend.models.registry import Registry, UnknownModel
from backend.store import Store
from tests.support import hub_repos
from tests.support.hub_server import HubServer

FILE = "tiny-TQ2_0.gguf"


@pytest.fixture()
def registry(tern_home: Path) -> Registry:
    return Registry(Store(tern_home / "t.sqlite3"))


def hf_cache() -> Path:
    return Path(os.environ["HF_HOME"]) / "hub"


def served(hub: HubServer, name: str = FILE, repo: str = hub_repos.TERNARY) -> Path:
    return hub.file(repo, name).path


def test_download_lands_in_the_hf_cache_verified_and_registered(local_hub: HubServer, registry: Registry) -> None:
    seen: list[Progress] = []
    result = download_model(registry, hub_repos.TERNARY, FILE, progress=seen.append)
    v = result.variant
    assert (v.model_name, v.encoding, v.source, v.verified) == ("tiny", "TQ2_0", "hub", True)
    expected = hashlib.sha256(served(local_hub).read_bytes()).hexdigest()
    assert v.sha256 == expected and v.path.read_bytes() == served(local_hub).read_bytes()
    # huggingface_hub's own cache lookup finds the file: other tools share it
    found = try_to_load_from_cache(hub_repos.TERNARY, FILE, cache_dir=hf_cache())
    assert found is not None and Path(found) == v.path
    assert (repo_dir(hf_cache(), hub_repos.TERNARY) / "blobs" / expected).is_file()
    assert registry.resolve("tiny") == v.path
    assert seen[-1].phase == "done" and seen[-1].done_bytes == seen[-1].total_bytes == v.file_bytes
    assert [p.done_bytes for p in seen] == sorted(p.done_bytes for p in seen)
    assert pending_downloads() == []


def test_progress_reports_speed_and_eta_and_cancel_keeps_the_partial(local_hub: HubServer,
                                                                     registry: Registry) -> None:
    local_hub.throttle_bps = 400_000  # ≈1.6 s for the 600 KB file
    cancel = threading.Event()
    seen: list[Progress] = []

    def watch(p: Progress) -> None:
        seen.append(p)
        if p.done_bytes > 250_000:
            cancel.set()

    with pytest.raises(Cancelled, match="paused"):
        download_model(registry, hub_repos.TERNARY, FILE, progress=watch, cancel=cancel)
    measured = [p for p in seen if p.speed_bps]
    assert measured and all(p.eta_s is not None and p.eta_s > 0 for p in measured)
    assert 100_000 < measured[-1].speed_bps < 2_000_000  # paced at 400 kB/s
    [pending] = pending_downloads()
    have = pending.have_bytes
    assert pending.filename == FILE and 250_000 <= have < pending.size
    assert registry.models() == []  # nothing half-downloaded is a model

    local_hub.throttle_bps = None
    local_hub.reset()
    result = download_model(registry, hub_repos.TERNARY, FILE)
    assert result.files[0].resumed_from == have and result.downloaded_bytes == pending.size - have
    [get] = [r for r in local_hub.requests("cdn") if r.range_start is not None and r.range_start > 0]
    assert get.range_start == have
    assert result.variant.verified and pending_downloads() == []


def test_dropped_connection_resumes_where_it_stopped(local_hub: HubServer, registry: Registry) -> None:
    local_hub.drop_after(hub_repos.TERNARY, FILE, 200_000, times=1)
    result = download_model(registry, hub_repos.TERNARY, FILE)
    gets = [r for r in local_hub.requests("cdn") if r.method == "GET" and r.range_start != 0]
    assert [r.range_start for r in gets] == [None, 200_000]  # the whole file, then the rest from byte 200000
    assert result.variant.verified and result.files[0].resumed_from == 0


def test_drop_without_retries_keeps_the_partial_for_the_next_run(local_hub: HubServer, registry: Registry) -> None:
    local_hub.drop_after(hub_repos.TERNARY, FILE, 300_000, times=1)
    with pytest.raises(DownloadInterrupted, match="300,000 of") as e:
        download_model(registry, hub_repos.TERNARY, FILE, retries=0)
    assert "resumes" in e.value.hint
    [pending] = pending_downloads()
    assert pending.have_bytes == 300_000
    result = download_model(registry, hub_repos.TERNARY, FILE, retries=0)
    assert result.files[0].resumed_from == 300_000 and result.variant.verified


def test_discarding_a_partial_frees_it(local_hub: HubServer, registry: Registry) -> None:
    local_hub.drop_after(hub_repos.TERNARY, FILE, 100_000, times=1)
    with pytest.raises(DownloadInterrupted):
        download_model(registry, hub_repos.TERNARY, FILE, retries=0)
    assert discard_partial(hub_repos.TERNARY) == 100_000
    assert pending_downloads() == [] and not list((repo_dir(hf_cache(), hub_repos.TERNARY) / "blobs").iterdir())


def test_sha_mismatch_quarantines_and_a_new_download_replaces_it(local_hub: HubServer, registry: Registry) -> None:
    local_hub.wrong_sha(hub_repos.TERNARY, FILE)
    with pytest.raises(ChecksumMismatch) as e:
        download_model(registry, hub_repos.TERNARY, FILE)
    assert "quarantined" in str(e.value) and "Download it again" in e.value.hint
    assert Path(e.value.quarantine_path).parent == quarantine_dir() and Path(e.value.quarantine_path).exists()
    assert not list((repo_dir(hf_cache(), hub_repos.TERNARY) / "blobs").glob("*"))  # nothing usable in the cache
    [v] = registry.find("tiny").variants  # type: ignore[union-attr]
    assert v.quarantined and not v.usable
    with pytest.raises(UnknownModel, match="no usable"):
        registry.resolve("tiny")

    local_hub.reset()
    result = download_model(registry, hub_repos.TERNARY, FILE)
    [v] = registry.find("tiny").variants  # type: ignore[union-attr]
    assert v.id == result.variant.id and v.usable and v.verified
    assert not Path(e.value.quarantine_path).exists()


def test_not_enough_disk_is_refused_before_any_byte(local_hub: HubServer, registry: Registry) -> None:
    with pytest.raises(DiskFull) as e:
        download_model(registry, hub_repos.ENORMOUS, "enormous-TQ2_0.gguf")
    assert "1000000.00 GB" in str(e.value) and "GB free" in str(e.value) and e.value.needed == 10**15
    assert local_hub.requests("cdn") == [] and not repo_dir(hf_cache(), hub_repos.ENORMOUS).exists()


@pytest.mark.parametrize(("repo", "filename", "why"), [
    (hub_repos.I2S, "ggml-model-i2_s.gguf", "cannot be converted here: linear weight blk.0.attn_k.weight"),
    (hub_repos.ARCH, "odd-arch-TQ2_0.gguf", "unsupported architecture"),
    (hub_repos.NOT_GGUF, "model.gguf", "not a usable GGUF"),
])
def test_files_that_cannot_run_are_refused_after_reading_only_the_header(
        local_hub: HubServer, registry: Registry, repo: str, filename: str, why: str) -> None:
    with pytest.raises(NotRunnable, match=re.escape(why)):
        download_model(registry, repo, filename)
    size = local_hub.file(repo, filename).real_size
    fetched = sum(r.body_bytes for r in local_hub.requests(path_contains=filename) if r.status in (200, 206))
    assert fetched <= min(size, 256 * 1024) and not (repo_dir(hf_cache(), repo) / "blobs").exists()
    assert registry.models() == []


def test_a_split_model_downloads_every_part_as_one_model(local_hub: HubServer, registry: Registry) -> None:
    result = download_model(registry, hub_repos.SPLIT)  # no file named: the repo's only model
    parts = sorted(local_hub.repos[hub_repos.SPLIT].files)
    assert [f.filename for f in result.files] == parts
    assert all((result.variant.path.parent / p).is_file() for p in parts)
    assert result.variant.file_bytes == sum(f.real_size for f in local_hub.repos[hub_repos.SPLIT].files.values())
    assert [m.name for m in registry.models()] == ["tiny-split"]


def test_gated_repo_needs_a_token_and_the_cdn_never_sees_it(local_hub: HubServer, registry: Registry) -> None:
    with pytest.raises(AuthRequired, match="token"):
        download_model(registry, hub_repos.GATED)
    result = download_model(registry, hub_repos.GATED, token=hub_repos.TOKEN)
    assert result.variant.verified
    assert not any(r.auth for r in local_hub.requests("cdn"))


def test_rate_limited_and_offline_downloads_say_what_to_do(local_hub: HubServer, registry: Registry,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    local_hub.fail(hub_repos.TERNARY, 429, where="/resolve/")
    with pytest.raises(RateLimited, match="Wait 30 s"):
        download_model(registry, hub_repos.TERNARY, FILE)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubOffline):
        download_model(registry, hub_repos.TERNARY, FILE)


def test_a_server_that_ignores_range_still_gives_a_verified_file(local_hub: HubServer, registry: Registry) -> None:
    local_hub.drop_after(hub_repos.TERNARY, FILE, 150_000, times=1)
    local_hub.ignore_range = True
    result = download_model(registry, hub_repos.TERNARY, FILE)
    assert result.variant.verified and result.variant.path.read_bytes() == served(local_hub).read_bytes()


def test_a_file_listed_without_sha256_is_recorded_unverified_and_never_said_to_be_checked(
        local_hub: HubServer, registry: Registry) -> None:
    local_hub.hide_sha(hub_repos.TERNARY, FILE)
    seen: list[Progress] = []
    result = download_model(registry, hub_repos.TERNARY, FILE, progress=seen.append)
    assert result.variant.verified is False and result.to_dict()["verified"] is False
    assert result.variant.path.read_bytes() == served(local_hub).read_bytes()
    phases = {p.phase for p in seen}
    assert "verify" not in phases and "hash" in phases  # read to record its sha256, not checked against one
    assert result.variant.sha256 == hashlib.sha256(served(local_hub).read_bytes()).hexdigest()
