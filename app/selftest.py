"""`tern --self-test`: prove this installation works end to end, without a screen or a network.

Makes a tiny synthetic variant pair in a temporary folder, loads each variant in an engine
worker (the same way the app does, so a frozen bundle tests its own worker mode), generates,
and checks the figures are there. Exits non-zero with a readable reason at the first failure.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from app import __version__
from backend.engine import Done, EngineClient
from backend.errors import TernError
from backend.models.synth import make_pair

REQUIRED = ("prompt_tokens", "output_tokens", "ttft_ms", "prefill_tps", "decode_tps", "total_ms", "peak_rss", "cpu_s")


def _say(msg: str) -> None:
    print(f"self-test: {msg}", flush=True)


def run_self_test() -> int:
    _say(f"tern {__version__}, Python {sys.version.split()[0]}" + (" (frozen)" if getattr(sys, "frozen", False) else ""))
    step = "starting"
    try:
        step = "reading the llama.cpp build"
        from backend.engine.build_info import build_info

        info = build_info()
        _say(f"CPU backend: {info['backend']}; ternary fast path: {info['ternary_fast_note']}")
        with tempfile.TemporaryDirectory(prefix="tern-selftest-") as tmp:
            step = "making the tiny synthetic pair"
            pair = make_pair(Path(tmp), shape="tiny", seed=1, encodings=("tq2_0", "f16"))
            texts = {}
            for enc, path in pair.items():
                step = f"loading {enc.upper()} in the engine worker"
                with EngineClient(f"selftest-{enc}") as engine:
                    loaded = engine.load(path, n_ctx=512)
                    step = f"generating with {enc.upper()}"
                    text, done = "", None
                    for ev in engine.generate([{"role": "user", "content": "Hello"}],
                                              {"max_tokens": 16, "temperature": 0, "ignore_eos": True}):
                        if isinstance(ev, Done):
                            done = ev
                        else:
                            text += ev.text
                if done is None:
                    raise RuntimeError("the engine ended the reply without its figures")
                missing = [k for k in REQUIRED if not getattr(done.stats, k)]
                if missing:
                    raise RuntimeError(f"figures missing from the reply: {', '.join(missing)}")
                texts[enc] = text
                s = done.stats
                _say(f"{enc.upper()}: loaded in {loaded.load_ms:.0f} ms, {s.output_tokens} tokens, "
                     f"decode {s.decode_tps:.0f} tok/s, peak RSS {s.peak_rss / 2**20:.0f} MiB — ok")
            step = "comparing the two variants"
            if not texts["tq2_0"] or not texts["f16"]:
                raise RuntimeError("a variant produced no text")
    except (TernError, RuntimeError, OSError, ImportError) as e:
        _say(f"FAILED while {step}: {e}")
        return 1
    _say("all checks passed")
    return 0
