"""A run's summary: per side, the median and IQR of every figure; then the ternary/F16 ratios."""

from __future__ import annotations

from typing import Any

from backend import units
from backend.bench.noise import Load
from backend.bench.pairing import F16, TERNARY
from backend.bench.ratios import METRICS, compute, headline
from backend.bench.results import CANCELLED, FAILED, OK, RunResult
from backend.bench.stats import Summary, summarize


def side_summaries(run: RunResult, side: str) -> dict[str, Summary]:
    samples = run.side_samples(side)
    return {m.key: summarize(s.figure(m.key) for s in samples) for m in METRICS}


def energy_reason(run: RunResult) -> str:
    for s in run.samples:
        if s.status == OK and s.energy.j_per_token is None and s.energy.reason:
            return s.energy.reason
    return ""


def summarize_run(run: RunResult) -> dict[str, Any]:
    models = run.fingerprint.get("models", {})
    per_side: dict[str, Any] = {}
    sums: dict[str, dict[str, Summary]] = {}
    for side in (TERNARY, F16):
        sums[side] = side_summaries(run, side)
        all_s = run.side_samples(side, ok_only=False)
        per_side[side] = {
            "encoding": models.get(side, {}).get("encoding"),
            "ok": sum(s.status == OK for s in all_s),
            "failed": sum(s.status == FAILED for s in all_s),
            "cancelled": sum(s.status == CANCELLED for s in all_s),
            "figures": {k: v.to_dict() for k, v in sums[side].items()},
        }
    r = compute(sums[TERNARY], sums[F16], models.get(TERNARY, {}).get("file_bytes"),
                models.get(F16, {}).get("file_bytes"))
    reason = energy_reason(run)
    return {
        "sides": per_side,
        "ratios": r.to_dict(),
        "headline": headline(r, bool(run.fingerprint.get("same_weights"))),
        "energy_reason": reason,
    }


def figures(summary: dict[str, Any], side: str) -> dict[str, Summary]:
    raw = summary.get("sides", {}).get(side, {}).get("figures", {})
    return {k: Summary.from_dict(v) for k, v in raw.items()}


KIND_NAMES = {"compare": "Comparison", "bench": "Benchmark", "race": "Race"}


def samples_per_side(run: RunResult) -> int:
    """Measured replies on the side with fewer of them (what a median stands on)."""
    sides = run.summary.get("sides", {})
    counts = [int(v.get("ok", 0)) for v in sides.values()] if sides else [
        len(run.side_samples(side)) for side in (TERNARY, F16)]
    return min(counts) if counts else 0


def source_line(run: RunResult) -> str:
    """Where a headline's figures come from: which run, how many samples, at what context and threads,
    and — for a single sample — how busy other programs kept the machine, so it is read for what it is.

    "Comparison #12 · one sample per side · 2,048-token context · 2 threads — a single sample: other
    programs kept 0.8 of 2 cores busy meanwhile; a benchmark gives medians with their spread"
    """
    name = KIND_NAMES.get(run.kind, run.kind.capitalize())
    parts = [f"{name} #{run.id}" if run.id is not None else name]
    n = samples_per_side(run)
    parts.append("one sample per side" if n == 1 else f"medians of {n} samples per side" if n else "no samples")
    models = run.fingerprint.get("models", {})
    n_ctx = next((m.get("n_ctx") for m in models.values() if m.get("n_ctx")), None) or run.config.n_ctx
    if n_ctx:
        parts.append(f"{int(n_ctx):,}-token context")
    threads = run.fingerprint.get("machine", {}).get("threads_used") or run.config.threads
    if threads:
        parts.append(units.count(int(threads), "thread"))
    text = " · ".join(parts)
    load = Load.from_dict(run.summary.get("load"))
    busy = load.describe() if load else "how busy the machine was is not known"
    if run.kind == "race":
        return f"{text} — both sides at once: not a fair measurement"
    if n == 1:
        return f"{text} — a single sample: {busy}; a benchmark gives medians with their spread"
    if load is not None and not load.quiet:
        return f"{text} — {busy}"
    return text
