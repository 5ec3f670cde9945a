"""`tern --self-test`: prove this installation works end to end, without a screen or a network.

Steps, each named in the output: read the llama.cpp build (loading the CPU backend variant of a
portable bundle), read the bundled assets, check Qt's display plugin can load (on X11), make a
tiny synthetic variant pair in a temporary folder, load each variant in an engine worker — the
same way the app does, so a frozen bundle runs its own executable in worker mode — generate, and
check the figures are there. Exits 1 with the failing step and a readable reason at the first
failure; never a bare traceback.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from app import __version__

REQUIRED = (
    "prompt_tokens",
    "output_tokens",
    "ttft_ms",
    "prefill_tps",
    "decode_tps",
    "total_ms",
    "peak_rss",
    "cpu_s",
)
# One resource per assets package the app reads at run time (importlib.resources, also in a bundle).
ASSETS = (("assets.icons", "tern.svg"), ("assets.icons", "tern-256.png"))


class StepFailed(Exception):
    pass


def _say(msg: str) -> None:
    print(f"self-test: {msg}", flush=True)


def frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def check_build() -> dict[str, Any]:
    from backend.engine.build_info import build_info

    info = build_info()
    _say(f"CPU backend: {info['backend']}; fast ternary kernels: {info['ternary_fast_note']}")
    return info


def check_assets() -> None:
    for package, name in ASSETS:
        try:
            data = resources.files(package).joinpath(name).read_bytes()
        except (OSError, ModuleNotFoundError) as e:
            raise StepFailed(f"{package}/{name} is missing from this installation ({e})") from e
        if not data:
            raise StepFailed(f"{package}/{name} is empty")
    _say(f"assets: {len(ASSETS)} files read through importlib.resources — ok")


def check_display() -> None:
    from app.qt_check import platform_plugin_problem

    problem = platform_plugin_problem()
    if problem:
        raise StepFailed(problem)
    _say(f"Qt display plugin ({os.environ.get('QT_QPA_PLATFORM') or 'default'}) can load — ok")


def check_variant(enc: str, path: Path, parent_info: dict[str, Any]) -> str:
    from backend.engine import Done, EngineClient

    with EngineClient(f"selftest-{enc}") as engine:
        loaded = engine.load(path, n_ctx=512)
        if frozen():
            import psutil

            exe = psutil.Process(loaded.pid).exe()
            if os.path.realpath(exe) != os.path.realpath(sys.executable):
                raise StepFailed(f"the engine worker runs {exe}, not this bundle's {sys.executable}")
        if loaded.system_info and loaded.system_info != parent_info["system_info"]:
            raise StepFailed(
                f"the engine worker uses another CPU backend ({loaded.system_info!r}) "
                f"than this process ({parent_info['system_info']!r})"
            )
        text, done = "", None
        for ev in engine.generate(
            [{"role": "user", "content": "Hello"}], {"max_tokens": 16, "temperature": 0, "ignore_eos": True}
        ):
            if isinstance(ev, Done):
                done = ev
            else:
                text += ev.text
    if done is None:
        raise StepFailed("the engine ended the reply without its figures")
    missing = [k for k in REQUIRED if not getattr(done.stats, k)]
    if missing:
        raise StepFailed(f"figures missing from the reply: {', '.join(missing)}")
    if not text:
        raise StepFailed("the reply has no text")
    s = done.stats
    where = "this bundle's own executable" if frozen() else "python -m backend.engine.worker"
    _say(
        f"{enc.upper()}: loaded in {loaded.load_ms:.0f} ms by {where} (pid {loaded.pid}), "
        f"{s.output_tokens} tokens, decode {s.decode_tps:.0f} tok/s, "
        f"peak RSS {s.peak_rss / 2**20:.0f} MiB — ok"
    )
    return text


def run_self_test() -> int:
    _say(
        f"tern {__version__}, Python {sys.version.split()[0]}"
        + (f" (frozen: {sys.executable})" if frozen() else "")
    )
    step = "starting"

    def run(name: str, fn: Callable[..., Any], *args: Any) -> Any:
        nonlocal step
        step = name
        return fn(*args)

    try:
        from backend.models.synth import make_pair

        info = run("reading the llama.cpp build", check_build)
        run("reading the bundled assets", check_assets)
        run("checking Qt's display plugin", check_display)
        with tempfile.TemporaryDirectory(prefix="tern-selftest-") as tmp:
            pair = run("making the tiny synthetic pair", make_pair, Path(tmp), "tiny", 1, ("tq2_0", "f16"))
            for enc, path in pair.items():
                run(f"running {enc.upper()} in an engine worker", check_variant, enc, path, info)
    except KeyboardInterrupt:
        _say(f"interrupted while {step}")
        return 130
    except Exception as e:  # every failure becomes one readable line, whatever raised it
        reason = str(e) or type(e).__name__
        if not isinstance(e, StepFailed):
            reason = f"{type(e).__name__}: {reason}" if not hasattr(e, "hint") else reason
        _say(f"FAILED while {step}: {reason}")
        return 1
    _say("all checks passed")
    return 0
