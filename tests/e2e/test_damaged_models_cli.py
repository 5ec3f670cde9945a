"""Damaged model files through the real CLI: `tern generate` and `tern models import` say one clear thing.

A sample of the fuzz corpus (tests/support/gguf_fuzz.py): cases that used to end in a traceback, one that
used to give a bare "Array length must be >= 0" without the file name, cases only llama.cpp itself refuses,
and cases llama.cpp loads (escape sequences in the name, NaN scales), which must work and print no escapes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.gguf_fuzz import corpus

SAMPLE = {  # case -> does llama.cpp load it?
    "type bitnet.context_length as f32 NaN": False,
    "value bitnet.context_length=4294967295": False,
    "scores count 2^63 (seek past 2^64)": False,
    "added general.alignment as string": False,
    "added split.count as string": False,
    "value bitnet.feed_forward_length=0": False,  # passes every header check; llama.cpp refuses it
    "missing tokenizer.ggml.tokens": False,  # likewise
    "added bitnet.attention.key_length as u32 32": False,  # passes every header check and aborts llama.cpp
    "truncated at 13545": False,
    "name with escape sequences": True,
    "TQ2_0 scales NaN in every 1th block of blk.0.attn_q.weight": True,
}
TIMEOUT_S = 120  # per command: a hang fails the test instead of stalling the suite


def tern(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=TIMEOUT_S)


@pytest.fixture(scope="module")
def sample(tiny_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("damaged")
    cases = dict(corpus(tiny_models["tq2_0"].read_bytes(), seed=11))
    out = {}
    for i, name in enumerate(SAMPLE):
        out[name] = folder / f"damaged-{i:02d}.gguf"
        out[name].write_bytes(cases[name])
    return out


def check_one_clear_message(name: str, path: Path, r: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in r.stderr, (name, r.stderr)
    assert "\x1b" not in r.stdout + r.stderr and "\x07" not in r.stdout + r.stderr, name
    if r.returncode != 0:
        said = [line for line in r.stderr.splitlines() if line.startswith("tern:")]
        assert len(said) == 1 and path.name in said[0], (name, r.stderr)


def test_generate_on_damaged_files(sample: dict[str, Path]) -> None:
    def run(name: str) -> tuple[str, subprocess.CompletedProcess[str]]:
        return name, tern("generate", str(sample[name]), "-p", "Hi", "-n", "4", "--ctx", "256", "--threads", "1")

    with ThreadPoolExecutor(2) as pool:
        for name, r in pool.map(run, SAMPLE):
            check_one_clear_message(name, sample[name], r)
            assert (r.returncode == 0) == SAMPLE[name], (name, r.returncode, r.stderr)


def test_import_refuses_what_llama_cpp_cannot_load(sample: dict[str, Path]) -> None:
    def run(name: str) -> tuple[str, subprocess.CompletedProcess[str]]:
        return name, tern("models", "import", str(sample[name]), "--name", f"case{list(SAMPLE).index(name)}")

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run, SAMPLE))
    for name, r in results:
        check_one_clear_message(name, sample[name], r)
        assert (r.returncode == 0) == SAMPLE[name], (name, r.returncode, r.stderr)
    listed = [json.loads(line) for line in tern("models", "list", "--json").stdout.splitlines()]
    registered = {v["path"] for m in listed if m["event"] == "model" for v in m["variants"]}
    assert registered == {str(sample[n]) for n, loads in SAMPLE.items() if loads}
    said = {n: r.stderr for n, r in results}
    assert "llama.cpp cannot load it" in said["value bitnet.feed_forward_length=0"]
    aborted = said["added bitnet.attention.key_length as u32 32"]
    assert "llama.cpp stopped while loading it (killed by SIGABRT" in aborted
