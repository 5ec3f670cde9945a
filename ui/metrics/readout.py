"""The readout as data: every figure with its text and a tooltip saying what it covers and how it
was obtained — or why it reads "—". Built from a sampler snapshot and the current turn; Qt-free,
so the rules are tested without a display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backend import units
from backend.metrics import Snapshot, TurnEnergy
from backend.metrics.snapshot import PowerState

NONE = units.DASH
Series = tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class Figure:
    text: str
    tip: str

    @property
    def available(self) -> bool:
        return self.text != NONE


def figure(text: str, tip: str, why: str) -> Figure:
    return Figure(text, tip if text != NONE else f"{tip}\n\n— {why}")


@dataclass(frozen=True)
class TurnView:
    """What the presenter knows about the engine and the current/last reply."""

    info: dict[str, Any] | None = None  # ModelInfo.to_dict() of the loaded model
    running: bool = False
    live_tps: float | None = None  # from token arrival times while a reply runs
    live_tokens: int = 0
    stats: dict[str, Any] | None = None  # the last finished reply's TurnStats (+ status)
    energy: TurnEnergy | None = None
    energy_pending: bool = False
    tps_series: Series = ()


@dataclass(frozen=True)
class Readout:
    ram_now: Figure
    ram_peak: Figure
    model_file: Figure
    kv_cache: Figure
    ttft: Figure
    prefill_tps: Figure
    decode_tps: Figure
    ms_per_token: Figure
    cpu: Figure
    power: Figure
    j_per_token: Figure
    energy_detail: Figure
    power_state: PowerState
    sampling: str
    rss_series: Series = ()
    watts_series: Series = ()
    tps_series: Series = ()
    t_ns: int = 0
    running: bool = False
    notes: tuple[str, ...] = field(default=())


def _no_engine(info: dict[str, Any] | None) -> str:
    return "No model is loaded." if info is None else "The engine process could not be read."


def build(snap: Snapshot, turn: TurnView) -> Readout:
    info, stats = turn.info, turn.stats or {}
    failed = stats.get("stop_reason") == "error"
    engine_why = _no_engine(info) if snap.rss is None else ""
    reply_why = (
        "No reply yet."
        if not stats
        else "The last reply failed, so it has no figures."
        if failed
        else "The last reply was too short for this figure (fewer than two tokens)."
    )
    peak_tip = (
        "The engine process's peak resident memory since it started, from the OS's own high-water mark "
        "(Linux VmHWM / Windows peak working set)."
        if snap.peak_kind == "os"
        else f"The highest resident memory the sampler saw in the engine process ({snap.hz:g} Hz samples): "
        "this OS keeps no high-water mark another process can read, so a brief spike between samples "
        "could be missed."
    )
    ram_now = figure(
        units.memory(snap.rss),
        f"Resident memory of the engine process (pid {snap.pid}) now, as the OS "
        "counts it: model weights in use, KV cache, buffers and the Python runtime.",
        engine_why,
    )
    ram_peak = figure(units.memory(snap.peak_rss), peak_tip, engine_why)
    file_bytes = info.get("file_bytes") if info else None
    kv = info.get("kv_bytes") if info else None
    model_file = figure(
        units.size(file_bytes), "Size of the model file on disk (the weights as stored).", "No model is loaded."
    )
    kv_cache = figure(
        units.memory(kv),
        f"The KV cache llama.cpp allocates for the {info.get('n_ctx', '?') if info else '?'}"
        "-token context (keys and values of every layer, F16), computed from the model's shape.",
        "No model is loaded." if not info else "The model's shape did not give a KV-cache size.",
    )

    # -- latency: the engine's own clock for finished replies; arrival times while one runs --------
    ttft = figure(
        units.ms(None if failed else stats.get("ttft_ms")),
        "Time to first token of the last reply: request received → first token sampled, prompt "
        "evaluation included, on the engine's clock.",
        reply_why,
    )
    prefill = figure(
        units.tps(None if failed else stats.get("prefill_tps")),
        "Prompt evaluation speed of the last reply: prompt tokens evaluated ÷ evaluation time "
        "(tokens reused from the cache are not counted), on the engine's clock.",
        reply_why if not stats or failed else "The whole prompt came from the cache: nothing to time.",
    )
    if turn.running and turn.live_tps:
        decode = Figure(
            units.tps(turn.live_tps),
            f"Live decode speed of the reply being written: {turn.live_tokens} "
            "tokens so far, from the times they arrived here. The engine's own figure replaces it when "
            "the reply ends.",
        )
        per_token = Figure(
            units.ms_per_token(turn.live_tps), "Live milliseconds per output token (arrival times)."
        )
    else:
        d = None if failed else stats.get("decode_tps")
        decode = figure(
            units.tps(d),
            "Decode speed of the last reply: tokens after the first ÷ time from the first "
            "to the last token, on the engine's clock.",
            reply_why,
        )
        per_token = figure(
            units.ms_per_token(d),
            "Milliseconds per output token of the last reply (1000 ÷ decode tok/s, engine clock).",
            reply_why,
        )
    cpu = figure(
        units.cores(snap.cpu_cores, snap.n_cpus),
        f"CPU time the engine process used over the last second, in cores (user + system, all its "
        f"threads) — out of {snap.n_cpus} logical CPUs.",
        engine_why or "Measuring…",
    )

    # -- power ---------------------------------------------------------------------------------
    ps = snap.power
    if ps.available:
        tip = f"Power now ({'measured' if ps.measured else 'estimated'}): {ps.badge}; " + (
            "the latest reading." if ps.kind == "instant" else "averaged over about the last second."
        )
    else:
        tip = f"Power now: {ps.badge}."
    text = units.watts(snap.watts)
    if ps.available and not ps.measured and snap.watts is not None and snap.watts < 0.05:
        text = "≈ 0 W (idle)"  # the estimate covers only the engine's CPU time
        tip += " The estimate counts only the engine's CPU time, so an idle engine reads ≈ 0 W."
    power = figure(text, tip, snap.power_note or ps.reason or "No power reading.")
    jpt, detail = _energy_figures(turn, ps)
    notes = tuple(ps.notices)
    sampling = f"Sampling at {snap.hz:g} Hz · sampler CPU {snap.sampler_cpu_s:.2f} s so far"
    return Readout(
        ram_now,
        ram_peak,
        model_file,
        kv_cache,
        ttft,
        prefill,
        decode,
        per_token,
        cpu,
        power,
        jpt,
        detail,
        ps,
        sampling,
        tuple(snap.rss_series()),
        tuple(snap.watts_series()),
        turn.tps_series,
        snap.t_ns,
        turn.running,
        notes,
    )


def _energy_figures(turn: TurnView, ps: PowerState) -> tuple[Figure, Figure]:
    tip = (
        "Energy per output token of the last reply: energy over the reply (engine timestamps) ÷ output tokens"
    )
    e = turn.energy
    if turn.stats and turn.stats.get("stop_reason") == "error":
        why = "The last reply failed, so it has no figures."
    elif turn.running:
        why = "Shown when the reply ends."
    elif turn.energy_pending:
        why = "Waiting for the power sample after the reply ended…"
    elif not turn.stats:
        why = "No reply yet."
    elif e is None:
        why = ps.reason or "No power reading."
    else:
        why = e.reason
    if e is None or e.j_per_token is None:
        return figure(NONE, tip + ".", why), figure(NONE, "Prefill and decode energy of the last reply.", why)
    net = "above idle" if e.baseline_subtracted else "idle included"
    text = units.per_token(e.j_per_token)
    full = (
        f"{tip}, {e.baseline_note}.\nSource: {e.source}.\nWhole reply: {units.joules(e.joules)} over "
        f"{e.seconds:.2f} s ({net}); average power {units.watts(e.avg_watts)}."
    )
    parts = []
    for name, p in (("prefill", e.prefill), ("decode", e.decode)):
        parts.append(f"{name} {units.joules(p.joules)}" if p.status == "ok" else f"{name} —")
    reasons = [
        f"{n}: {p.reason}" for n, p in (("prefill", e.prefill), ("decode", e.decode)) if p.status != "ok"
    ]
    detail = Figure(
        " · ".join(parts) + f" ({net})",
        "Energy of the prompt evaluation (start → first token) and of decoding (first → last token), "
        f"{e.baseline_note}." + ("\n" + "\n".join(reasons) if reasons else ""),
    )
    return Figure(text, full), detail
