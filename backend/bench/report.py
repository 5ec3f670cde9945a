"""Plain-text reports of comparison and benchmark runs (the CLI's output): progress, summary, history."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from backend.bench.energy import PowerLabel
from backend.bench.pairing import F16, TERNARY, Pair
from backend.bench.ratios import METRICS, Metric
from backend.bench.results import OK, BenchConfig, RunResult, Sample
from backend.bench.runner import RunEvent, Runner
from backend.bench.stats import Summary
from backend.bench.summary import figures


def fmt(metric: Metric, v: float | None, unit: bool = True) -> str:
    if v is None:
        return "—"
    if metric.unit == "bytes":
        text, u = f"{v / 1024**2:,.0f}", "MiB"
    elif metric.unit == "J/token":
        text, u = f"{v:.4f}", "J/token"
    elif metric.unit == "ms":
        text, u = f"{v:,.0f}", "ms"
    else:
        text, u = f"{v:,.1f}", metric.unit
    return f"{text} {u}" if unit else text


def median_iqr(metric: Metric, s: Summary | None) -> str:
    if s is None or s.median is None:
        return "—"
    return f"{fmt(metric, s.median)} (IQR {fmt(metric, s.q1, False)}–{fmt(metric, s.q3, False)})"


def sample_line(s: Sample) -> str:
    if s.status != OK or s.stats is None:
        return f"{s.status}: {s.error}" if s.error else s.status
    st = s.stats
    j = f"{s.energy.j_per_token:.4f} J/token" if s.energy.j_per_token is not None else "J/token —"
    return (f"decode {st.decode_tps or 0:.1f} tok/s · prefill {st.prefill_tps or 0:.1f} tok/s · "
            f"TTFT {st.ttft_ms or 0:.0f} ms · peak RSS {st.peak_rss / 1024**2:,.0f} MiB · {j}")


def progress_printer(pair: Pair, config: BenchConfig, out: Any = None) -> Callable[[RunEvent], None]:
    """Prints each phase and each measured reply to stderr as the benchmark goes."""
    stream = out or sys.stderr
    total = 2 * config.runs * len(config.prompts)
    done = [0]

    def on_event(ev: RunEvent) -> None:
        if ev.kind in ("phase", "swap"):
            print(f"… {ev.data}", file=stream, flush=True)
        elif ev.kind == "sample":
            done[0] += 1
            s: Sample = ev.data
            enc = pair.sides[s.side].encoding
            print(f"[{done[0]}/{total}] {enc:6s} run {s.iteration + 1} prompt {s.prompt_index + 1}: {sample_line(s)}",
                  file=stream, flush=True)

    return on_event


def summary_text(run: RunResult, seconds: float | None = None) -> str:
    models = run.fingerprint.get("models", {})
    enc = {side: models.get(side, {}).get("encoding", side) for side in (TERNARY, F16)}
    s = run.summary
    lines = [f"Run {run.id} · {run.kind} · {run.status} · {run.label}" + (f" · {seconds:.0f} s" if seconds else "")]
    rows = [("", f"{enc[TERNARY]} median (IQR)", f"{enc[F16]} median (IQR)")]
    tq, fp = figures(s, TERNARY), figures(s, F16)
    for m in METRICS:
        rows.append((m.name + (" (decode)" if m.key == "j_per_token" else ""), median_iqr(m, tq.get(m.key)),
                     median_iqr(m, fp.get(m.key))))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    sides = s.get("sides", {})
    counts = " · ".join(f"{enc[k]}: {v.get('ok', 0)} ok, {v.get('failed', 0)} failed, {v.get('cancelled', 0)} cancelled"
                        for k, v in sides.items())
    lines.append(f"  replies: {counts}")
    lines.append("  " + " · ".join(s.get("headline", [])))
    ratios = s.get("ratios", {})
    if ratios.get("file"):
        lines.append(f"  weights file: {ratios['file']:.2f}× smaller ({enc[TERNARY]} vs {enc[F16]})")
    power = PowerLabel.from_dict(run.fingerprint.get("power", {}))
    lines.append(f"  power: {power.describe()}")
    if s.get("energy_reason") and s["energy_reason"] != power.reason:
        lines.append(f"  energy per token: — because {s['energy_reason']}")
    lines += [f"  {n}" for n in s.get("notes", [])]
    if run.fingerprint.get("weights_note"):
        lines.append(f"  {run.fingerprint['weights_note']}")
    return "\n".join(lines)


def print_summary(run: RunResult, seconds: float | None = None) -> None:
    print(summary_text(run, seconds))


def history_text(runs: list[RunResult]) -> str:
    if not runs:
        return "No stored runs yet. Try: tern bench demo --runs 3"
    lines = []
    for r in runs:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at))
        head = " · ".join(r.summary.get("headline", [])[:2]) or "no results"
        lines.append(f"{r.id:5d}  {when}  {r.kind:8s} {r.status:10s} {r.label}  —  {head}")
    return "\n".join(lines)


def print_history(runs: list[RunResult]) -> None:
    print(history_text(runs))


def run_with_ctrl_c(runner: Runner) -> RunResult:
    """Run in the main thread; the first ^C cancels (results so far are kept), a second one leaves."""
    previous = signal.getsignal(signal.SIGINT)

    def on_sigint(signum: int, frame: Any) -> None:
        if runner.cancelled:
            raise KeyboardInterrupt
        print("\ncancelling — what was measured is kept; press ^C again to leave at once", file=sys.stderr)
        runner.cancel()

    signal.signal(signal.SIGINT, on_sigint)
    try:
        return runner.run()
    finally:
        signal.signal(signal.SIGINT, previous)
