"""Check before download for sources Tern converts: the verdict from config.json and headers over HTTP ranges."""

from __future__ import annotations

import json
import struct

import pytest

from backend.hub import inspect_remote
from backend.hub.api import repo_listing
from backend.hub.library import choose_file
from tests.support import convert_repos as C
from tests.support.hub_server import HubServer


def _weights_header_len(hub: HubServer, repo: str) -> int:
    with open(hub.file(repo, C.WEIGHTS).path, "rb") as f:
        return 8 + struct.unpack("<Q", f.read(8))[0]


def test_a_packed_repo_gets_its_verdict_without_a_byte_of_weights(local_hub: HubServer) -> None:
    ins = inspect_remote(C.BITNET, C.WEIGHTS)
    v = ins.verdict
    assert v.converts and v.usable and not v.runs
    assert v.text.startswith("runs here — converted on this computer (") and " download, " in v.text
    assert " on disk, needs ≈ " in v.text and v.text.endswith(" RAM)")
    conv = ins.conversion
    assert conv.kind == "packed-autobitlinear" and conv.arch == "bitnet"
    on_hub = {n: f.size for n, f in local_hub.repos[C.BITNET].files.items()}
    assert ins.size == conv.download_bytes == sum(on_hub.values())  # weights + config + tokenizer files
    assert ins.model_bytes and ins.ram is not None and ins.ram.weights_bytes == ins.model_bytes
    # what moved over the wire: config.json whole, and of the weights exactly their header (8 + N bytes)
    header_end = _weights_header_len(local_hub, C.BITNET)
    weights = [r for r in local_hub.requests(path_contains=C.WEIGHTS) if r.method == "GET" and r.listener == "cdn"]
    assert weights and all(r.range is not None for r in weights)
    assert sum(r.body_bytes for r in weights) == header_end
    assert max(int(r.range.split("-")[1]) for r in weights) == header_end - 1  # never a byte past the header
    assert ins.bytes_read == header_end + on_hub["config.json"]


def test_an_i2s_gguf_is_converted_here_and_says_so(local_hub: HubServer) -> None:
    ins = inspect_remote(C.CHAT_GGUF, C.I2S_FILE)
    assert ins.verdict.converts, ins.verdict.text
    assert ins.verdict.text.startswith("runs here — converted on this computer (")
    assert ins.conversion.kind == "i2_s" and ins.conversion.arch == "llama"
    assert all(r.range for r in local_hub.requests("cdn"))  # header reads only


def test_a_damaged_i2s_file_says_why_before_download(local_hub: HubServer) -> None:
    from tests.support import hub_repos

    ins = inspect_remote(C.I2S_SIZE, C.I2S_FILE)
    assert ins.verdict.code == "not_convertible" and not ins.verdict.usable
    assert ins.verdict.text.startswith("cannot be converted here: I2_S tensor blk.0.attn_q.weight of shape "
                                       "[256, 512] needs 32,800 bytes but only 16,416 lie before the next tensor")
    assert "truncated, or the shape lies" in ins.verdict.text
    mixed = inspect_remote(hub_repos.I2S, C.I2S_FILE)  # TQ2_0 bytes with one tensor relabelled as I2_S
    assert mixed.verdict.code == "not_convertible" and "is not I2_S (type 35)" in mixed.verdict.text


@pytest.mark.parametrize(("repo", "words"), [
    (C.NOT_256, ["hidden size 320 is not a multiple of 256", "F16 fallback", "does not offer it"]),
    (C.NO_TOKENIZER, ["no tokenizer.json"]),
    (C.UNKNOWN_QUANT, ["'awq'"]),
    (C.ROWS_MISMATCH, ["mlp.gate_proj"]),
    (C.TRUNCATED, [f"{C.TRUNCATED}/model.safetensors", "past the end of the file"]),
    (C.LYING, [f"{C.LYING}/model.safetensors", "up_proj", "the header lies about shape or dtype"]),
    (C.NO_WEIGHTS, ["holds no weights"]),
])
def test_a_repo_that_cannot_convert_says_why_before_any_weights_move(local_hub: HubServer, repo: str,
                                                                     words: list[str]) -> None:
    ins = inspect_remote(repo, C.WEIGHTS)
    assert ins.verdict.code == "not_convertible", ins.verdict.text
    assert ins.verdict.text.startswith("cannot be converted here: ")
    for w in words:
        assert w in ins.verdict.text, (w, ins.verdict.text)
    header_end = _weights_header_len(local_hub, repo) if repo != C.NO_WEIGHTS else 0
    moved = sum(r.body_bytes for r in local_hub.requests("cdn", C.WEIGHTS) if r.method == "GET")
    assert moved <= header_end


def test_without_a_file_name_the_repo_kind_picks_the_weights(local_hub: HubServer) -> None:
    assert choose_file(repo_listing(C.CHAT)) == C.WEIGHTS
    assert choose_file(repo_listing(C.CHAT_GGUF)) == C.I2S_FILE


def test_inspection_as_json_carries_the_conversion_numbers(local_hub: HubServer) -> None:
    d = inspect_remote(C.CHAT, C.WEIGHTS).to_dict()
    json.dumps(d)
    assert d["verdict"]["code"] == "converts" and d["conversion"]["convertible"] is True
    assert d["conversion"]["output_bytes"] > 0 and d["ram"]["need_bytes"] > d["conversion"]["output_bytes"]


def test_search_finds_ternary_safetensors_repos_with_their_weights(local_hub: HubServer) -> None:
    from backend.hub import search

    hits = {h.repo: h for h in search("Chat-1.58bit")}
    assert hits[C.CHAT].weights and [w.name for w in hits[C.CHAT].weights] == [C.WEIGHTS]  # tagged bitnet
    assert hits[C.CHAT].files == [] and [f.name for f in hits[C.CHAT_GGUF].files] == [C.I2S_FILE]
    assert hits[C.CHAT].to_dict()["weights"][0]["size"] == local_hub.file(C.CHAT, C.WEIGHTS).size
