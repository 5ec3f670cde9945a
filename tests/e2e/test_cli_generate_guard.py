"""`tern generate` against an engine that freezes, and input that used to crash it (real processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from backend.engine.hardware import logical_cpus


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "app", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})


@pytest.mark.skipif(sys.platform == "win32", reason="SIGSTOP is POSIX")
def test_a_frozen_engine_ends_generate_with_the_partial_reply_and_a_reason(long_tiny: Path) -> None:
    proc = start("generate", str(long_tiny), "-p", "Hello", "--json", "-n", "1000000", "--ignore-eos",
                 "--ctx", "65536", "--threads", "1", env={"TERN_ENGINE_HANG_S": "2"})
    lines: list[bytes] = []
    streaming = threading.Event()

    def drain() -> None:  # read everything, so a full pipe never blocks tern
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if sum(b'"token"' in x for x in lines) >= 5:
                streaming.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        assert streaming.wait(60)
        children = psutil.Process(proc.pid).children()
        assert len(children) == 1
        engine = children[0]
        engine.send_signal(signal.SIGSTOP)
        t0 = time.monotonic()
        proc.wait(60)  # before the fix: never returned
        elapsed = time.monotonic() - t0
        reader.join(10)
        assert proc.stderr is not None
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3 and elapsed < 30
    events = [json.loads(x) for x in lines]
    assert events[-1]["event"] == "error" and events[-1]["code"] == "hung"
    assert "stopped responding" in events[-1]["message"] and f"pid {engine.pid}" in events[-1]["message"]
    assert b"Traceback" not in err and b"stopped responding" in err
    assert not psutil.pid_exists(engine.pid) or engine.status() == psutil.STATUS_ZOMBIE


def test_a_prompt_that_is_not_utf8_is_a_clear_error_not_an_engine_crash(tiny: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "app", "generate", str(tiny), "-p", os.fsdecode(b"hi \xff there"),
                        "-n", "3"], capture_output=True, timeout=120)
    err = r.stderr.decode()
    assert r.returncode == 1 and "not valid UTF-8" in err and "byte 0xff" in err
    assert "engine" not in err.lower() and "Traceback" not in err


def test_absurd_thread_counts_run_on_the_cpus_there_are(tiny: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "app", "generate", str(tiny), "-p", "Hi", "-n", "3", "--json",
                        "--threads", "100000"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr  # before: the engine died of SIGSEGV
    events = [json.loads(x) for x in r.stdout.splitlines()]
    assert events[0]["info"]["n_threads"] == logical_cpus()
    assert events[-1]["event"] == "done" and events[-1]["stats"]["output_tokens"] == 3
    assert f"uses {logical_cpus()}" in r.stderr
