"""Library, models on this computer: each variant's output head and weights per token, its threads, and a
thread calibration run from the card with progress and Cancel (the real engine on the tiny model)."""

from __future__ import annotations

from app.context import AppContext
from backend.engine import threads
from tests.gui.test_library_fixtures import DERIVE_MS, click, open_library, register

__all__ = ["open_library"]


def facts_of(page, enc: str = "TQ2_0"):
    card = page.local.cards["tiny"]
    row = next(r for r in card.variant_rows if r.variant.encoding == enc)
    return card.facts[row.variant.path]


def test_variant_shows_head_weights_and_threads_then_calibrates(qtbot, open_library, tiny_models):
    ctx = AppContext()
    register(ctx, tiny_models, ("tq2_0", "f16"))
    w, page = open_library(ctx)
    facts = facts_of(page)
    qtbot.waitUntil(lambda: "reads" in facts.head.text(), timeout=10_000)  # read off the GUI thread
    assert facts.head.text().startswith("Output head F16 · reads ") and "kB of weights per token" in facts.head.text()
    assert "not calibrated yet" in facts.threads.text() and facts.calibrate.text() == "Calibrate"
    steps = []
    page.facts.progress.connect(lambda _p, d, t, what: steps.append(what))
    with qtbot.waitSignal(page.facts.loaded, timeout=DERIVE_MS):  # the new calibration is read back
        click(qtbot, facts.calibrate)
        assert facts.cancel.isVisible() and not facts.calibrate.isVisible()
    facts = facts_of(page)
    assert any(s.startswith("decode with") for s in steps) and any(s.startswith("prompt with") for s in steps)
    cal = threads.cached(facts.path)
    assert cal is not None and "calibrated on this computer" in facts.threads.text()
    assert f"{cal.n_threads} " in facts.threads.text() and cal.figures() in facts.threads.toolTip()
    assert facts.calibrate.text() == "Calibrate again" and not facts.cancel.isVisible()
    other = facts_of(page, "F16")
    assert "not calibrated yet" in other.threads.text()  # per file: the F16 variant is another file


def test_cancelling_a_calibration_keeps_nothing(qtbot, open_library, tiny_models):
    ctx = AppContext()
    register(ctx, tiny_models)
    w, page = open_library(ctx)
    facts = facts_of(page)
    qtbot.waitUntil(lambda: "Threads:" in facts.threads.text() and "…" not in facts.threads.text(), timeout=10_000)
    with qtbot.waitSignal(page.facts.ended, timeout=DERIVE_MS) as ended:
        click(qtbot, facts.calibrate)
        click(qtbot, facts.cancel)
    assert "nothing was kept" in ended.args[1] and "nothing was kept" in facts.threads.text()
    assert threads.cached(facts.path) is None
    assert facts.calibrate.isVisible() and not facts.cancel.isVisible() and not facts.bar.isVisible()


def test_threads_from_settings_say_so(qtbot, open_library, tiny_models):
    ctx = AppContext()
    ctx.settings.threads = 1
    register(ctx, tiny_models)
    w, page = open_library(ctx)
    facts = facts_of(page)
    qtbot.waitUntil(lambda: "from Settings" in facts.threads.text(), timeout=10_000)
    assert facts.threads.text().startswith("Threads: 1 thread decode, 1 for prompts")


def test_a_change_made_here_rebuilds_the_cards_once(qtbot, open_library, tiny_models):
    """The window answers the Library's own change with a refresh of every page; the Library's cards (and the
    facts each rebuild reads from every file) were already redrawn, and a change made elsewhere still is."""
    ctx = AppContext()
    register(ctx, tiny_models)
    w, page = open_library(ctx)
    reads: list[object] = []
    real_read = page.facts.read
    page.facts.read = lambda paths: (reads.append(paths), real_read(paths))[1]
    page.changed()  # what a finished download, derivation, import or removal calls
    assert len(reads) == 1
    register(ctx, tiny_models, ("f16",))  # a variant made elsewhere (Compare's "Make F16 variant")
    w.refresh_models()
    assert len(reads) == 2 and len(page.local.cards["tiny"].variant_rows) == 2
