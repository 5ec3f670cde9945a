"""Benchmark history in the store's `bench_runs` / `bench_samples` tables.

A run is written when it starts (status "running"), each sample as soon as it is measured,
and the summary when it ends — so a cancelled benchmark keeps its partial results (status
"incomplete"), and one cut off by a crash or a kill is found "running" at the next start and
marked incomplete too. Replies' text is not stored, only their figures.
"""

from __future__ import annotations

import json
from typing import Any

from backend.bench.energy import EnergyFigure
from backend.bench.results import INCOMPLETE, RUNNING, BenchConfig, RunResult, Sample
from backend.engine.protocol import TurnStats
from backend.store import Store


class BenchHistory:
    def __init__(self, store: Store) -> None:
        self.store = store

    def start(self, run: RunResult) -> int:
        cur = self.store.db.execute(
            "INSERT INTO bench_runs (created_at, kind, status, label, fingerprint_json, config_json, summary_json)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (run.created_at, run.kind, run.status, run.label, json.dumps(run.fingerprint),
             json.dumps(run.config.to_dict()), json.dumps(run.summary)),
        )
        run.id = int(cur.lastrowid)  # type: ignore[arg-type]
        return run.id

    def add_sample(self, run_id: int, sample: Sample) -> None:
        stats: dict[str, Any] = sample.stats.to_dict() if sample.stats else {}
        if sample.error:
            stats["error"] = sample.error
        self.store.db.execute(
            "INSERT INTO bench_samples (run_id, side, iteration, prompt_index, status, stats_json, energy_json)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (run_id, sample.side, sample.iteration, sample.prompt_index, sample.status, json.dumps(stats),
             json.dumps(sample.energy.to_dict())),
        )

    def finish(self, run: RunResult) -> None:
        assert run.id is not None
        self.store.db.execute(
            "UPDATE bench_runs SET status = ?, label = ?, fingerprint_json = ?, summary_json = ? WHERE id = ?",
            (run.status, run.label, json.dumps(run.fingerprint), json.dumps(run.summary), run.id),
        )

    def mark_abandoned(self) -> int:
        """Runs still 'running' when Tern starts were cut off; keep their samples, mark them incomplete."""
        cur = self.store.db.execute("UPDATE bench_runs SET status = ? WHERE status = ?", (INCOMPLETE, RUNNING))
        return cur.rowcount

    def runs(self, limit: int = 100, kind: str | None = None) -> list[RunResult]:
        """Past runs, newest first, with their summaries but without samples."""
        sql = "SELECT * FROM bench_runs"
        args: tuple[Any, ...] = ()
        if kind:
            sql += " WHERE kind = ?"
            args = (kind,)
        rows = self.store.db.execute(sql + " ORDER BY created_at DESC, id DESC LIMIT ?", (*args, limit))
        return [_run(r) for r in rows]

    def load(self, run_id: int) -> RunResult:
        row = self.store.db.execute("SELECT * FROM bench_runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(run_id)
        run = _run(row)
        rows = self.store.db.execute("SELECT * FROM bench_samples WHERE run_id = ? ORDER BY id", (run_id,))
        run.samples = [_sample(r) for r in rows]
        return run

    def delete(self, run_id: int) -> None:
        self.store.db.execute("DELETE FROM bench_runs WHERE id = ?", (run_id,))


def _run(row: Any) -> RunResult:
    return RunResult(
        kind=row["kind"], config=BenchConfig.from_dict(json.loads(row["config_json"] or "{}")), status=row["status"],
        id=row["id"], created_at=row["created_at"], label=row["label"] or "",
        fingerprint=json.loads(row["fingerprint_json"] or "{}"), summary=json.loads(row["summary_json"] or "{}"),
    )


def _sample(row: Any) -> Sample:
    stats = json.loads(row["stats_json"] or "{}")
    error = str(stats.pop("error", ""))
    return Sample(row["side"], row["iteration"], row["prompt_index"], row["status"],
                  TurnStats.from_dict(stats) if stats else None,
                  EnergyFigure.from_dict(json.loads(row["energy_json"] or "{}")), error)
