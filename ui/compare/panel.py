"""The comparison panel: a ternary model and its F16 variant side by side, benchmarks, the paper's table, history.

Standalone: it takes the registry, the store, the settings (threads, context, sampler rate, watts
per core) and Tern's version, and runs everything blocking on its `CompareWorker` thread. The
window adds it as a page and calls `shutdown()` before quitting; `models_changed` tells the window
a derived F16 variant was added to the registry.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from backend.bench.history import BenchHistory
from backend.bench.pairing import Pair
from backend.bench.paper import paper_table
from backend.bench.results import BENCH as BENCH_KIND
from backend.bench.results import COMPARE, RACE_NOTE, BenchConfig, RunResult, Sample
from backend.bench.runner import RunEvent
from backend.bench.summary import samples_per_side, source_line
from backend.errors import TernError
from backend.models.registry import Registry
from backend.store import Store
from ui.compare.banner import RatioBanner
from ui.compare.bench_tab import BenchTab
from ui.compare.history_view import HistoryView
from ui.compare.pair_picker import PairPicker
from ui.compare.paper_view import PaperView
from ui.compare.side_by_side import SideBySide
from ui.compare.worker import BENCH, FAIR, RACE, CompareJob, CompareWorker, Prepared
from ui.scroll_page import scroll_page
from ui.server_thread import serve

log = logging.getLogger("tern.ui.compare")
REPLY_TOKENS = 160


class ComparePanel(QWidget):
    models_changed = Signal()  # a derived F16 variant was added to the registry
    run_finished = Signal(object)  # a RunResult (or a list of them: the paper's shapes), on the GUI thread
    run_failed = Signal(object)  # the exception
    request_prepare = Signal(int, str)
    request_run = Signal(int, object)
    request_shapes = Signal(int, object)
    request_derive = Signal(int, str)
    request_shutdown = Signal()

    def __init__(self, registry: Registry, store: Store, settings: Any, tern_version: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ComparePanel")
        self.registry = registry
        self.store = store
        self.history = BenchHistory(store)
        self.settings = settings
        self.prepared: Prepared | None = None
        self.busy = False
        self._rid = 0
        self._active = 0  # the request whose events we show
        self._prepare_rid = 0
        self._bench_run: RunResult | None = None  # the benchmark the Benchmark tab shows
        self._side_run: RunResult | None = None  # the comparison whose figures the side-by-side columns show
        self._mode = ""  # what the active request does: fair, race, bench, shapes, derive
        self._build()
        self._start_worker(tern_version)
        self.history.mark_abandoned()
        self.refresh_models()
        self.refresh_history()

    # -- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        # In a short window (800×500) the page scrolls rather than squeeze the replies' figures out of sight.
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.scroll, body = scroll_page(self, "Compare", sideways=False)
        outer.addWidget(self.scroll)
        lay = QVBoxLayout(body)
        self.picker = PairPicker(body)
        lay.addWidget(self.picker)
        self.banner = RatioBanner(body)
        lay.addWidget(self.banner)
        self.tabs = QTabWidget(body)
        self.side = SideBySide(self.tabs)
        # the parts other code (and tests) use directly
        self.model, self.pair_note, self.derive = self.picker.model, self.picker.pair_note, self.picker.derive
        self.prompt, self.send, self.stop, self.race = self.side.prompt, self.side.send, self.side.stop, self.side.race
        self.columns = self.side.columns
        self.bench = BenchTab(self.tabs)
        self.paper = PaperView(self.tabs)
        self.history_view = HistoryView(self.tabs)
        self.tabs.addTab(self.side, "Side by side")
        self.tabs.addTab(self.bench, "Benchmark")
        self.tabs.addTab(self.paper, "Paper table")
        self.tabs.addTab(self.history_view, "History")
        lay.addWidget(self.tabs, 1)

        self.model.currentIndexChanged.connect(lambda _i: self.prepare())
        self.send.clicked.connect(self.compare)
        self.prompt.returnPressed.connect(self.compare)
        self.stop.clicked.connect(self.cancel)
        self.derive.clicked.connect(self.derive_f16)
        self.bench.run_requested.connect(self.run_benchmark)
        self.bench.stop_requested.connect(self.cancel)
        self.bench.compare_changed.connect(self._compare_with)
        self.paper.shapes_requested.connect(self.run_paper_shapes)
        self.paper.stop_requested.connect(self.cancel)
        self.history_view.open_requested.connect(self.open_run)
        self.history_view.compare_requested.connect(self._compare_with)
        self.history_view.delete_requested.connect(self.delete_run)
        self.tabs.currentChanged.connect(lambda _i: self._show_banner())

    def _start_worker(self, tern_version: str) -> None:
        s = self.settings
        self.worker = CompareWorker(self.registry, self.store, int(s.n_ctx), int(s.threads), float(s.sampler_hz),
                                    float(s.cpu_watts_per_core), tern_version or None)
        self.request_prepare.connect(self.worker.prepare)
        self.request_run.connect(self.worker.run_job)
        self.request_shapes.connect(self.worker.paper_shapes)
        self.request_derive.connect(self.worker.derive)
        self.request_shutdown.connect(self.worker.shutdown)
        self.worker.prepared.connect(self._prepared)
        self.worker.event.connect(self._event)
        self.worker.done.connect(self._finished)
        self.worker.failed.connect(self._failed)
        self.worker.progress.connect(self._progress)
        self.thread = serve(self.worker, "compare-worker")

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Cancel what runs, close the engines and the sampler, stop the thread (call before quitting)."""
        try:
            if not self.thread.isRunning():
                return True
        except RuntimeError:  # the thread object is already deleted
            return True
        self.worker.cancel_now()
        self.request_shutdown.emit()
        return self.thread.wait(timeout_ms)

    # -- models and pairing -------------------------------------------------------------------
    def refresh_models(self) -> None:
        if self.picker.fill(self.registry):
            self.prepare()
        else:
            self.send.setEnabled(False)

    def select_model(self, name: str) -> bool:
        """Pick the ternary variant of local model `name` (from the library's Compare button)."""
        self.refresh_models()
        for i in range(self.model.count()):
            if str(self.model.itemData(i)).lower().startswith(name.lower() + ":"):
                self.model.setCurrentIndex(i)
                return True
        return False

    def prepare(self) -> None:
        spec = self.model.currentData()
        if not spec:
            return
        self._rid += 1
        self._prepare_rid = self._rid
        self.prepared = None
        self.send.setEnabled(False)
        self.bench.start.setEnabled(False)
        self.picker.checking()
        self.request_prepare.emit(self._rid, spec)

    def _prepared(self, rid: int, p: Prepared) -> None:
        if rid != self._prepare_rid:
            return
        self.prepared = p
        self.picker.show_prepared(p)
        if p.pair is not None and p.error is None:
            self.side.show_pair(p.pair, p.plan)
        self._set_busy(self.busy)

    # -- running ------------------------------------------------------------------------------
    def _ready_pair(self) -> Pair | None:
        return self.prepared.pair if self.prepared and self.prepared.error is None else None

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        ready = self._ready_pair() is not None
        self.send.setEnabled(ready and not busy)
        self.stop.setEnabled(busy)
        self.bench.set_running(busy)
        self.bench.start.setEnabled(ready and not busy)
        self.paper.set_running(busy)
        self.model.setEnabled(not busy)

    def _job(self, mode: str, config: BenchConfig) -> int:
        assert self.prepared is not None
        config.threads = int(self.settings.threads)
        self._rid += 1
        self._active = self._rid
        self._mode = mode
        self._set_busy(True)
        self.request_run.emit(self._rid, CompareJob(mode, self.prepared.spec, config))
        return self._rid

    def compare(self) -> None:
        text = self.prompt.text().strip()
        if not text or self.busy or self._ready_pair() is None:
            return
        mode = RACE if self.side.racing() else FAIR
        self.side.start(race=mode == RACE)
        self.banner.show_message("Comparing…", RACE_NOTE if mode == RACE else
                                 "Fair mode: one side after the other, same prompt, seed, sampling, threads "
                                 "and context.",
                                 warning=mode == RACE)
        cfg = BenchConfig(kind=COMPARE, runs=1, tokens=REPLY_TOKENS, prompts=[text], ignore_eos=False, stream=True,
                          n_ctx=int(self.settings.n_ctx))
        self._job(mode, cfg)

    def run_benchmark(self, config: BenchConfig) -> None:
        if self.busy or self._ready_pair() is None:
            return
        self._job(BENCH, config)
        self.bench.set_running(True, 2 * config.runs * len(config.prompts))
        self.bench.status.setText("Starting: checking the files, loading and warming up both sides…")

    def run_paper_shapes(self, sizes: list[str]) -> None:
        """Say what the run takes (time, disk, what is skipped) and start it only when the user agrees."""
        from backend.bench.paper_shapes import estimate_shapes, plan_shapes, shapes_folder

        if self.busy:
            return
        config = self.bench.config()
        try:
            plans = plan_shapes(sizes, shapes_folder(), config.n_ctx or config.auto_ctx())
        except (OSError, TernError) as e:
            self.paper.status.setText(f"Could not plan the run: {e}")
            return
        estimate = estimate_shapes(plans, config, self.history.runs(kind=BENCH_KIND), config.idle_baseline)
        box = self.paper.confirm(plans, estimate)
        box.accepted.connect(lambda: self._start_paper_shapes(sizes))

    def _start_paper_shapes(self, sizes: list[str]) -> None:
        if self.busy:
            return
        config = self.bench.config()
        self._rid += 1
        self._active = self._rid
        self._mode = "shapes"
        self._set_busy(True)
        self.paper.status.setText("Planning the paper's shapes…")
        self.request_shapes.emit(self._rid, CompareJob(BENCH, "", config, extra={"shapes": sizes}))

    def derive_f16(self) -> None:
        if self.prepared is None or self.busy:
            return
        self._rid += 1
        self._active = self._rid
        self._mode = "derive"
        self._set_busy(True)
        self.picker.deriving("starting…")
        self.request_derive.emit(self._rid, self.prepared.spec)

    def cancel(self) -> None:
        if self.busy:
            self.worker.cancel_now(self._active)
            self.banner.note.setText("Stopping… what was measured is kept.")

    # -- results from the worker ----------------------------------------------------------------
    def _event(self, rid: int, ev: RunEvent) -> None:
        if rid != self._active:
            return
        col = self.columns.get(ev.side or "")
        if ev.kind == "token" and col:
            col.add_text(ev.data)
        elif ev.kind == "live" and col:
            col.show_live(ev.data)
        elif ev.kind == "reply_start" and col:
            col.start_reply()
            col.set_state("generating…")
        elif ev.kind == "sample":
            s: Sample = ev.data
            if self._mode in (BENCH, "shapes"):
                self.bench.sample_done()
            if col and self._mode in (FAIR, RACE):
                col.show_sample(s, self._power_badge(s))
        elif ev.kind in ("phase", "loaded", "warmup"):
            text = ev.data if ev.kind == "phase" else (
                f"loaded in {ev.data.load_ms:,.0f} ms" if ev.kind == "loaded" else "warmed up")
            if col:
                col.set_state(str(text))
            where = self.prepared.pair.sides[ev.side].encoding if col and self.prepared and self.prepared.pair else ""
            status = f"{where}: {text}" if where else str(text)
            if self._mode == "shapes":
                self.paper.status.setText(status)
            else:
                self.bench.status.setText(status)
        elif ev.kind == "swap":
            self.banner.note.setText(f"Swapping engines to fit in RAM: {ev.data}")

    def _power_badge(self, s: Sample) -> str:
        from backend.bench.energy import PowerLabel

        return PowerLabel.from_dict(s.energy.label).describe() if s.energy.label else ""

    def _finished(self, rid: int, result: Any) -> None:
        if rid != self._active:
            return
        self._set_busy(False)
        if isinstance(result, RunResult):
            self._show_result(result)
        elif isinstance(result, list):  # paper shapes
            self.paper.status.setText(f"Benchmarked {len(result)} shape(s).")
            if result:
                self.bench.show_run(result[-1])
        else:  # a derived variant
            self.models_changed.emit()
            self.refresh_models()
        self.refresh_history()
        if not hasattr(result, "model_name"):
            self.run_finished.emit(result)

    def _show_result(self, run: RunResult) -> None:
        if run.kind == BENCH_KIND:
            self._bench_run = run
            self.bench.show_run(run)
            self.bench.status.setText(f"Run #{run.id}: {run.status}.")
        else:
            self._side_run = run
        if run.kind != BENCH_KIND:
            roof = run.summary.get("roofline") or {}
            for side, col in self.columns.items():
                col.show_outcome([x for x in run.samples if x.side == side])
                if roof:
                    col.show_roofline(roof.get("sides", {}).get(side, {}))
        self._show_banner()

    def _show_banner(self) -> None:
        """The headline of the run the current tab shows, so it never contradicts the figures under it."""
        tab = self.tabs.currentWidget()
        run = self._bench_run if tab is self.bench else self._side_run if tab is self.side else None
        if run is None or run.status == "running":
            return
        s = run.summary
        race = run.kind == "race"
        notes = [RACE_NOTE] if race else [n for n in s.get("notes", []) if not n.startswith("context")][:2]
        if s.get("energy_reason"):
            notes.append(f"Energy per token: — ({s['energy_reason']})")
        if run.status != "complete":
            notes.insert(0, f"This run is {run.status}.")
        self.banner.show_result(s.get("headline", []), "\n".join(notes), warning=race,
                                tooltip=run.fingerprint.get("weights_note", ""), source=source_line(run),
                                solid=not race and samples_per_side(run) > 1)

    def _failed(self, rid: int, exc: Exception) -> None:
        if rid != self._active:
            return
        self._set_busy(False)
        self.run_failed.emit(exc)
        self.banner.show_message("The comparison could not run.", str(exc), warning=True)
        self.bench.status.setText(str(exc))
        self.paper.status.setText(str(exc))
        if self.prepared and self.derive.isVisible():
            self.prepare()

    def _progress(self, rid: int, what: str, fraction: float) -> None:
        if rid != self._active:
            return
        text = what if fraction < 0 else f"{what}: {fraction:.0%}"
        self.paper.status.setText(text)
        if self._mode == "derive":
            self.picker.deriving(text)

    # -- history ------------------------------------------------------------------------------
    def refresh_history(self) -> None:
        runs = self.history.runs()
        self.history_view.set_runs(runs)
        self.bench.set_previous_choices([r for r in runs if r.kind == BENCH_KIND])
        self.paper.set_rows(paper_table(runs))

    def open_run(self, run_id: int) -> None:
        run = self.history.load(run_id)
        self._bench_run = run
        self.bench.show_run(run)
        self.bench.set_previous_choices([r for r in self.history.runs() if r.kind == BENCH_KIND])
        self.tabs.setCurrentWidget(self.bench)
        self._show_banner()

    def _compare_with(self, run_id: int) -> None:
        current = self._bench_run
        if current is None:
            return
        previous = self.history.load(run_id) if run_id and run_id != current.id else None
        self.bench.show_run(current, previous)
        self.tabs.setCurrentWidget(self.bench)

    def delete_run(self, run_id: int) -> None:
        self.history.delete(run_id)
        if self._bench_run is not None and self._bench_run.id == run_id:
            self._bench_run = None
        if self._side_run is not None and self._side_run.id == run_id:
            self._side_run = None
        self.refresh_history()
