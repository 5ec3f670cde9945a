"""`tern bench --paper-shapes`: synthetic models of the BitNet paper's sizes, benchmarked here.

For each requested size (700M, 1.3B, 3B) that fits this machine — the F16 variant must fit in
RAM, and both files on disk — make the TQ2_0/F16 pair (same seed, so the same weights), run the
benchmark, store it, and (unless asked to keep them) delete the files it made — also when it is
stopped half way, partly written files included. Sizes that do not fit are skipped with the reason.
The paper's table is then drawn from the stored runs.

`estimate_shapes` says beforehand what a run will take: the disk it needs at most and roughly how
long, from this computer's own earlier benchmarks when there are any (and says which).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from backend import units
from backend.bench.energy import EnergyMeter
from backend.bench.history import BenchHistory
from backend.bench.pairing import resolve_pair
from backend.bench.results import BENCH, COMPLETE, BenchConfig, RunResult
from backend.bench.runner import Listener, Runner
from backend.errors import TernError
from backend.models.ram_fit import ram_fit
from backend.models.synth import SHAPES, make_pair, model_filename
from backend.paths import paths

ENCODINGS = ("tq2_0", "f16")
PAPER_SIZES = [name for name, s in SHAPES.items() if s.paper_label]
GB = 1e9
# For the estimate. Writing a synthetic file: ~50 M parameters a second (measured making the demo pair on
# this project's 2-core machine, busy). Hashing both files before the benchmark: ~400 MB/s. Decode, when no
# benchmark has run here yet: weight bytes streamed per second, about what a 2-core AVX2 laptop does.
MAKE_PARAMS_PER_S = 50e6
HASH_BYTES_PER_S = 400e6
ASSUMED_DECODE_BYTES_PER_S = {"tq2_0": 12e9, "f16": 20e9}
IDLE_BASELINE_S = 5.0  # an idle-power reading before each measured reply, when there is a power source


def shapes_folder() -> Path:
    """Where the synthetic pairs are made while they are benchmarked (Tern's cache folder)."""
    return paths().cache / "paper-shapes"


class Cancelled(Exception):
    pass


@dataclass(frozen=True)
class ShapePlan:
    name: str
    fits: bool
    reason: str  # why it is skipped, or what it takes
    disk_bytes: int
    ram_bytes: int


def plan_shapes(names: list[str], folder: Path, n_ctx: int, keep: bool = False,
                available_ram: int | None = None, free_disk: int | None = None) -> list[ShapePlan]:
    unknown = [n for n in names if n not in PAPER_SIZES]
    if unknown:
        raise TernError(f"Unknown paper size {', '.join(unknown)}.", f"Choose from {', '.join(PAPER_SIZES)}.")
    if free_disk is None:
        probe = folder if folder.exists() else folder.parent
        while not probe.exists():
            probe = probe.parent
        free_disk = shutil.disk_usage(probe).free
    out = []
    for name in names:
        shape = SHAPES[name]
        disk = sum(shape.file_bytes(e) for e in ENCODINGS
                   if not (folder / model_filename(name, e)).exists())
        kv = 2 * shape.n_layer * n_ctx * shape.n_embd * 2
        fit = ram_fit(shape.file_bytes("f16"), kv, available_ram)
        what = f"{disk / GB:.1f} GB of disk, {fit.need_bytes / GB:.1f} GB of RAM for the F16 side"
        if disk > 0.9 * free_disk:
            out.append(ShapePlan(name, False, f"needs {what}; only {free_disk / GB:.1f} GB of disk free", disk,
                                 fit.need_bytes))
            continue
        if fit.verdict != "fits":
            out.append(ShapePlan(name, False, f"the F16 side would not fit in RAM comfortably ({fit.describe()})",
                                 disk, fit.need_bytes))
            continue
        out.append(ShapePlan(name, True, what, disk, fit.need_bytes))
        if keep:
            free_disk -= disk
    return out


@dataclass(frozen=True)
class ShapesEstimate:
    seconds: float
    disk_bytes: int  # the most on disk at once (each shape's files go before the next is made)
    basis: str  # where the speeds come from

    def describe(self) -> str:
        return f"about {units.clock(self.seconds)} and up to {units.size(self.disk_bytes)} of disk ({self.basis})"


def decode_speeds(runs: list[RunResult]) -> tuple[dict[str, float], str]:
    """Weight bytes per second each side decoded at in the newest complete benchmark that has both."""
    for run in runs:
        if run.kind != BENCH or run.status != COMPLETE:
            continue
        sides = run.summary.get("sides", {})
        speeds: dict[str, float] = {}
        for role, m in run.fingerprint.get("models", {}).items():
            median = sides.get(role, {}).get("figures", {}).get("decode_tps", {}).get("median")
            if median and m.get("file_bytes") and m.get("encoding"):
                enc = "f16" if str(m["encoding"]).upper() == "F16" else "tq2_0"
                speeds[enc] = float(median) * int(m["file_bytes"])
        if set(speeds) == set(ENCODINGS):
            return speeds, f"decode speeds from benchmark #{run.id} on this computer"
    return dict(ASSUMED_DECODE_BYTES_PER_S), "assumed speeds: no benchmark has run on this computer yet"


def estimate_shapes(plans: list[ShapePlan], config: BenchConfig, runs: list[RunResult],
                    idle_baseline: bool = False) -> ShapesEstimate:
    """Roughly how long benchmarking the shapes that fit takes, and the most disk it uses at once."""
    speeds, basis = decode_speeds(runs)
    seconds, disk = 0.0, 0
    replies = config.runs * len(config.prompts)
    for plan in (p for p in plans if p.fits):
        shape = SHAPES[plan.name]
        made = plan.disk_bytes / max(1, sum(shape.file_bytes(e) for e in ENCODINGS))  # 0: files already there
        seconds += made * len(ENCODINGS) * shape.n_params / MAKE_PARAMS_PER_S
        seconds += sum(shape.file_bytes(e) for e in ENCODINGS) / HASH_BYTES_PER_S
        for enc in ENCODINGS:
            per_token = shape.file_bytes(enc) / speeds[enc]
            seconds += per_token * (replies * config.tokens + config.warmup_tokens)
        if idle_baseline:
            seconds += IDLE_BASELINE_S * replies * len(ENCODINGS)
        disk = max(disk, plan.disk_bytes)
    return ShapesEstimate(seconds, disk, basis)


class PaperShapes:
    """Makes and benchmarks the paper's sizes one after the other; `cancel()` stops after saving what ran."""

    def __init__(self, folder: Path, config: BenchConfig, history: BenchHistory, meter: EnergyMeter,
                 say: Callable[[str], None], listener: Callable[[str], Listener] | None = None,
                 keep: bool = False, tern_version: str | None = None) -> None:
        self.folder = folder
        self.config = config
        self.history = history
        self.meter = meter
        self.say = say
        self.listener = listener
        self.keep = keep
        self.tern_version = tern_version
        self.cancelled = False
        self.runner: Runner | None = None

    def cancel(self) -> None:
        self.cancelled = True
        if self.runner is not None:
            self.runner.cancel()

    def run(self, names: list[str]) -> list[RunResult]:
        n_ctx = self.config.n_ctx or self.config.auto_ctx()
        results = []
        for plan in plan_shapes(names, self.folder, n_ctx, self.keep):
            if self.cancelled:
                break
            if not plan.fits:
                self.say(f"skipping {plan.name}: {plan.reason}")
                continue
            self.say(f"{plan.name}: making the synthetic TQ2_0/F16 pair ({plan.reason})")
            ours = [self.folder / model_filename(plan.name, e) for e in ENCODINGS]
            ours = [path for path in ours if not path.exists()]  # what this run makes, and so removes
            try:
                files = make_pair(self.folder, shape=plan.name, seed=0, encodings=ENCODINGS,
                                  progress=self._progress(plan.name))
            except Cancelled:
                self._remove(ours)
                break
            try:
                pair = resolve_pair(None, files["tq2_0"], files["f16"])
                cfg = replace(self.config, prompts=list(self.config.prompts))
                self.runner = Runner(pair, cfg, history=self.history, meter=self.meter,
                                     listener=self.listener(plan.name) if self.listener else None,
                                     tern_version=self.tern_version, label=f"paper shape {plan.name} (synthetic)")
                results.append(self.runner.run())
            finally:
                self.runner = None
                if not self.keep:
                    self._remove(ours)
        return results

    def _remove(self, made: list[Path]) -> None:
        """Delete the files this run made (whole or partly written); ones that were there before stay."""
        for path in made:
            path.unlink(missing_ok=True)
            path.with_name(path.name + ".part").unlink(missing_ok=True)

    def _progress(self, name: str) -> Callable[[str, float], None]:
        last: dict[str, int] = {}

        def progress(encoding: str, fraction: float) -> None:
            if self.cancelled:
                raise Cancelled
            step = int(fraction * 4)
            if last.get(encoding) != step:
                last[encoding] = step
                self.say(f"{name}: writing {encoding.upper()} … {fraction:.0%}")

        return progress
