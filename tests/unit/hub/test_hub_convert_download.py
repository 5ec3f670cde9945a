"""`download_model` on a source Tern converts: one call from the Hub listing to a registered TQ2_0 model.

Through the real path: the local Hub serves tiny repos in the real formats; the bytes are downloaded,
verified, converted, read back and registered. Bad input stops with the repo, the file and the reason,
registers nothing and leaves nothing half-written.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from backend.hub import Cancelled, DiskFull, DownloadInterrupted, HubError, NotRunnable, download_model
from backend.hub import source_files as sf
from backend.hub.convert_download import discard_sources
from backend.hub.env import HubEnv
from backend.hub.progress import Progress
from backend.models.convert import CONVERTER_VERSION, ConvertError
from backend.models.registry import Registry
from backend.store import Store
from tests.support import convert_repos as C
from tests.support.hub_server import HubServer
from tests.support.small_disk import run_on_small_disk, small_disk_unavailable


@pytest.fixture()
def registry(tern_home: Path) -> Registry:
    store = Store(tern_home / "tern.sqlite3")
    yield Registry(store)
    store.close()


def _cache_files(repo: str) -> list[Path]:
    folder = HubEnv.current(None).cache_dir / f"models--{repo.replace('/', '--')}"
    return sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink()) if folder.exists() else []


def _converted(tern_home: Path) -> list[Path]:
    folder = tern_home / "data" / "models" / "converted"
    return sorted(folder.iterdir()) if folder.exists() else []


def _weights_downloaded(hub: HubServer, repo: str) -> bool:
    """Whether any request fetched the weights' bytes past their header (an open-ended GET)."""
    return any(r.method == "GET" and r.listener == "cdn" and not (r.range or "").split("-")[-1]
               for r in hub.requests("cdn", f"{repo.replace('/', '%2F')}/{C.WEIGHTS}"))


def test_a_packed_repo_downloads_converts_verifies_and_registers_with_provenance(
        local_hub: HubServer, registry: Registry, tern_home: Path) -> None:
    seen: list[Progress] = []
    r = download_model(registry, C.CHAT, progress=seen.append)
    v = r.variant
    assert r.converted and v.encoding == "TQ2_0" and v.source == "converted" and v.usable and v.verified
    assert v.model_name == "chat-1.58bit" and v.source_repo == C.CHAT and v.source_file == C.WEIGHTS
    assert Path(v.path).parent == tern_home / "data" / "models" / "converted"
    conv = v.info["converted"]
    hosted = local_hub.repos[C.CHAT]
    assert conv["source"] == C.CHAT and conv["revision"] == hosted.commit
    assert conv["converter_version"] == CONVERTER_VERSION and conv["kind"] == "packed-bitlinear"
    assert conv["source_files"] == {n: f.sha256 for n, f in hosted.files.items()}  # every file, hashed and checked
    small = {n for n, f in hosted.files.items() if not f.lfs}
    assert small and all(conv["source_checks"][n] == "git blob id (Hub listing)" for n in small)
    assert all(conv["source_checks"][n] == "sha256 (Hub listing)" for n in set(hosted.files) - small)
    # one progress display across the stages, in order, ending with the verification
    stages = [p.stage for p in seen]
    assert stages[0] == "download" and "convert" in stages and stages[-1] == "verify"
    assert stages == sorted(stages, key=["download", "convert", "verify"].index)
    assert {p.stage_count for p in seen} == {3}
    dl = [p for p in seen if p.stage == "download"]
    assert dl[-1].done_bytes == dl[-1].total_bytes == sum(f.size for f in hosted.files.values())
    # the source is removed after a verified conversion (the default), and so is Tern's note of it
    assert r.source_removed and _cache_files(C.CHAT) == [] or all(p.name == "main" for p in _cache_files(C.CHAT))
    assert sf.noted(C.CHAT) == {}
    assert _converted(tern_home) == [Path(v.path)]  # no .part left


