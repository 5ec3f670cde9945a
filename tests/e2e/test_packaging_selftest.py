"""`tern --self-test` passes on a working installation and fails with a readable reason otherwise.

The same command is what `make smoke` runs inside the built bundle; here it runs from the source tree.
"""

from __future__ import annotations

import os
import subprocess
import sys


def self_test(**env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **env}
    return subprocess.run(
        [sys.executable, "-m", "app", "--self-test"], capture_output=True, text=True, timeout=180, env=full
    )


def test_self_test_runs_both_variants_in_engine_workers() -> None:
    r = self_test()
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "CPU backend:" in out and "fast ternary kernels:" in out
    assert "TQ2_0: loaded" in out and "F16: loaded" in out
    assert "decode" in out and "peak RSS" in out
    assert out.rstrip().endswith("self-test: all checks passed")


def test_broken_llama_install_fails_with_the_step_and_reason() -> None:
    r = self_test(LLAMA_CPP_LIB_PATH="/nonexistent/llama-libs")
    assert r.returncode == 1
    assert "FAILED while reading the llama.cpp build" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr
