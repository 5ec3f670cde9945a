"""`tern models convert --head`, `tern models calibrate` and what `tern models list` says about threads and the
weights a token reads — real processes, the real engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_models_cli import events, tern
from tests.support import ternary_repos as R


@pytest.fixture(scope="module")
def chat_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return R.chat_repo(tmp_path_factory.mktemp("chat") / "Tiny-Chat-1.58bit")


def _variant(name: str) -> dict:
    [m] = [e for e in events(tern("models", "list", "--json")) if e["event"] == "model" and e["name"] == name]
    [v] = m["variants"]
    return v


def test_convert_with_a_head_then_calibrate_and_list(chat_source: Path) -> None:
    r = tern("models", "convert", str(chat_source), "--head", "q8_0", "--json")
    assert r.returncode == 0, r.stderr
    done = events(r)[-1]
    assert done["converted"]["head_encoding"] == "Q8_0"
    v = _variant("Tiny-Chat-1.58bit")
    assert v["weights_per_token"]["head_type"] == "Q8_0" and v["weights_per_token"]["total"] > 0
    assert v["threads"]["source"] == "default" and v["threads"]["calibration"] is None

    c = tern("models", "calibrate", "Tiny-Chat-1.58bit", "--json")
    assert c.returncode == 0, c.stderr
    evs = events(c)
    assert any(e["event"] == "progress" and e["what"].startswith("decode with") for e in evs)
    cal = evs[-1]["calibration"]
    assert evs[-1]["event"] == "done" and cal["decode"] and cal["prompt"]
    v = _variant("Tiny-Chat-1.58bit")
    assert v["threads"]["source"] == "calibrated"
    assert (v["threads"]["n_threads"], v["threads"]["n_threads_batch"]) == (cal["n_threads"], cal["n_threads_batch"])

    text = tern("models", "list")
    assert text.returncode == 0 and "calibrated on this computer" in text.stdout
    assert "output head Q8_0" in text.stdout and "measured: decode" in text.stdout


def test_an_unknown_head_or_model_is_one_clear_message(chat_source: Path) -> None:
    r = tern("models", "convert", str(chat_source), "--head", "q4_k")
    assert r.returncode == 2 and "invalid choice: 'q4_k'" in r.stderr
    r = tern("models", "calibrate", "nothing-here")
    assert r.returncode == 1 and "There is no model called nothing-here" in r.stderr and "Traceback" not in r.stderr