def test_keep_source_keeps_the_download_and_a_second_conversion_is_refused_before_any_byte(
        local_hub: HubServer, registry: Registry) -> None:
    r = download_model(registry, C.BITNET, keep_source=True)
    assert r.variant.info["converted"]["source_kept"] is True and r.source_removed == []
    kept = {p.name for p in _cache_files(C.BITNET)}
    assert {C.WEIGHTS, "config.json", "tokenizer.json"} <= kept
    assert sf.noted(C.BITNET) == {}  # kept files are the user's: never removed by Tern later
    local_hub.reset()
    with pytest.raises(HubError, match="already has bitnet-b1.58-2b-4t-shaped:tq2_0"):
        download_model(registry, C.BITNET)
    assert not [r for r in local_hub.requests("cdn") if r.method == "GET"]


def test_a_sharded_repo_is_one_model_under_the_name_the_catalog_gives_it(local_hub: HubServer,
                                                                        registry: Registry) -> None:
    from backend.hub import inspect_remote

    ins = inspect_remote(C.SHARDED, C.WEIGHTS)  # "model.safetensors" stands for the repo's weights
    assert ins.verdict.converts and ins.requests == 1 + 2 * 2  # config.json, then 8 bytes + header per shard
    r = download_model(registry, C.SHARDED, C.WEIGHTS)
    conv = r.variant.info["converted"]
    shards = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}
    assert shards <= set(conv["source_files"]) and "model.safetensors.index.json" in conv["source_files"]
    assert r.variant.source_file == C.WEIGHTS  # the catalog's row shows it as downloaded


def test_an_i2s_gguf_is_repacked_and_registered(local_hub: HubServer, registry: Registry) -> None:
    r = download_model(registry, C.CHAT_GGUF, C.I2S_FILE)
    v = r.variant
    assert r.converted and v.encoding == "TQ2_0" and v.source_file == C.I2S_FILE
    conv = v.info["converted"]
    sha = local_hub.file(C.CHAT_GGUF, C.I2S_FILE).sha256
    assert conv["kind"] == "i2_s" and conv["source_files"] == {C.I2S_FILE: sha}
    assert conv["source_checks"] == {C.I2S_FILE: "sha256 (Hub listing)"}
    assert _cache_files(C.CHAT_GGUF) == [] or all(p.name == "main" for p in _cache_files(C.CHAT_GGUF))


@pytest.mark.parametrize(("repo", "words"), [
    (C.NOT_256, "hidden size 320 is not a multiple of 256"),
    (C.LYING, "the header lies about shape or dtype"),
    (C.NO_TOKENIZER, "no tokenizer.json"),
    (C.I2S_SIZE, "I2_S tensor blk.0.attn_q.weight"),
])
def test_a_repo_that_cannot_convert_is_refused_before_any_byte(local_hub: HubServer, registry: Registry,
                                                               tern_home: Path, repo: str, words: str) -> None:
    with pytest.raises(NotRunnable) as e:
        download_model(registry, repo)
    assert str(e.value).startswith(f"Tern will not download {repo}/") and words in str(e.value)
    assert registry.models() == [] and _cache_files(repo) == [] and _converted(tern_home) == []


def test_a_tokenizer_that_cannot_be_read_stops_before_the_weights(local_hub: HubServer, registry: Registry,
                                                                  tern_home: Path) -> None:
    with pytest.raises(ConvertError) as e:
        download_model(registry, C.BROKEN_TOKENIZER)
    assert C.BROKEN_TOKENIZER in str(e.value) and "tokenizer.json" in str(e.value)
    assert not _weights_downloaded(local_hub, C.BROKEN_TOKENIZER)
    assert registry.models() == [] and _converted(tern_home) == []
    assert _cache_files(C.BROKEN_TOKENIZER) == [] or all(p.name == "main" for p in _cache_files(C.BROKEN_TOKENIZER))


