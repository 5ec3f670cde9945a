"""The BitNet b1.58 paper's table, beside the same ratios measured on this machine.

For each model size benchmarked here, the table puts the measured memory and latency ratios
(F16 ÷ ternary) next to the paper's published ones and the ideal weight-streaming ratio. The
published figures live as data in `assets/reference/bitnet_b158_paper.json`.

What "memory ratio" means on a CPU needs care, so two are shown, each labelled: the engine
process's peak RSS (everything the model costs in RAM: weights, KV cache, runtime — the
nearest thing to the paper's GPU memory) and the weights file (what a decode step streams).
Latency is time per output token while decoding (F16 ms/token ÷ ternary ms/token).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from backend.bench.pairing import F16, TERNARY
from backend.bench.results import BENCH, RunResult
from backend.bench.summary import figures
from backend.models.synth import SHAPES

REFERENCE_FILE = "bitnet_b158_paper.json"
MATCH_FACTOR = 1.5  # a downloaded model sits beside a published size within this factor of its parameters

WHAT_DIFFERS = (
    "What differs: the paper measured GPUs and compared BitNet b1.58 with a separately trained FP16 LLaMA "
    "of the same size; Tern measures this CPU (llama.cpp's TQ kernels) and compares the same weights in two "
    "encodings. Memory here is the engine process's peak RSS (weights + KV cache + runtime; the paper: GPU "
    "memory), shown beside the ratio of the weights files; latency is time per output token while decoding. "
    "The ideal is 16 bits ÷ the encoding's bits per weight: what decode would gain if it only streamed weights."
)
SYNTHETIC_NOTE = ("Synthetic rows use random ternary weights in the paper's shapes (dimensions rounded to "
                  "multiples of 256): their speed and memory are real, their replies are not.")


@lru_cache(maxsize=1)
def reference() -> dict[str, Any]:
    try:
        from importlib.resources import files

        text = (files("assets.reference") / REFERENCE_FILE).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError, OSError):
        text = (Path(__file__).resolve().parents[2] / "assets" / "reference" / REFERENCE_FILE).read_text("utf-8")
    return json.loads(text)


def published(size: str) -> dict[str, Any] | None:
    return next((r for r in reference()["rows"] if r["size"] == size), None)


def ideal_ratio(encoding: str) -> float | None:
    entry = reference()["ideal"].get(encoding.upper())
    return float(entry["ratio"]) if entry else None


def size_for(n_params: int | None, shape: str | None) -> str | None:
    """The published size a model stands beside: its synthetic shape's, else the nearest within 1.5×."""
    if shape and shape in SHAPES and SHAPES[shape].paper_label:
        return SHAPES[shape].paper_label
    if not n_params:
        return None
    best = min(reference()["rows"], key=lambda r: abs(math.log(n_params / r["params"])))
    return best["size"] if abs(math.log(n_params / best["params"])) <= math.log(MATCH_FACTOR) else None


@dataclass
class PaperRow:
    size: str
    model: str  # what was measured here ("" when nothing was)
    encoding: str
    synthetic: bool
    run_id: int | None
    samples: int  # measured replies per side (the smaller side)
    rss_ratio: float | None
    file_ratio: float | None
    latency_ratio: float | None
    paper_memory: float | None
    paper_latency: float | None
    ideal: float | None
    note: str = ""

    @property
    def measured(self) -> bool:
        return self.run_id is not None


def row_for(run: RunResult) -> PaperRow | None:
    models = run.fingerprint.get("models", {})
    t = models.get(TERNARY, {})
    size = size_for(t.get("n_params"), t.get("shape"))
    if size is None:
        return None
    tq, fp = figures(run.summary, TERNARY), figures(run.summary, F16)
    ratios = run.summary.get("ratios", {})
    pub = published(size) or {}
    n = min(tq["decode_tps"].n if "decode_tps" in tq else 0, fp["decode_tps"].n if "decode_tps" in fp else 0)
    synthetic = bool(t.get("synthetic"))
    return PaperRow(
        size=size, model=str(t.get("model") or ""), encoding=str(t.get("encoding") or ""), synthetic=synthetic,
        run_id=run.id, samples=n, rss_ratio=ratios.get("ram"), file_ratio=ratios.get("file"),
        latency_ratio=ratios.get("decode"), paper_memory=pub.get("memory_ratio"),
        paper_latency=pub.get("latency_ratio"), ideal=ideal_ratio(str(t.get("encoding") or "")),
        note=pub.get("note", "") or "",
    )


def paper_table(runs: list[RunResult], include_unmeasured: bool = True) -> list[PaperRow]:
    """One row per (size, encoding) benchmarked here — the newest run with results — in size order.

    Published sizes not benchmarked yet get a row with only the paper's figures (measured: none).
    """
    newest: dict[tuple[str, str], PaperRow] = {}
    for run in sorted(runs, key=lambda r: r.created_at, reverse=True):
        if run.kind != BENCH or not any(s.get("ok") for s in run.summary.get("sides", {}).values()):
            continue
        row = row_for(run)
        if row is not None and (row.size, row.encoding) not in newest:
            newest[(row.size, row.encoding)] = row
    rows = list(newest.values())
    if include_unmeasured:
        measured_sizes = {r.size for r in rows}
        for pub in reference()["rows"]:
            if pub["size"] not in measured_sizes:
                rows.append(PaperRow(pub["size"], "", "", False, None, 0, None, None, None, pub["memory_ratio"],
                                     pub["latency_ratio"], ideal_ratio("TQ2_0"), pub.get("note", "") or ""))
    order = {r["size"]: i for i, r in enumerate(reference()["rows"])}
    rows.sort(key=lambda r: (order.get(r.size, 99), r.encoding))
    return rows


def _x(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}×"


COLUMNS = ("size", "measured here", "RAM (engine peak RSS)", "weights file", "paper memory",
           "decode latency", "paper latency", "ideal (weights)")


def table_cells(row: PaperRow) -> tuple[str, ...]:
    what = "not benchmarked here"
    if row.measured:
        tag = " (synthetic)" if row.synthetic and "synthetic" not in row.model else ""
        what = f"{row.model} {row.encoding}{tag}, n={row.samples}"
    return (row.size, what, _x(row.rss_ratio), _x(row.file_ratio), _x(row.paper_memory),
            _x(row.latency_ratio), _x(row.paper_latency), _x(row.ideal))


def render_text(rows: list[PaperRow]) -> str:
    """The table as aligned text (the CLI), with the note on what differs."""
    ref = reference()
    cells = [COLUMNS, *[table_cells(r) for r in rows]]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    lines = [f"Ternary vs F16 here, beside {ref['citation']} (FP16 ÷ BitNet b1.58; measured ratios are F16 ÷ ternary)"]
    for i, c in enumerate(cells):
        cells = zip(c, widths, strict=True)
        lines.append("  ".join(v.ljust(w) if j < 2 else v.rjust(w) for j, (v, w) in enumerate(cells)))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        if r.note:
            lines.append(f"{r.size}: {r.note}.")
    lines += ["", WHAT_DIFFERS]
    if any(r.synthetic for r in rows):
        lines.append(SYNTHETIC_NOTE)
    return "\n".join(lines)
