"""`tern models …` as a person runs it: real processes against the local Hub, output read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import hub_repos
from tests.support.hub_server import HubServer


def tern(*args: str, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def events(r: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def test_catalog_works_offline_and_lists_what_a_person_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    r = tern("models", "catalog")
    assert r.returncode == 0, r.stderr
    assert "brunopio/Llama3-8B-1.58-100B-tokens-GGUF" in r.stdout and "2.53 GB" in r.stdout
    assert "licence: unknown — see the repo page" in r.stdout and "F16 variant:" in r.stdout
    assert "1bitLLM/bitnet_b1_58-3B: its hidden size 3200" in r.stdout  # known not to convert, and why
    assert "microsoft/bitnet-b1.58-2B-4T\n" in r.stdout and "[converted on this computer]" in r.stdout
    assert "converted to TQ2_0 here: ≈ 893 MB on disk (estimate from the published dimensions)" in r.stdout
    entries = [e for e in events(tern("models", "catalog", "--json", "--ctx", "4096")) if e["event"] == "entry"]
    llama = next(e for e in entries if e["id"] == "llama3-8b-1.58")
    assert llama["n_ctx"] == 4096 and llama["chat"] is True
    assert all(f["status"] == "not downloaded" for f in llama["files"])
    assert llama["files"][0]["ram_need_bytes"] == 2_530_000_000 + 2 * 32 * 4096 * 8 * 128 * 2 + 96 * 1024**2


def test_search_and_inspect(local_hub: HubServer) -> None:
    r = tern("models", "search", "tiny-")
    assert r.returncode == 0, r.stderr
    assert hub_repos.TERNARY in r.stdout and "tiny-TQ1_0.gguf  TQ1_0" in r.stdout
    r = tern("models", "inspect", hub_repos.I2S, "ggml-model-i2_s.gguf")
    assert r.returncode == 0 and "cannot be converted here: linear weight blk.0.attn_k.weight" in r.stdout
    [ins] = events(tern("models", "inspect", hub_repos.SPLIT, "tiny-split-TQ2_0-00001-of-00003.gguf", "--json"))
    assert ins["verdict"]["text"] == "runs here (TQ2_0) — split model: 3 parts"
    assert ins["architecture"] == "bitnet" and ins["ram"]["verdict"] == "fits" and ins["requests"] == 1


def test_search_offline_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    r = tern("models", "search", "bitnet", "--json")
    assert r.returncode == 1
    [err] = events(r)
    assert err["code"] == "offline" and "HF_HUB_OFFLINE" in err["message"]


def test_the_apps_offline_setting_keeps_the_cli_off_the_hub(local_hub: HubServer, tern_home: Path) -> None:
    settings = tern_home / "config" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text('{"offline": true}')
    r = tern("models", "search", "tiny-")
    assert r.returncode == 1 and "Offline mode is on" in r.stderr
    assert local_hub.requests() == []


def test_download_then_generate_derive_list_remove(local_hub: HubServer) -> None:
    r = tern("models", "download", hub_repos.TERNARY, "tiny-TQ2_0.gguf", "--json")
    assert r.returncode == 0, r.stderr
    done = events(r)[-1]
    assert done["event"] == "done" and done["model"] == "tiny" and done["verified"] is True
    assert done["verdict"]["text"] == "runs here (TQ2_0)"
    gen = tern("generate", "tiny", "-p", "Hello", "-n", "4", "--ignore-eos", "--ctx", "256")
    assert gen.returncode == 0, gen.stderr
    assert "4 tokens" in gen.stderr

    d = tern("models", "derive", "tiny", "--to", "f16", "--json")
    assert d.returncode == 0, d.stderr
    derived = events(d)[-1]
    assert derived["encoding"] == "F16" and derived["derived_from_sha256"] == done["sha256"]
    assert tern("generate", "tiny:f16", "-p", "Hi", "-n", "2", "--ignore-eos", "--ctx", "256").returncode == 0

    listed = [e for e in events(tern("models", "list", "--json")) if e["event"] == "model"]
    [tiny] = listed
    variants = {v["encoding"]: v for v in tiny["variants"]}
    assert variants["TQ2_0"]["source"] == "hub" and variants["TQ2_0"]["verified"] is True
    assert variants["F16"]["source"] == "derived" and variants["F16"]["derived_from_path"]

    r = tern("models", "remove", "tiny")
    assert r.returncode == 0 and "freed" in r.stdout
    assert tern("models", "list", "--json").stdout == ""


def test_interrupted_download_resumes_in_a_new_process(local_hub: HubServer) -> None:
    local_hub.drop_after(hub_repos.TERNARY, "tiny-TQ1_0.gguf", 123_456, times=1)
    r = tern("models", "download", hub_repos.TERNARY, "tiny-TQ1_0.gguf", "--retries", "0")
    assert r.returncode == 1 and "123,456 of" in r.stderr and "resumes where it stopped" in r.stderr
    listed = tern("models", "list")
    assert "partial download: tern-test/tiny-ternary-GGUF/tiny-TQ1_0.gguf" in listed.stdout
    r = tern("models", "download", hub_repos.TERNARY, "tiny-TQ1_0.gguf")
    assert r.returncode == 0, r.stderr
    assert "resumed" in r.stdout and "sha256 verified" in r.stdout
    assert [q.range_start for q in local_hub.requests("cdn") if q.range and not q.range.startswith("bytes=0-")] \
        == [123_456]


def test_download_refusals_and_quarantine_through_the_cli(local_hub: HubServer) -> None:
    codes = {}
    for repo, filename in [(hub_repos.I2S, "ggml-model-i2_s.gguf"), (hub_repos.ENORMOUS, "enormous-TQ2_0.gguf"),
                           ("tern-test/no-such-repo", "x.gguf")]:
        r = tern("models", "download", repo, filename, "--json")
        assert r.returncode == 1
        codes[repo] = events(r)[-1]["code"]
    assert codes == {hub_repos.I2S: "not_runnable", hub_repos.ENORMOUS: "disk_full",
                     "tern-test/no-such-repo": "auth_required"}
    local_hub.wrong_sha(hub_repos.TERNARY, "tiny-TQ2_0.gguf")
    r = tern("models", "download", hub_repos.TERNARY, "tiny-TQ2_0.gguf")
    assert r.returncode == 1 and "failed verification" in r.stderr and "quarantined" in r.stderr
    assert "QUARANTINED (sha256 mismatch; download again)" in tern("models", "list").stdout
    gen = tern("generate", "tiny", "-p", "Hi", "-n", "1")
    assert gen.returncode == 1 and "no usable" in gen.stderr  # never loaded


def test_gated_download_with_a_token_file_never_prints_the_token(local_hub: HubServer, tmp_path: Path,
                                                                 tern_home: Path) -> None:
    r = tern("models", "download", hub_repos.GATED)
    assert r.returncode == 1 and "token" in r.stderr
    token_file = tmp_path / "token"
    token_file.write_text(hub_repos.TOKEN + "\n")
    r = tern("models", "download", hub_repos.GATED, "--token-file", str(token_file), "--json")
    assert r.returncode == 0, r.stderr
    logs = "".join(p.read_text(errors="replace") for p in tern_home.rglob("*.log"))
    assert hub_repos.TOKEN not in r.stdout + r.stderr + logs


def test_import_and_refusals(tiny: Path, tmp_path: Path) -> None:
    r = tern("models", "import", str(tiny), "--name", "mine", "--json")
    assert r.returncode == 0, r.stderr
    assert events(r)[-1]["source"] == "imported"
    bad = tmp_path / "bad.gguf"
    bad.write_text("nope")
    r = tern("models", "import", str(bad))
    assert r.returncode == 1 and "not a GGUF file" in r.stderr
    r = tern("models", "remove", "nosuch")
    assert r.returncode == 1 and "No local model is called 'nosuch'" in r.stderr


def test_importing_files_with_names_that_say_little_never_gives_an_empty_model_name(tiny: Path, tmp_path: Path) -> None:
    import shutil

    short = tmp_path / "a-TQ2_0.gguf"
    generic = tmp_path / "bitnet-mini" / "model.gguf"
    generic.parent.mkdir()
    for dst in (short, generic):
        shutil.copyfile(tiny, dst)
        r = tern("models", "import", str(dst), "--json")
        assert r.returncode == 0, r.stderr
    listed = [e for e in events(tern("models", "list", "--json")) if e.get("event") == "model"]
    assert sorted(m["name"] for m in listed) == ["a-tq2-0", "bitnet-mini"]
    r = tern("models", "import", str(short), "--name", "../outside")
    assert r.returncode == 1 and "cannot be a model name" in r.stderr


def test_the_derivation_child_also_runs_as_tern_itself(tiny: Path, tmp_path: Path) -> None:
    """A frozen bundle starts the child as `tern --quantize-worker …` (there is no `python -m` there)."""
    out = tmp_path / "f16.gguf"
    r = tern("--quantize-worker", str(tiny), str(out), "1", "1", "-1", "-1")
    assert r.returncode == 0 and json.loads(r.stdout) == {"rc": 0}, r.stderr
    from backend.models.gguf_header import read_header

    assert read_header(out).encoding == "F16"
