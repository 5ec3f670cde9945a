"""`tern` as a person runs it: a real process, real models, output read back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from app import __version__
from backend.models.synth import SYNTHETIC_LABEL, make_model
from tests.support import gguf_files


def tern(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=timeout)


def test_version() -> None:
    r = tern("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"tern {__version__}"


def test_version_verbose_names_the_build() -> None:
    r = tern("--version", "--verbose")
    assert r.returncode == 0
    assert "SIMD in this build:" in r.stdout and "Fast ternary kernels" in r.stdout


def test_generate_streams_text_and_prints_figures(tiny: Path) -> None:
    r = tern("generate", str(tiny), "--prompt", "Hello", "-n", "12", "--seed", "3", "--ignore-eos")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.strip()) > 0
    assert SYNTHETIC_LABEL in r.stderr
    assert "12 tokens" in r.stderr and "decode" in r.stderr and "tok/s" in r.stderr
    # the model's first load on this computer measured its threads, and said so; the next one does not
    assert f"measuring the best thread count for {tiny.name} on this computer" in r.stderr
    again = tern("generate", str(tiny), "--prompt", "Hello", "-n", "4")
    assert again.returncode == 0 and "measuring the best thread count" not in again.stderr


def test_generate_json_events(tiny: Path) -> None:
    r = tern("generate", str(tiny), "-p", "Hello", "--json", "-n", "10", "-t", "0", "--seed", "1", "--ignore-eos",
             "--threads", "1", "--ctx", "512")
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    assert events[0]["event"] == "loaded" and events[0]["info"]["n_ctx"] == 512
    assert events[0]["info"]["n_threads"] == 1
    tokens = [e for e in events if e["event"] == "token"]
    assert len(tokens) == 10
    done = events[-1]
    assert done["event"] == "done"
    stats = done["stats"]
    assert stats["output_tokens"] == 10 and stats["stop_reason"] == "length"
    for key in ("prompt_tokens", "ttft_ms", "prefill_tps", "decode_tps", "total_ms", "peak_rss", "cpu_s"):
        assert stats[key] > 0, key
    greedy_again = tern("generate", str(tiny), "-p", "Hello", "--json", "-n", "10", "-t", "0", "--ignore-eos")
    assert [e["text"] for e in map(json.loads, greedy_again.stdout.splitlines()) if e["event"] == "token"] == \
        [e["text"] for e in tokens]


def _bad_files(tiny: Path, d: Path) -> dict[str, tuple[Path, str]]:
    notgguf = d / "readme.gguf"
    notgguf.write_text("hello")
    return {
        "missing": (d / "absent.gguf", "does not exist"),
        "not gguf": (notgguf, "not a GGUF file"),
        "cut header": (gguf_files.truncated_in_header(tiny, d / "cut-header.gguf"), "truncated"),
        "cut data": (gguf_files.truncated_in_data(tiny, d / "cut-data.gguf"), "truncated"),
        "I2_S": (gguf_files.with_tensor_type(tiny, d / "i2s.gguf", 36), "I2_S"),
        "too big": (gguf_files.larger_than_ram(tiny, d / "huge.gguf", 2 * psutil.virtual_memory().total),
                    "larger than the memory available"),
    }


@pytest.mark.parametrize("case", ["missing", "not gguf", "cut header", "cut data", "I2_S", "too big"])
def test_bad_model_files_get_one_clear_message(tiny: Path, tmp_path: Path, case: str) -> None:
    path, words = _bad_files(tiny, tmp_path)[case]
    r = tern("generate", str(path), "-p", "hi")
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert str(path) in lines[0] and words in lines[0]


def test_engine_abort_is_reported_not_a_traceback(tmp_path: Path) -> None:
    bad = make_model(tmp_path / "aborts.gguf", "tiny", "tq2_0", tensor_encodings={"blk.0.attn_norm.weight": "tq2_0"})
    r = tern("generate", str(bad), "-p", "hi", "--json")
    assert r.returncode == 3
    assert "Traceback" not in r.stderr
    err = json.loads(r.stdout.splitlines()[-1])
    assert err["event"] == "error" and err["code"] == "crashed" and "SIGABRT" in err["message"]


def test_unknown_model_name() -> None:
    r = tern("generate", "nosuchmodel", "-p", "hi")
    assert r.returncode == 1 and "No local model is called 'nosuchmodel'" in r.stderr


@pytest.mark.slow
def test_demo_pair_is_made_and_usable_by_name(tern_home: Path) -> None:
    r = tern("demo", "--json", timeout=300)
    assert r.returncode == 0, r.stderr
    made = {e["encoding"]: e for e in map(json.loads, r.stdout.splitlines())}
    assert set(made) == {"TQ2_0", "F16"}
    assert all(e["label"] == SYNTHETIC_LABEL for e in made.values())
    assert all(Path(e["path"]).is_relative_to(tern_home) for e in made.values())
    f16, tq2 = made["F16"]["file_bytes"], made["TQ2_0"]["file_bytes"]
    assert 200e6 < f16 < 600e6 and f16 / tq2 > 3
    outs = {}
    for enc in ("tq2_0", "f16"):
        g = tern("generate", f"demo:{enc}", "-p", "Hello", "--json", "-n", "6", "-t", "0", "--ignore-eos")
        assert g.returncode == 0, g.stderr
        events = [json.loads(line) for line in g.stdout.splitlines()]
        assert events[0]["info"]["encoding"] == enc.upper() and events[0]["synthetic_label"] == SYNTHETIC_LABEL
        outs[enc] = events[-1]["stats"]
    assert outs["f16"]["peak_rss"] > outs["tq2_0"]["peak_rss"]