def test_cancel_during_the_conversion_keeps_nothing_of_it(local_hub: HubServer, registry: Registry,
                                                          tern_home: Path) -> None:
    cancel = threading.Event()
    part_seen: list[bool] = []

    def progress(p: Progress) -> None:
        if p.stage == "convert" and p.phase == "convert" and not cancel.is_set():
            part_seen.append(any(x.suffix == ".part" for x in _converted(tern_home)))
            cancel.set()

    with pytest.raises(Cancelled, match="nothing of it was kept"):
        download_model(registry, C.CHAT, progress=progress, cancel=cancel)
    assert part_seen == [True]  # it was cancelled with a half-written file on disk…
    assert _converted(tern_home) == [] and registry.models() == []  # …which is gone, and nothing registered
    assert {p.name for p in _cache_files(C.CHAT)} >= {C.WEIGHTS}  # the verified download stays…
    weights = local_hub.file(C.CHAT, C.WEIGHTS).size
    freed = discard_sources(C.CHAT)  # …until the download is cancelled for good
    assert freed >= weights and all(p.name == "main" for p in _cache_files(C.CHAT))


def test_a_dropped_download_resumes_and_then_converts(local_hub: HubServer, registry: Registry) -> None:
    size = local_hub.file(C.BITNET, C.WEIGHTS).size
    local_hub.drop_after(C.BITNET, C.WEIGHTS, size // 2, times=1)
    with pytest.raises(DownloadInterrupted):
        download_model(registry, C.BITNET, retries=0)
    assert registry.models() == []
    r = download_model(registry, C.BITNET)
    assert r.converted and r.variant.usable
    resumed = [f for f in r.files if f.filename == C.WEIGHTS][0]
    assert resumed.resumed_from == size // 2


@pytest.mark.skipif(small_disk_unavailable() is not None, reason=str(small_disk_unavailable()))
def test_the_disk_check_counts_the_download_and_the_converted_model(local_hub: HubServer, tmp_path: Path) -> None:
    download = sum(f.size for f in local_hub.repos[C.CHAT].files.values())
    code = f"""
import json, os
from pathlib import Path
from backend.hub import download_model
from backend.models.registry import Registry
from backend.store import Store
registry = Registry(Store(Path(os.environ["TERN_HOME"]) / "t.sqlite3"))
try:
    download_model(registry, {C.CHAT!r})
    print(json.dumps({{"ok": True}}))
except Exception as e:
    files = [str(p) for p in Path(os.environ["SMALL_DISK"]).rglob("*") if p.is_file() and p.suffix != ".sqlite3"
             and "sqlite3" not in p.name]
    print(json.dumps({{"error": type(e).__name__, "message": str(e), "files": files}}))
"""
    mount = tmp_path / "small"
    env = {"TERN_HOME": str(mount / "tern"), "HF_HOME": str(mount / "hf"), "HF_ENDPOINT": local_hub.url}
    out = run_on_small_disk(mount, download + download // 2 + 64 * 1024, code, env)
    assert out.get("error") == "DiskFull", out
    assert "for the download and" in out["message"] and "for the converted model" in out["message"]
    assert [f for f in out["files"] if "models--" in f] == []  # refused before a byte
    assert DiskFull.code == "disk_full"


def test_a_file_already_in_the_cache_downloads_again_without_a_false_unsafe_path(local_hub: HubServer,
                                                                                 registry: Registry) -> None:
    """Regression: the snapshot entry of a cached file is a symlink into blobs/, which the path check took
    for a symlink leaving the snapshot — so any second download of a cached file failed."""
    from tests.support import hub_repos

    download_model(registry, hub_repos.TERNARY, "tiny-TQ2_0.gguf")
    again = download_model(registry, hub_repos.TERNARY, "tiny-TQ2_0.gguf")
    assert again.files[0].downloaded_bytes == 0 and again.variant.verified


def test_result_as_json_names_the_conversion(local_hub: HubServer, registry: Registry) -> None:
    d = download_model(registry, C.CHAT).to_dict()
    json.dumps(d)
    assert d["converted"]["source"] == C.CHAT and d["source_removed"] and d["verdict"]["code"] == "converts"
