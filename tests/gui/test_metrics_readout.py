"""The readout widgets on synthetic snapshots: "—" with a reason, never 0; badges; sparklines."""

from __future__ import annotations

from PySide6.QtGui import QColor

from backend import units
from backend.metrics.snapshot import PowerState, Sample, Snapshot
from ui import theme
from ui.metrics.explain import PowerExplanation
from ui.metrics.panel import MetricsPanel
from ui.metrics.readout import TurnView, build
from ui.metrics.sparkline import Sparkline
from ui.metrics.status_readout import StatusReadout

NOW = 1_800_000_000 * 10**9
RAPL = PowerState(
    True,
    "Measured · CPU package (RAPL)",
    "rapl",
    "counter",
    True,
    "CPU package",
    "RAPL",
    explanation="The processor's own energy counters.",
)
NONE_STATE = PowerState(
    False,
    "No power reading",
    reason="this computer has no battery",
    explanation="Tern found no way to read power on this computer.",
    hints=("  sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj",),
)


def snapshot(power: PowerState = NONE_STATE, rss: int | None = None, watts: float | None = None) -> Snapshot:
    samples = tuple(
        Sample(
            NOW - (50 - k) * 100_000_000,
            4242 if rss else None,
            rss,
            rss,
            1.0 + k * 0.1 if rss else None,
            100.0 + k if power.available else None,
            0,
            "" if power.available else power.reason,
        )
        for k in range(51)
    )
    return Snapshot(
        NOW,
        10.0,
        4242 if rss else None,
        rss,
        rss,
        "os" if rss else "",
        1.0 if rss else None,
        2,
        watts,
        "" if watts is not None else power.reason,
        power,
        samples,
        0.05,
    )


def test_without_an_engine_every_figure_is_a_dash_with_a_reason(qtbot) -> None:
    r = build(snapshot(), TurnView())
    for name in (
        "ram_now",
        "ram_peak",
        "model_file",
        "kv_cache",
        "ttft",
        "prefill_tps",
        "decode_tps",
        "ms_per_token",
        "cpu",
        "power",
        "j_per_token",
    ):
        f = getattr(r, name)
        assert f.text == "—", name
        assert "\n\n— " in f.tip, name  # the tooltip says why
    assert "No model is loaded." in r.ram_now.tip and "No reply yet." in r.decode_tps.tip
    assert "no battery" in r.power.tip
    panel, status = MetricsPanel(), StatusReadout()
    qtbot.addWidget(panel)
    qtbot.addWidget(status)
    panel.show_readout(r)
    status.show_readout(r)
    texts = [label.text() for label in panel.values.values()] + [
        status.ram.text(),
        status.tps.text(),
        status.power.text(),
    ]
    assert not any(t.strip().startswith("0") or " 0 " in t for t in texts), texts
    assert panel.badge.text() == "No power reading" and status.badge.text() == "No power reading"


def test_figures_from_a_snapshot_and_the_last_reply(qtbot) -> None:
    info = {"file_bytes": 217 * 1024**2, "kv_bytes": 48 * 1024**2, "n_ctx": 2048}
    stats = {
        "ttft_ms": 123.4,
        "prefill_tps": 105.2,
        "decode_tps": 54.07,
        "output_tokens": 64,
        "stop_reason": "length",
    }
    r = build(snapshot(RAPL, rss=343 * 1024**2, watts=12.34), TurnView(info=info, stats=stats))
    assert (r.ram_now.text, r.ram_peak.text, r.model_file.text, r.kv_cache.text) == (
        "343 MiB",
        "343 MiB",
        "228 MB",  # a file: in the units the Library and the file manager use
        "48 MiB",
    )
    assert (r.ttft.text, r.prefill_tps.text, r.decode_tps.text, r.ms_per_token.text) == (
        "123 ms",
        "105.2 tok/s",
        "54.1 tok/s",
        "18.5 ms",
    )
    assert r.cpu.text == "1.0 cores (50 % of 2)"
    assert r.power.text == "12.3 W" and "Measured · CPU package (RAPL)" in r.power.tip
    assert "OS's own high-water mark" in r.ram_peak.tip
    status = StatusReadout()
    qtbot.addWidget(status)
    status.show_readout(r)
    assert status.ram.text() == "RAM 343 MiB · peak 343 MiB"
    assert status.tps.text() == "decode 54.1 tok/s" and status.power.text() == "power 12.3 W"
    assert status.badge.text() == "Measured · CPU package (RAPL)"


def test_a_failed_reply_has_no_figures() -> None:
    r = build(
        snapshot(RAPL, rss=10**8, watts=5.0), TurnView(info={}, stats={"stop_reason": "error", "error": "x"})
    )
    assert r.decode_tps.text == r.ttft.text == r.j_per_token.text == "—"
    assert "failed" in r.decode_tps.tip and "failed" in r.j_per_token.tip


def test_the_explanation_shows_the_reason_and_admin_commands_in_monospace(qtbot) -> None:
    state = PowerState(
        False,
        "No power reading",
        reason="RAPL energy counters are readable only by root here",
        explanation="Tern found no way to read power.\n\nHow to get a better source:\n"
        "  until the next reboot:  sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj",
    )
    chosen: list[float] = []
    dialog = PowerExplanation(state, None, 0.0, chosen.append)
    qtbot.addWidget(dialog)
    text = dialog.text.text()
    assert "readable only by root" in text
    assert "<code" in text and "sudo chmod o+r" in text
    dialog.watts.setValue(3.75)
    dialog._apply_watts()
    assert chosen == [3.75]


def has_color(widget, color: str) -> bool:
    img = widget.grab().toImage()
    want = QColor(color)
    for x in range(0, img.width(), 2):
        for y in range(0, img.height(), 2):
            c = img.pixelColor(x, y)
            if (
                abs(c.red() - want.red()) < 24
                and abs(c.green() - want.green()) < 24
                and abs(c.blue() - want.blue()) < 24
            ):
                return True
    return False


def test_sparkline_draws_the_series_and_says_why_when_there_is_none(qtbot) -> None:
    spark = Sparkline("Power", units.watts)
    qtbot.addWidget(spark)
    spark.resize(240, 72)
    spark.set_series([], NOW, "no power reading")
    assert not has_color(spark, theme.current().accent)
    spark.set_series([(NOW - k * 500_000_000, 5.0 + (k % 7)) for k in reversed(range(100))], NOW)
    assert has_color(spark, theme.current().accent)
    assert "latest 5.0 W" in spark.toolTip()


def test_an_idle_engine_under_the_estimate_is_not_shown_as_a_bare_zero() -> None:
    est = PowerState(
        True,
        "Estimated · CPU time × 15 W TDP — not a measurement",
        "estimate",
        "counter",
        False,
        "engine CPU time",
        "TDP estimate",
    )
    r = build(snapshot(est, rss=10**8, watts=0.0), TurnView(info={}))
    assert r.power.text == "≈ 0 W (idle)" and "only the engine's CPU time" in r.power.tip
