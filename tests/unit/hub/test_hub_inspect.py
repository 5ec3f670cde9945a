"""Check before download: the header read over HTTP ranges says what a file is and whether it runs."""

from __future__ import annotations

import pytest

from backend.hub import inspect_local, inspect_remote
from backend.hub.errors import AuthRequired, FileNotFoundOnHub
from tests.support import hub_repos
from tests.support.hub_server import HubServer


def test_a_ternary_file_runs_here_and_matches_its_local_header(local_hub: HubServer) -> None:
    ins = inspect_remote(hub_repos.TERNARY, "tiny-TQ2_0.gguf")
    assert ins.verdict.text == "runs here (TQ2_0)" and ins.runs
    local = inspect_local(local_hub.file(hub_repos.TERNARY, "tiny-TQ2_0.gguf").path)
    assert ins.header is not None and local.header is not None
    assert ins.header.n_params == local.header.n_params
    assert ins.header.type_counts() == local.header.type_counts()
    assert ins.header.architecture == "bitnet" and ins.header.context_length == 2048
    assert ins.size == local.size  # from Content-Range: no listing request needed
    assert ins.ram is not None and ins.ram.weights_bytes == ins.size and ins.ram.kv_bytes > 0


@pytest.mark.parametrize(("repo", "filename", "code", "text"), [
    (hub_repos.I2S, "ggml-model-i2_s.gguf", "not_convertible",
     "cannot be converted here: linear weight blk.0.attn_k.weight is not I2_S (type 35)"),
    (hub_repos.ARCH, "odd-arch-TQ2_0.gguf", "unsupported_architecture", "unsupported architecture (zorbix)"),
    (hub_repos.NOT_GGUF, "model.gguf", "not_gguf", "not a usable GGUF file (it is not a GGUF file"),
])
def test_files_that_will_not_run_are_named_before_download(local_hub: HubServer, repo: str, filename: str,
                                                           code: str, text: str) -> None:
    ins = inspect_remote(repo, filename)
    assert ins.verdict.code == code and not ins.runs
    assert ins.verdict.text.startswith(text)


def test_a_split_model_counts_its_parts_and_their_total_size(local_hub: HubServer) -> None:
    ins = inspect_remote(hub_repos.SPLIT, "tiny-split-TQ2_0-00001-of-00003.gguf")
    assert ins.verdict.text == "runs here (TQ2_0) — split model: 3 parts"
    sizes = [f.real_size for f in local_hub.repos[hub_repos.SPLIT].files.values()]
    assert ins.model_bytes == sum(sizes) and ins.ram is not None and ins.ram.weights_bytes == sum(sizes)
    assert len(ins.parts) == 3


def test_a_multi_gb_header_costs_one_request_and_little_data(local_hub: HubServer) -> None:
    ins = inspect_remote(hub_repos.HUGE, "huge-TQ2_0.gguf")
    assert ins.size is not None and ins.size > 4 * 1024**3 - 1
    assert ins.requests <= 2 and ins.bytes_read <= 2 * 1024**2
    cdn = local_hub.requests("cdn")
    assert sum(r.body_bytes for r in cdn) == ins.bytes_read and all(r.range for r in cdn)
    assert ins.ram is not None and ins.ram.weights_bytes == ins.size


def test_gated_repo_asks_for_a_token_then_works_with_one(local_hub: HubServer,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AuthRequired) as e:
        inspect_remote(hub_repos.GATED, "gated-TQ2_0.gguf")
    assert "token" in e.value.hint and hub_repos.GATED in str(e.value)
    with pytest.raises(AuthRequired, match="has no access"):
        inspect_remote(hub_repos.GATED, "gated-TQ2_0.gguf", token="hf_wrong")
    assert inspect_remote(hub_repos.GATED, "gated-TQ2_0.gguf", token=hub_repos.TOKEN).runs
    monkeypatch.setenv("HF_TOKEN", hub_repos.TOKEN)
    local_hub.reset()
    assert inspect_remote(hub_repos.GATED, "gated-TQ2_0.gguf").runs
    # the token goes to the Hub, never to the CDN host the Hub redirects to
    assert all(r.auth for r in local_hub.requests("api")) and not any(r.auth for r in local_hub.requests("cdn"))


def test_a_missing_file_is_named(local_hub: HubServer) -> None:
    with pytest.raises(FileNotFoundOnHub, match="no-such.gguf"):
        inspect_remote(hub_repos.TERNARY, "no-such.gguf")
