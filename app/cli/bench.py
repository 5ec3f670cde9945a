"""`tern bench`: benchmark a ternary model against its F16 variant; the BitNet paper's table on this machine.

    tern bench TERNARY [F16] --runs N --tokens T --prompts FILE --json out.json --csv out.csv
    tern bench --paper-shapes [--shapes 700M,1.3B,3B]   synthetic models of the paper's sizes that fit here
    tern bench --table | --history | --show RUN_ID [--json out.json --csv out.csv]
    tern bench --bandwidth                           measure this computer's memory bandwidth again

N measured runs per side, interleaved A B A B after a warm-up of each, a fixed output length,
a fresh KV cache each time; medians with IQR; every run stored with its fingerprint. The summary
ends with the memory roofline: weight bytes per token, GB/s achieved and its share of this machine's
bandwidth (measured once, before the first benchmark: backend/bench/bandwidth.py), next to the ideal ratios.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app import __version__
from app.context import AppContext
from backend import units
from backend.bench.bandwidth import Bandwidth, machine_bandwidth
from backend.bench.bandwidth import measure as measure_bandwidth
from backend.bench.export import write_csv, write_json
from backend.bench.history import BenchHistory
from backend.bench.meter import default_meter
from backend.bench.pairing import resolve_pair
from backend.bench.paper import paper_table, render_text
from backend.bench.paper_shapes import PaperShapes
from backend.bench.report import print_history, print_summary, progress_printer, run_with_ctrl_c, sample_line
from backend.bench.results import BENCH, DEFAULT_PROMPT, OK, BenchConfig, RunResult
from backend.bench.runner import RunEvent, Runner
from backend.errors import TernError

ORDER = 35


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("bench", help="benchmark a ternary model against its F16 variant (medians, IQR, history)")
    p.add_argument("ternary", nargs="?", help="the ternary variant: a GGUF file or a local model name")
    p.add_argument("f16", nargs="?", help="its F16 variant (default: the same model's, from the library)")
    p.add_argument("--runs", "-r", type=int, default=5, help="measured runs per side (default 5)")
    p.add_argument("--tokens", "-n", type=int, default=128, help="output tokens per run, EOS ignored (default 128)")
    p.add_argument("--prompts", type=Path, help="a text file with one prompt per line (default: one built-in prompt)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for each side (default: physical cores)")
    p.add_argument("--ctx", type=int, default=0, help="context length (default: enough for prompt and output)")
    p.add_argument("--no-baseline", action="store_true", help="skip the idle-power baseline before each run")
    p.add_argument("--json", type=Path, metavar="OUT.json", help="write the run (fingerprint, samples, summary)")
    p.add_argument("--csv", type=Path, metavar="OUT.csv", help="write one row per measured reply")
    p.add_argument("--paper-shapes", action="store_true",
                   help="make synthetic models of the paper's sizes that fit this machine, benchmark them, "
                        "print the table")
    p.add_argument("--shapes", default="700M,1.3B,3B", help="with --paper-shapes: which sizes (default all three)")
    p.add_argument("--keep", action="store_true", help="with --paper-shapes: keep the synthetic files afterwards")
    p.add_argument("--table", action="store_true", help="print the paper's table from the benchmarks stored here")
    p.add_argument("--history", action="store_true", help="list stored comparison and benchmark runs")
    p.add_argument("--show", type=int, metavar="RUN_ID", help="print (and with --json/--csv export) a stored run")
    p.add_argument("--bandwidth", action="store_true", help="measure this computer's memory bandwidth again (a "
                                                             "streaming read test, about a second) and print it")
    p.set_defaults(func=run)


def read_prompts(path: Path | None) -> list[str]:
    if path is None:
        return [DEFAULT_PROMPT]
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise TernError(f"Cannot read the prompt file {path}: {e}.",
                        "Give a UTF-8 text file, one prompt per line.") from e
    prompts = [line.strip() for line in text.splitlines() if line.strip()]
    if not prompts:
        raise TernError(f"The prompt file {path} has no prompts.", "Write one prompt per line.")
    return prompts


def export(run: RunResult, json_out: Path | None, csv_out: Path | None) -> None:
    if json_out:
        write_json(run, json_out)
        print(f"wrote {json_out}", file=sys.stderr)
    if csv_out:
        write_csv(run, csv_out)
        print(f"wrote {csv_out}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    ctx = AppContext()
    history = BenchHistory(ctx.store)
    if args.table:
        print(render_text(paper_table(history_with_summaries(history))))
        return 0
    if args.history:
        print_history(history.runs())
        return 0
    if args.bandwidth:
        print_bandwidth(measure_bandwidth())
        return 0
    if args.show is not None:
        try:
            stored = history.load(args.show)
        except KeyError:
            raise TernError(f"There is no stored run {args.show}.", "List them with `tern bench --history`.") from None
        print_summary(stored)
        export(stored, args.json, args.csv)
        return 0
    config = BenchConfig(kind=BENCH, runs=args.runs, tokens=args.tokens, prompts=read_prompts(args.prompts),
                         threads=args.threads or ctx.settings.threads, n_ctx=args.ctx,
                         idle_baseline=not args.no_baseline)
    if args.runs < 1 or args.tokens < 2:
        raise TernError("A benchmark needs at least one run and two output tokens per run.")
    if args.paper_shapes:
        return run_paper_shapes(ctx, history, config, [s.strip() for s in args.shapes.split(",") if s.strip()],
                                args.keep)
    if not args.ternary:
        raise TernError("Name the ternary model to benchmark (or use --paper-shapes, --table, --history).",
                        "For example: tern bench demo --runs 5")
    pair = resolve_pair(ctx.registry, args.ternary, args.f16)
    meter = default_meter(ctx.settings.sampler_hz, ctx.settings.cpu_watts_per_core)
    machine = machine_bandwidth(lambda: print("… measuring this computer's memory bandwidth (once; a streaming "
                                              "read test, about a second)", file=sys.stderr, flush=True))
    runner = Runner(pair, config, history=history, meter=meter, listener=progress_printer(pair, config),
                    tern_version=__version__, bandwidth=machine)
    t0 = time.monotonic()
    try:
        result = run_with_ctrl_c(runner)
    except KeyboardInterrupt:
        return 130
    finally:
        meter.close()
    print_summary(result, time.monotonic() - t0)
    export(result, args.json, args.csv)
    return 0 if any(s.status == OK for s in result.samples) else 1


def print_bandwidth(bw: Bandwidth) -> None:
    print(f"memory bandwidth: {units.rate((bw.gb_per_s or 0) * 1e9)} — {bw.how}")
    if bw.stream_gbs:
        print(f"  streaming test: {units.rate(bw.stream_gbs * 1e9)} ({bw.stream_how})")
    if bw.decode_gbs:
        print(f"  F16 decode: {units.rate(bw.decode_gbs * 1e9)} ({bw.decode_how})")


def history_with_summaries(history: BenchHistory) -> list[RunResult]:
    return history.runs(limit=500, kind=BENCH)


def run_paper_shapes(ctx: AppContext, history: BenchHistory, config: BenchConfig, names: list[str], keep: bool) -> int:
    folder = ctx.paths.cache / "paper-shapes"
    meter = default_meter(ctx.settings.sampler_hz, ctx.settings.cpu_watts_per_core)

    def say(text: str) -> None:
        print(f"… {text}", file=sys.stderr, flush=True)

    def listener(name: str) -> Callable[[RunEvent], None]:
        def on_event(ev: RunEvent) -> None:
            if ev.kind == "sample":
                s = ev.data
                print(f"[{name}] {s.side:7s} run {s.iteration + 1}: {sample_line(s)}", file=sys.stderr, flush=True)
            elif ev.kind in ("phase", "swap"):
                say(f"{name}: {ev.data}")

        return on_event

    job = PaperShapes(folder, config, history, meter, say, listener, keep=keep, tern_version=__version__)
    previous = signal.getsignal(signal.SIGINT)

    def on_sigint(signum: int, frame: Any) -> None:
        if job.cancelled:
            raise KeyboardInterrupt
        say("cancelling — what was measured is kept; press ^C again to leave at once")
        job.cancel()

    signal.signal(signal.SIGINT, on_sigint)
    try:
        results = job.run(names)
    except KeyboardInterrupt:
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)
        meter.close()
    for r in results:
        print_summary(r)
        print()
    print(render_text(paper_table(history_with_summaries(history))))
    return 0 if any(any(s.status == OK for s in r.samples) for r in results) else 1
