"""Export a run to JSON (everything: fingerprint, configuration, summary, samples) or CSV (one row per
sample), and read both back — so a result can be archived, shared and compared later.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

from backend.bench.energy import EnergyFigure, PowerLabel
from backend.bench.results import BenchConfig, RunResult, Sample
from backend.engine.protocol import TurnStats

FORMAT = "tern-bench/1"
STATS_FIELDS = [f.name for f in fields(TurnStats)]
ENERGY_FIELDS = ["j_per_token", "joules", "prefill_j", "decode_j", "avg_watts", "baseline_watts"]
RUN_FIELDS = ["run_id", "run_kind", "run_status", "run_label", "run_created_at"]
SAMPLE_FIELDS = ["side", "encoding", "model", "iteration", "prompt_index", "status", "error"]
POWER_FIELDS = ["power_source", "power_covers", "power_method", "power_reason", "power_badge", "energy_status",
                "baseline_note", "energy_reason"]
CSV_FIELDS = RUN_FIELDS + SAMPLE_FIELDS + STATS_FIELDS + ENERGY_FIELDS + POWER_FIELDS
_INTS = {"prompt_tokens", "prompt_cached", "output_tokens", "peak_rss", "rss", "t_start_ns", "t_first_ns", "t_end_ns",
         "iteration", "prompt_index", "run_id"}
_STRS = {"stop_reason"}


class ExportError(ValueError):
    pass


# -- JSON ---------------------------------------------------------------------------------------
def sample_to_dict(s: Sample) -> dict[str, Any]:
    return {"side": s.side, "iteration": s.iteration, "prompt_index": s.prompt_index, "status": s.status,
            "error": s.error, "stats": s.stats.to_dict() if s.stats else None, "energy": s.energy.to_dict()}


def sample_from_dict(d: dict[str, Any]) -> Sample:
    return Sample(d["side"], int(d["iteration"]), int(d["prompt_index"]), d["status"],
                  TurnStats.from_dict(d["stats"]) if d.get("stats") else None,
                  EnergyFigure.from_dict(d.get("energy") or {}), d.get("error", ""))


def to_json_dict(run: RunResult) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "run": {"id": run.id, "created_at": run.created_at, "kind": run.kind, "status": run.status,
                "label": run.label, "config": run.config.to_dict(), "fingerprint": run.fingerprint,
                "summary": run.summary},
        "samples": [sample_to_dict(s) for s in run.samples],
    }


def from_json_dict(d: dict[str, Any]) -> RunResult:
    if d.get("format") != FORMAT:
        raise ExportError(f"not a Tern benchmark export (format {d.get('format')!r}, expected {FORMAT!r})")
    r = d["run"]
    return RunResult(kind=r["kind"], config=BenchConfig.from_dict(r["config"]), status=r["status"], id=r["id"],
                     created_at=r["created_at"], label=r.get("label", ""), fingerprint=r["fingerprint"],
                     summary=r["summary"], samples=[sample_from_dict(s) for s in d["samples"]])


def write_json(run: RunResult, path: Path) -> None:
    path.write_text(json.dumps(to_json_dict(run), indent=2, ensure_ascii=False), encoding="utf-8")


def read_json(path: Path) -> RunResult:
    try:
        return from_json_dict(json.loads(path.read_text(encoding="utf-8")))
    except (KeyError, TypeError, json.JSONDecodeError) as e:
        raise ExportError(f"{path} is not a readable Tern benchmark export ({e})") from e


# -- CSV ----------------------------------------------------------------------------------------
def csv_rows(run: RunResult) -> list[dict[str, Any]]:
    models = run.fingerprint.get("models", {})
    out = []
    for s in run.samples:
        m = models.get(s.side, {})
        label = PowerLabel.from_dict(s.energy.label or {})
        row: dict[str, Any] = {
            "run_id": run.id, "run_kind": run.kind, "run_status": run.status, "run_label": run.label,
            "run_created_at": run.created_at, "side": s.side, "encoding": m.get("encoding", ""),
            "model": m.get("model", ""), "iteration": s.iteration, "prompt_index": s.prompt_index,
            "status": s.status, "error": s.error,
            "energy_reason": s.energy.reason, "energy_status": s.energy.status, "baseline_note": s.energy.baseline_note,
        }
        if s.energy.label:
            row.update({"power_source": label.source, "power_covers": label.covers, "power_method": label.method,
                        "power_reason": label.reason, "power_badge": label.badge})
        stats = s.stats.to_dict() if s.stats else {}
        row.update({k: stats.get(k) for k in STATS_FIELDS})
        row.update({k: getattr(s.energy, k) for k in ENERGY_FIELDS})
        out.append(row)
    return out


def to_csv(run: RunResult) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for row in csv_rows(run):
        w.writerow({k: "" if v is None else v for k, v in row.items()})
    return buf.getvalue()


def _value(key: str, text: str) -> Any:
    if text == "":
        return None
    if key in _INTS:
        return int(text)
    if key in _STRS:
        return text
    return float(text)


def samples_from_csv(text: str) -> list[Sample]:
    """The samples of a CSV export (figures, status and energy; run-level fields are in the JSON)."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [f for f in ("side", "iteration", "status") if f not in (reader.fieldnames or [])]
    if missing:
        raise ExportError(f"not a Tern benchmark CSV (no column {', '.join(missing)})")
    out = []
    for row in reader:
        stats_present = row.get("output_tokens", "") != ""
        stats = TurnStats(**{k: _value(k, row[k]) for k in STATS_FIELDS}) if stats_present else None
        label = (PowerLabel(row["power_source"], row["power_covers"], row["power_method"], row["power_reason"],
                            row["power_badge"]).to_dict() if row.get("power_source") else {})
        energy = EnergyFigure(**{k: _value(k, row[k]) for k in ENERGY_FIELDS}, label=label,
                              status=row.get("energy_status") or "unavailable",
                              baseline_note=row.get("baseline_note", ""),
                              reason=row.get("energy_reason", ""))
        out.append(Sample(row["side"], int(row["iteration"]), int(row["prompt_index"]), row["status"], stats,
                          energy, row.get("error", "")))
    return out


def write_csv(run: RunResult, path: Path) -> None:
    path.write_text(to_csv(run), encoding="utf-8")
