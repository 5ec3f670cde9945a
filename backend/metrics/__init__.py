"""Live figures a skeptic can check: the engine's RAM and CPU, and power/energy — measured or labelled.

The API (Qt-free; blocking calls marked — run them off the GUI thread)::

    from backend.metrics import Sampler

    sampler = Sampler(hz=settings.sampler_hz, watts_per_core=settings.cpu_watts_per_core).start()
    sampler.wait_probed()            # blocking ≤ ~1 s: the power source is chosen on the sampler thread
    sampler.watch(engine.pid)        # follow an engine child (None to stop); call again on restart
    sampler.power_state()            # PowerState: .available, .badge ("Measured · CPU package (RAPL)"),
                                     #   .covers, .measured, .kind, .reason (why none), .explanation, .notices
    base = sampler.measure_idle()    # BLOCKING ~3 s (more for a battery):
                                     #   Baseline(status, reason, watts, seconds)
    ...                              # run one reply; keep its Done.stats (TurnStats)
    e = sampler.turn_energy(stats, base)   # blocks ≤ 1/hz for the sample after t_end_ns
    e.status                         # "ok" | "too_short" (reason starts "run too short to measure")
                                     #   | "unavailable"
    e.reason, e.source, e.covers, e.measured
    e.joules, e.j_per_token          # net of the idle baseline when e.baseline_subtracted,
                                     #   else gross (see baseline_note)
    e.gross_joules, e.avg_watts, e.seconds, e.baseline_watts, e.baseline_note
    e.prefill / e.decode             # Part(status, reason, joules, gross_joules, seconds, per_token, tokens);
                                     #   decode.per_token = J per output token after the first
    snap = sampler.snapshot(60)      # immutable Snapshot: rss, peak_rss (+peak_kind "os"/"sampled"),
                                     #   cpu_cores,
                                     #   watts, power (PowerState), samples (last 60 s), sampler_cpu_s
    sampler.stop()

Without `base`, `turn_energy` uses the seconds just before the reply as the idle baseline if
the engine was idle then, and says so in `baseline_note` (or that idle power is included).
All times are `time.time_ns()`, the clock of `TurnStats.t_start_ns/t_first_ns/t_end_ns`.
`Sampler(power=None)` turns power off; `power=[(name, factory), …]` or a `PowerSource` (e.g.
`power.replay.ReplaySource`) replaces the platform's probe order (tests, demos).

Pure parts: `energy.integrate` / `energy.turn_energy` over recorded `Point`s; each source in
`power/` (RAPL, hwmon, amdgpu PPT, batteries, IOReport, SMC, EMI, CPU-time estimate) and
`power.probe` (order, read-twice check, fallbacks).
"""

from backend.metrics.energy import Baseline, Energy, Part, Point, TurnEnergy
from backend.metrics.sampler import Sampler
from backend.metrics.snapshot import PowerState, Sample, Snapshot

__all__ = ["Baseline", "Energy", "Part", "Point", "PowerState", "Sample", "Sampler", "Snapshot", "TurnEnergy"]
