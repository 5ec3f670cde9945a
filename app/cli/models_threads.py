"""`tern models calibrate NAME` and what `tern models list` says about threads and weight traffic.

Calibration loads a variant in a fresh engine, times decode steps and prompt batches at several thread
counts (backend/engine/threads.py), keeps the choice for that file on this CPU, and prints the figures.
Ctrl-C stops it and keeps nothing.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.cli.models_hub import run_cancellable
from app.cli.output import emit_json
from app.context import AppContext
from backend import units
from backend.bench.roofline import traffic_of
from backend.engine import threads
from backend.errors import TernError


class CalibrateError(TernError):
    code = "calibrate_failed"


def facts_lines(path: Any, setting: int) -> list[str]:
    traffic, why = traffic_of(path)
    choice = threads.choose(path, setting)
    lines = [f"threads: {choice.text}"]
    if choice.calibration:
        lines.append(f"  measured: {choice.calibration.figures()}")
    if traffic:
        lines.append(f"reads {units.size(traffic.total)} of weights per token (output head {traffic.head_type}, "
                     f"{units.size(traffic.head)})")
    else:
        lines.append(f"weights per token: {units.DASH} ({why})")
    return lines


def run_calibrate(args: argparse.Namespace) -> int:
    ctx = AppContext()
    name, _, enc = args.model.partition(":")
    model = ctx.registry.find(name)
    if model is None:
        raise CalibrateError(f"There is no model called {name} in the library.", "See `tern models list`.")
    variants = [v for v in model.variants if v.usable and (not enc or v.encoding.lower() == enc.lower())]
    if not variants:
        raise CalibrateError(f"{args.model} has no usable variant to calibrate.", "See `tern models list`.")
    for v in variants:
        label = f"{v.model_name}:{v.encoding.lower()}"

        def progress(done: int, total: int, what: str, label: str = label) -> None:
            if args.json:
                emit_json({"event": "progress", "variant": label, "done": done, "total": total, "what": what})
            else:
                print(f"\r{label}: {what} ({done}/{total})" + " " * 16, end="", file=sys.stderr, flush=True)

        try:
            cal = run_cancellable(lambda cancel, v=v, p=progress: threads.calibrate_file(v.path, cancel, p))
        except threads.CalibrationCancelled as e:
            raise CalibrateError(str(e)) from e
        if args.json:
            emit_json({"event": "done", "variant": label, "path": str(v.path), "calibration": cal.to_dict()})
            continue
        gain_d, gain_p = cal.gain()
        print(file=sys.stderr)
        print(f"{label}: {units.count(cal.n_threads, 'thread')} for decode, {cal.n_threads_batch} for prompts "
              f"(default: {cal.default}, the physical cores; measured in {cal.seconds:.1f} s)\n"
              f"  {cal.figures()}\n  chosen vs default: decode {units.times(gain_d)}, prompts {units.times(gain_p)}")
    if ctx.settings.threads and not args.json:
        print(f"Note: Settings name {units.count(ctx.settings.threads, 'thread')}, which wins over the calibration "
              "until Threads is set back to Automatic.")
    return 0
