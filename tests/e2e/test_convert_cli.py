"""`tern models convert` as a person runs it, then chatting with the result and deriving its F16 variant."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.test_models_cli import events, tern
from tests.support import ternary_repos as R


@pytest.fixture(scope="module")
def chat_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return R.chat_repo(tmp_path_factory.mktemp("chat") / "Tiny-Chat-1.58bit")


def _models() -> list[dict]:
    return [e for e in events(tern("models", "list", "--json")) if e["event"] == "model"]


def test_convert_then_chat_stops_at_end_of_turn_then_derive_f16(chat_source: Path, tern_home: Path) -> None:
    r = tern("models", "convert", str(chat_source), "--json")
    assert r.returncode == 0, r.stderr
    evs = events(r)
    phases = [e["phase"] for e in evs if e["event"] == "progress"]
    assert phases[0] == "check" and "hash" in phases and "convert" in phases and phases[-1] == "done"
    done = evs[-1]
    assert done["event"] == "done" and done["model"] == "Tiny-Chat-1.58bit" and done["encoding"] == "TQ2_0"
    assert done["source"] == "converted" and done["converted"]["source"] == str(chat_source)
    assert Path(done["path"]).is_relative_to(tern_home)

    for model in ("Tiny-Chat-1.58bit", None):
        if model is None:  # "Make FP16 variant" on the converted model, then the same conversation on it
            d = tern("models", "derive", "Tiny-Chat-1.58bit", "--to", "f16", "--json")
            assert d.returncode == 0, d.stderr
            model = "Tiny-Chat-1.58bit:f16"
        g = tern("generate", model, "--prompt", "Hi there, who are you?", "--json", "-n", "32", "--threads", "2")
        assert g.returncode == 0, g.stderr
        out = events(g)
        reply = "".join(e["text"] for e in out if e["event"] == "token")
        stats = next(e for e in out if e["event"] == "done")["stats"]
        assert reply == R.CHAT_REPLY and stats["stop_reason"] == "eos" and stats["output_tokens"] == 1, (reply, stats)
    [m] = _models()
    assert {v["encoding"] for v in m["variants"]} == {"TQ2_0", "F16"} and m["chat"] is True


def test_bad_input_is_one_clear_message_and_nothing_is_registered(chat_source: Path, tmp_path: Path) -> None:
    folder = tmp_path / "Broken-Repo"
    folder.mkdir()
    (folder / "config.json").write_text((chat_source / "config.json").read_text())
    r = tern("models", "convert", str(folder), "--json")
    assert r.returncode == 1
    [err] = [e for e in events(r) if e["event"] == "error"]
    assert err["code"] == "no_weights" and str(folder) in err["message"] and "no *.safetensors" in err["message"]
    assert r.stderr.startswith("tern: Cannot convert") and "Traceback" not in r.stderr
    assert _models() == []


def test_ctrl_c_stops_the_conversion_and_leaves_nothing(tmp_path: Path, tern_home: Path) -> None:
    spec = R.Tiny(hidden=1024, intermediate=2816, layers=24, heads=16, kv_heads=4, vocab=32000)
    src = R.packed_repo(tmp_path / "Bigger-1.58bit", R.make_truth(spec, 0), "autobitlinear")
    proc = subprocess.Popen([sys.executable, "-m", "app", "models", "convert", str(src), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    for line in proc.stdout:
        if json.loads(line).get("phase") == "convert" or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGINT)
    rest, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert [json.loads(x) for x in rest.splitlines()][-1]["code"] == "cancelled"
    converted = tern_home / "data" / "models" / "converted"
    assert not converted.exists() or list(converted.iterdir()) == []
    assert _models() == []
