"""Calibrated threads against the default (physical cores): what the calibration picks, what it costs, and
whether a model runs at least as fast with its choice.

The 700M shape (bitnet_b1_58-large) in TQ2_0 and F16. Each file is calibrated as the first automatic load
does it (backend/engine/threads.py, in the loaded engine), then decode and prompt speed are measured with
the default counts and with the calibrated ones, in alternating order (default, calibrated, calibrated,
default, …) in one engine per file, switching threads on the live context. The target (issue 14): the
calibrated choice is never slower than the default by more than noise — the printout gives both medians
with their spread.
"""

from __future__ import annotations

import os
import tempfile

from backend.engine import Done, EngineClient
from backend.engine import threads as T
from backend.engine.calibrate import candidates
from backend.engine.hardware import physical_cores
from tests.bench.conftest import iqr, median, report

PROMPT = "A heron counts fish by threes at dawn, then by fives at dusk. " * 8  # ~130 tokens
ROUNDS, TOKENS = 6, 24


def turn(engine: EngineClient) -> Done:
    done = None
    for ev in engine.generate(prompt=PROMPT, params={"max_tokens": TOKENS, "temperature": 0, "ignore_eos": True,
                                                     "reuse_cache": False}):
        if isinstance(ev, Done):
            done = ev
    assert done is not None
    return done


def test_calibrated_threads_vs_the_physical_core_default(synthetic_models, monkeypatch) -> None:
    monkeypatch.setenv("TERN_HOME", tempfile.mkdtemp(prefix="tern-threads-bench-"))  # no kept calibration
    paths = synthetic_models("700M", "tq2_0", "f16")
    default = physical_cores()
    rows = [("model", "calibration", "chosen (decode / prompt)", "decode tok/s default → calibrated",
             "prompt tok/s default → calibrated", "decode ratio", "prompt ratio")]
    for enc, path in paths.items():
        with EngineClient(f"threads-bench-{enc}") as engine:
            engine.load(path, n_ctx=1024, n_threads=default)
            cal = T.calibrate(engine, path)
            figures = {"default": {"d": [], "p": []}, "calibrated": {"d": [], "p": []}}
            settings = {"default": (default, default), "calibrated": (cal.n_threads, cal.n_threads_batch)}
            turn(engine)  # warm-up
            for rnd in range(ROUNDS):
                order = ["default", "calibrated"] if rnd % 2 == 0 else ["calibrated", "default"]
                for which in order:
                    engine.set_threads(*settings[which])
                    st = turn(engine).stats
                    figures[which]["d"].append(st.decode_tps)
                    figures[which]["p"].append(st.prefill_tps)

        def cell(key: str, figures: dict = figures) -> str:
            out = []
            for which in ("default", "calibrated"):
                v = figures[which][key]
                q1, q3 = iqr(v)
                out.append(f"{median(v):.1f} ({q1:.1f}–{q3:.1f})")
            return " → ".join(out)

        rows.append((enc.upper(), f"{cal.seconds:.1f} s; {cal.figures()}",
                     f"{cal.n_threads} / {cal.n_threads_batch}", cell("d"), cell("p"),
                     f"{median(figures['calibrated']['d']) / median(figures['default']['d']):.2f}×",
                     f"{median(figures['calibrated']['p']) / median(figures['default']['p']):.2f}×"))
    report(f"Calibrated threads vs the default ({default} = physical cores), 700M shape, candidates "
           f"{candidates()}, {ROUNDS} rounds × {TOKENS} tokens after a ~130-token prompt, CPU {os.cpu_count()}", rows)
    assert len(rows) == 3
