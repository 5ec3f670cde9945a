"""A run's summary: per side, the median and IQR of every figure; then the ternary/F16 ratios."""

from __future__ import annotations

from typing import Any

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
