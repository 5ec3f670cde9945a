"""`tern compare` and `tern bench` as a person runs them: real processes, real engines, output read back."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from backend.bench.export import read_json, samples_from_csv
from backend.models.synth import SHAPES, make_model


def tern(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=timeout)


def test_compare_json_streams_both_sides_then_the_run(tiny_models: dict[str, Path]) -> None:
    r = tern("compare", str(tiny_models["tq2_0"]), "--prompt", "Hello", "--json", "-n", "12", "--ignore-eos",
             "--threads", "1")
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.split("\n") if line]  # (splitlines would cut odd token text)
    tokens = {side: [e for e in events if e["event"] == "token" and e["side"] == side] for side in ("ternary", "f16")}
    samples = [e for e in events if e["event"] == "sample"]
    for s in samples:  # one event per batch of tokens the engine sent, together the whole reply
        assert 1 <= len(tokens[s["side"]]) <= 12 and "".join(e["text"] for e in tokens[s["side"]]) == s["text"]
    assert [s["side"] for s in samples] == ["ternary", "f16"] and all(s["status"] == "ok" for s in samples)
    assert all(s["stats"]["output_tokens"] == 12 and s["stats"]["decode_tps"] > 0 for s in samples)
    assert all(s["energy"]["j_per_token"] is None and s["energy"]["reason"] for s in samples)
    result = events[-1]
    assert result["event"] == "result" and result["run"]["kind"] == "compare"
    assert result["run"]["summary"]["headline"][-1] == "same weights"
    fp = result["run"]["fingerprint"]
    assert fp["machine"]["threads_used"] == 1 and len(fp["models"]["f16"]["sha256"]) == 64


def test_compare_text_prints_both_replies_and_the_ratios(tiny_models: dict[str, Path]) -> None:
    r = tern("compare", str(tiny_models["tq1_0"]), str(tiny_models["f16"]), "-p", "Hi", "-n", "8", "--ignore-eos")
    assert r.returncode == 0, r.stderr
    assert "── TQ1_0" in r.stdout and "── F16" in r.stdout
    assert "less RAM" in r.stdout or "more RAM" in r.stdout or "same RAM" in r.stdout
    assert "same weights" in r.stdout and "random weights" in r.stderr


def test_compare_refuses_a_mismatched_pair(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    other = make_model(tmp_path / "three-F16.gguf", replace(SHAPES["tiny"], n_layer=3), "f16", seed=7)
    r = tern("compare", str(tiny_models["tq2_0"]), str(other), "-p", "Hi")
    assert r.returncode == 1
    assert "not the same model in two encodings" in r.stderr and "block count 2 vs 3" in r.stderr


def test_bench_exports_round_trip_and_history_lists_it(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("First prompt\n\nSecond prompt\n", encoding="utf-8")
    out_json, out_csv = tmp_path / "run.json", tmp_path / "run.csv"
    r = tern("bench", str(tiny_models["tq2_0"]), "--runs", "2", "--tokens", "8", "--prompts", str(prompts),
             "--json", str(out_json), "--csv", str(out_csv), "--threads", "1")
    assert r.returncode == 0, r.stderr
    assert "decode" in r.stdout and "(IQR" in r.stdout and "interleaved A B A B" in r.stdout
    assert "[8/8]" in r.stderr
    run = read_json(out_json)
    assert run.status == "complete" and len(run.samples) == 8
    assert [s.side for s in run.samples][:4] == ["ternary", "f16", "ternary", "f16"]
    assert {s.prompt_index for s in run.samples} == {0, 1}
    assert samples_from_csv(out_csv.read_text(encoding="utf-8")) == [
        replace(s, text="") for s in run.samples]
    assert run.fingerprint["llama_cpp"]["simd"] and run.fingerprint["tern_version"]
    listed = tern("bench", "--history")
    assert listed.returncode == 0 and f"{run.id:5d}" in listed.stdout and "complete" in listed.stdout
    shown = tern("bench", "--show", str(run.id), "--csv", str(tmp_path / "again.csv"))
    assert shown.returncode == 0 and (tmp_path / "again.csv").read_text() == out_csv.read_text()
    table = tern("bench", "--table")
    assert table.returncode == 0 and "2.60×" in table.stdout and "not benchmarked here" in table.stdout
    assert "What differs" in table.stdout


def test_bench_with_an_empty_prompt_file_says_so(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    r = tern("bench", str(tiny_models["tq2_0"]), "--prompts", str(empty))
    assert r.returncode == 1 and "has no prompts" in r.stderr


def test_ctrl_c_keeps_what_was_measured(tiny_models: dict[str, Path]) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "app", "bench", str(tiny_models["tq2_0"]), "--runs", "200",
                             "--tokens", "16", "--threads", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    seen = ""
    deadline = time.monotonic() + 120
    assert proc.stderr is not None
    while "[3/400]" not in seen and time.monotonic() < deadline:
        seen += proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "incomplete" in out and "cancelling" in err
    listed = tern("bench", "--history")
    assert "incomplete" in listed.stdout
