"""Import, remove and the catalog's view of the library."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from backend.errors import ModelFileError
from backend.hub import catalog_status, download_model, load_catalog, removal_plan, remove_model
from backend.hub.catalog import UNKNOWN, guess_model_name
from backend.models.importer import import_model
from backend.models.registry import Registry
from backend.paths import paths
from backend.store import Store
from tests.support import gguf_files, hub_repos
from tests.support.hub_server import HubServer


@pytest.fixture()
def registry(tern_home: Path) -> Registry:
    return Registry(Store(tern_home / "t.sqlite3"))


def test_import_in_place_records_the_file_and_remove_keeps_it(registry: Registry, tiny: Path,
                                                               tmp_path: Path) -> None:
    mine = shutil.copyfile(tiny, tmp_path / "my-model-TQ2_0.gguf")
    v = import_model(registry, mine)
    assert (v.model_name, v.encoding, v.source, v.path) == ("my-model", "TQ2_0", "imported", mine)
    assert v.sha256 == hashlib.sha256(mine.read_bytes()).hexdigest()
    assert v.info["label"]  # a synthetic file says so
    r = remove_model(registry, "my-model")
    assert r.freed_bytes == 0 and r.kept == [str(mine)] and mine.exists() and registry.models() == []


def test_import_with_copy_and_remove_frees_the_copy(registry: Registry, tiny: Path) -> None:
    v = import_model(registry, tiny, name="copied", copy=True)
    assert v.path.parent == paths().models / "imported" / "copied" and v.path.read_bytes() == tiny.read_bytes()
    r = remove_model(registry, "copied")
    assert r.freed_bytes == tiny.stat().st_size and not v.path.exists() and tiny.exists()


def test_bad_files_are_refused_and_nothing_is_recorded(registry: Registry, tiny: Path, tmp_path: Path) -> None:
    notgguf = tmp_path / "notes.gguf"
    notgguf.write_text("hello")
    bad = {
        "not a GGUF": notgguf,
        "truncated": gguf_files.truncated_in_data(tiny, tmp_path / "cut.gguf"),
        "I2_S": gguf_files.with_tensor_type(tiny, tmp_path / "i2s.gguf", 36),
        "does not exist": tmp_path / "absent.gguf",
    }
    for why, path in bad.items():
        with pytest.raises(ModelFileError, match=why):
            import_model(registry, path)
    assert registry.models() == []


def test_removing_a_download_frees_the_blob_in_the_hf_cache(local_hub: HubServer, registry: Registry) -> None:
    result = download_model(registry, hub_repos.TERNARY, "tiny-TQ2_0.gguf")
    blob = result.files[0].blob
    preview = removal_plan(registry.find("tiny").variants)  # what the confirmation shows
    assert preview.freed_bytes == result.variant.file_bytes and blob in preview.delete and blob.exists()
    r = remove_model(registry, "tiny")
    assert r.freed_bytes == preview.freed_bytes and r.deleted == [str(p) for p in preview.delete]
    assert not blob.exists() and not result.variant.path.exists()
    assert registry.models() == []


def test_catalog_entries_state_every_field_and_say_unknown_when_unchecked() -> None:
    cat = load_catalog()
    assert len(cat.entries) >= 6
    for e in cat.entries:
        assert e.family and e.parameters and e.license and e.fp16 and e.repo.count("/") == 1
        assert e.chat in (True, False)
        assert e.runs in ("yes", "check", "convert")
        encodings = ("packed", "BF16", "I2_S") if e.converted else ("TQ1_0", "TQ2_0")
        assert e.files and all(f.size_text and f.encoding in encodings for f in e.files)
        text = e.ram_text()
        assert ("≈" in text and "B (estimate" in text) or text.startswith("unknown until the header is read")
    gguf = [e for e in cat.entries if not e.converted]
    assert all(e.license == UNKNOWN for e in gguf)  # no GGUF repo here states one: never guessed
    assert cat.incompatibility("tiiuae/Falcon3-7B-Instruct-1.58bit-GGUF") is None  # converted here now
    [bad] = cat.incompatible
    assert bad.repo == "1bitLLM/bitnet_b1_58-3B" and "not multiples of 256" in bad.reason and "F16" in bad.reason


def test_catalog_lists_the_real_chat_models_converted_here() -> None:
    cat = load_catalog()
    repos = {e.repo: e for e in cat.entries}
    wanted = ["microsoft/bitnet-b1.58-2B-4T", "microsoft/bitnet-b1.58-2B-4T-gguf", "microsoft/bitnet-b1.58-2B-4T-bf16",
              *(f"tiiuae/Falcon3-{s}-Instruct-1.58bit{g}" for s in ("1B", "3B", "7B", "10B") for g in ("", "-GGUF")),
              *(f"tiiuae/Falcon-E-{s}-Instruct{g}" for s in ("1B", "3B") for g in ("", "-GGUF"))]
    for repo in wanted:
        e = repos[repo]
        assert e.converted and e.chat is True and e.license and e.sources, repo
        assert e.kind == ("i2_s" if repo.lower().endswith("gguf") else "bf16" if repo.endswith("bf16") else "packed")
    b2 = repos["microsoft/bitnet-b1.58-2B-4T"]
    assert b2.license == "MIT" and b2.default_file.approx_bytes == 1_178_623_988  # as listed for the Hub's file
    # the converted file's size from the published dimensions, by the converter's own rule: TQ2_0 linear layers
    # (2.08 B weights × 66/256 bytes) + the default Q8_0 embeddings (128,256 × 2,560 × 34/32 bytes) + norms and
    # vocabulary
    assert 0.88e9 < b2.output_bytes() < 0.90e9 and b2.disk_bytes() == b2.output_bytes() + 1_178_623_988
    fit = b2.ram(None, 2048, available=64 * 1024**3)
    assert fit is not None and fit.weights_bytes == b2.output_bytes() and fit.kv_bytes == 2 * 30 * 2048 * 5 * 128 * 2
    assert repos["tiiuae/Falcon3-7B-Instruct-1.58bit"].output_bytes() is None  # dimensions not checked: no figure


def test_catalog_ram_is_listed_size_plus_kv_cache_plus_runtime() -> None:
    e = load_catalog().entry("llama3-8b-1.58")
    assert e is not None
    kv = 2 * 32 * 2048 * 8 * 128 * 2  # K and V, 32 layers, 8 KV heads × 128, F16, 2048 tokens
    assert e.kv_bytes(2048) == kv == 256 * 1024**2
    fit = e.ram(None, 2048, available=64 * 1024**3)
    assert fit is not None and fit.weights_bytes == 2_530_000_000 and fit.kv_bytes == kv
    assert fit.need_bytes == 2_530_000_000 + kv + 96 * 1024**2 and fit.verdict == "fits"
    assert e.kv_bytes(100_000) == 2 * 32 * 8192 * 8 * 128 * 2  # capped at the model's 8192 positions
    trilm = load_catalog().entry("trilm-560m")
    assert trilm is not None and trilm.ram() is None  # its dimensions were not checked: no made-up figure


def test_catalog_status_shows_downloads_and_partials_offline(local_hub: HubServer, registry: Registry,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    registry.add_variant("llama3-8b-1.58", local_hub.file(hub_repos.TERNARY, "tiny-TQ2_0.gguf").path, "tq2_0",
                         "hub", source_repo="brunopio/Llama3-8B-1.58-100B-tokens-GGUF",
                         source_file="Llama3-8B-1.58-100B-tokens-TQ2_0.gguf")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    status = catalog_status(registry)["llama3-8b-1.58"]
    assert status["Llama3-8B-1.58-100B-tokens-TQ2_0.gguf"] == "downloaded"
    assert status["Llama3-8B-1.58-100B-tokens-TQ1_0.gguf"] == "not downloaded"


@pytest.mark.parametrize(("filename", "name"), [
    ("Llama3-8B-1.58-100B-tokens-TQ2_0.gguf", "llama3-8b-1.58-100b-tokens"),
    ("TriLM_560M_Unpacked-TQ1_0-F16.gguf", "trilm-560m-unpacked"),
    ("TriLM_3.9B_Unpacked_quant_TQ1_0.gguf", "trilm-3.9b-unpacked"),
    ("tiny-split-TQ2_0-00002-of-00003.gguf", "tiny-split"),
    ("ggml-model-i2_s.gguf", "bitnet-b1.58-2b-4t"),
])
def test_model_names_group_encodings_of_one_model(filename: str, name: str) -> None:
    assert guess_model_name("someone/bitnet-b1.58-2B-4T-gguf", filename) == name
