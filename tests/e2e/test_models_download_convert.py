"""`tern models download` on sources Tern converts, as a person runs it: the real CLI against the local Hub,
then chatting with the result. The catalog's real models cannot be downloaded here; these tiny repos are the
same formats (tests/support/convert_repos.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.settings import Settings
from tests.e2e.test_models_cli import events, tern
from tests.support import convert_repos as C
from tests.support import ternary_repos as R
from tests.support.hub_server import HubServer


def _cached(tmp_home: Path, repo: str) -> set[str]:
    snaps = tmp_home.parent / "hf-home" / "hub" / f"models--{repo.replace('/', '--')}" / "snapshots"
    return {p.name for p in snaps.rglob("*")} if snaps.exists() else set()


def _generate(model: str) -> tuple[str, dict]:
    g = tern("generate", model, "--prompt", "Hi there, who are you?", "--json", "-n", "32", "--threads", "2")
    assert g.returncode == 0, g.stderr
    out = events(g)
    return "".join(e["text"] for e in out if e["event"] == "token"), next(e for e in out if e["event"] == "done")


@pytest.mark.parametrize(("repo", "file", "kind"), [(C.CHAT, None, "packed-bitlinear"),
                                                    (C.CHAT_GGUF, C.I2S_FILE, "i2_s")])
def test_download_converts_and_the_model_chats_and_stops_at_end_of_turn(local_hub: HubServer, tern_home: Path,
                                                                        repo: str, file: str | None,
                                                                        kind: str) -> None:
    r = tern("models", "download", repo, *([file] if file else []), "--json")
    assert r.returncode == 0, r.stderr
    evs = events(r)
    stages = [e["stage"] for e in evs if e["event"] == "progress"]
    assert stages[0] == "download" and "convert" in stages and stages[-1] == "verify"
    done = evs[-1]
    assert done["event"] == "done" and done["encoding"] == "TQ2_0" and done["model"] == "chat-1.58bit"
    conv = done["converted"]
    assert conv["source"] == repo and conv["kind"] == kind and conv["revision"] == local_hub.repos[repo].commit
    assert conv["source_files"] == {n: f.sha256 for n, f in local_hub.repos[repo].files.items()}
    assert conv["converter_version"] and conv["source_kept"] is False
    assert _cached(tern_home, repo) == set()  # the source is removed once the conversion is verified

    reply, done = _generate("chat-1.58bit")
    assert reply == R.CHAT_REPLY and done["stats"]["stop_reason"] == "eos", (reply, done)
    listed = [e for e in events(tern("models", "list", "--json")) if e["event"] == "model"]
    [v] = listed[0]["variants"]
    assert v["source"] == "converted" and v["source_repo"] == repo and listed[0]["chat"] is True


def test_keep_source_by_flag_and_by_setting(local_hub: HubServer, tern_home: Path) -> None:
    r = tern("models", "download", C.CHAT, "--keep-source")
    assert r.returncode == 0, r.stderr
    assert "downloaded source kept in the Hugging Face cache" in r.stdout
    assert {C.WEIGHTS, "config.json", "tokenizer.json"} <= _cached(tern_home, C.CHAT)

    s = Settings.load()
    s.update(keep_source=True)  # the Settings dialog's checkbox, as the CLI reads it
    r = tern("models", "download", C.BITNET, "--json")
    assert r.returncode == 0, r.stderr
    assert events(r)[-1]["converted"]["source_kept"] is True and C.WEIGHTS in _cached(tern_home, C.BITNET)


def test_inspect_gives_the_verdict_of_a_safetensors_repo_without_downloading(local_hub: HubServer) -> None:
    r = tern("models", "inspect", C.CHAT)
    assert r.returncode == 0, r.stderr
    assert f"{C.CHAT}/{C.WEIGHTS}: runs here — converted on this computer (" in r.stdout
    assert "packed BitLinear safetensors" in r.stdout and "no weights" in r.stdout
    r = tern("models", "inspect", C.NOT_256, "--json")
    [ins] = events(r)
    assert ins["verdict"]["code"] == "not_convertible" and "not a multiple of 256" in ins["verdict"]["text"]


@pytest.mark.parametrize(("repo", "code", "words"), [
    (C.NOT_256, "not_runnable", "not a multiple of 256"),
    (C.NO_TOKENIZER, "not_runnable", "no tokenizer.json"),
    (C.LYING, "not_runnable", "the header lies"),
    (C.TRUNCATED, "not_runnable", "past the end of the file"),
    (C.UNKNOWN_QUANT, "not_runnable", "'awq'"),
    (C.ROWS_MISMATCH, "not_runnable", "does not match the config"),
    (C.I2S_SIZE, "not_runnable", "I2_S tensor blk.0.attn_q.weight"),
    (C.NO_WEIGHTS, "not_runnable", "has no weights Tern can use"),
    (C.BROKEN_TOKENIZER, "unknown_tokenizer", "tokenizer.json"),
    (C.ZEROED, "zero_weights", "blk.1.ffn_down.weight is all zeros"),
])
def test_bad_repos_give_one_clear_message_and_register_nothing(local_hub: HubServer, tern_home: Path, repo: str,
                                                               code: str, words: str) -> None:
    r = tern("models", "download", repo, "--json")
    assert r.returncode == 1
    [err] = [e for e in events(r) if e["event"] == "error"]
    assert err["code"] == code and repo in err["message"] and words in err["message"], err
    assert "Traceback" not in r.stderr and r.stderr.startswith("tern: ")
    assert [e for e in events(tern("models", "list", "--json")) if e["event"] == "model"] == []
    converted = tern_home / "data" / "models" / "converted"
    assert not converted.exists() or list(converted.iterdir()) == []
    assert json.dumps(err)
