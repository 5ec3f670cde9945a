"""Plain-text reports of comparison and benchmark runs (the CLI's output): progress, summary, history."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from backend import units
from backend.bench.energy import PowerLabel
from backend.bench.pairing import F16, TERNARY, Pair
from backend.bench.ratios import METRICS, Metric
from backend.bench.results import OK, BenchConfig, RunResult, Sample
from backend.bench.roofline import bandwidth_text, ideal_text, side_text
from backend.bench.runner import RunEvent, Runner
from backend.bench.stats import Summary
from backend.bench.summary import figures


def fmt(metric: Metric, v: float | None) -> str:
    return units.by_unit(metric.unit, v)


def median_iqr(metric: Metric, s: Summary | None) -> str:
    """ "57.7 tok/s (IQR 56.1–58.0)": the quartiles drop the unit when it is the median's."""
    if s is None or s.median is None:
        return "—"
    median, q1, q3 = fmt(metric, s.median), fmt(metric, s.q1), fmt(metric, s.q3)
    unit = median.rsplit(" ", 1)[-1]
    if q1.endswith(" " + unit) and q3.endswith(" " + unit):
        q1, q3 = q1[: -len(unit) - 1], q3[: -len(unit) - 1]
    return f"{median} (IQR {q1}–{q3})"


def sample_line(s: Sample) -> str:
    if s.status != OK or s.stats is None:
        return f"{s.status}: {s.error}" if s.error else s.status
    st = s.stats
    return (f"decode {units.tps(st.decode_tps)} · prefill {units.tps(st.prefill_tps)} · "
            f"TTFT {units.ms(st.ttft_ms)} · peak RSS {units.memory(st.peak_rss)} · "
            f"energy {units.per_token(s.energy.j_per_token)}")


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
    roof = s.get("roofline")
    if roof:
        lines.append("  memory roofline (weights read per decoded token; the KV cache is not counted):")
        lines += [f"    {side_text(roof['sides'][side], enc[side])}" for side in (TERNARY, F16)
                  if side in roof["sides"]]
        lines += [f"    {ideal_text(roof)}", f"    {bandwidth_text(roof)}"]
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
