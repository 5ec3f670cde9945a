"""A model's first load in the chat measures its threads, and says so: the window tells the person what
the extra seconds are, offers Skip, and keeps the result (the real engine on the tiny model)."""

from __future__ import annotations

from app.context import AppContext
from backend.engine import threads
from tests.gui.conftest import LOAD_MS, TINY, register_tiny


def open_and_load(open_window, tiny_models):
    ctx = AppContext()
    register_tiny(ctx, tiny_models)
    w = open_window(ctx, wait_ready=False, pages=False)
    seen: dict[str, list] = {"steps": [], "notices": [], "placeholders": []}
    c = w.chat.controller

    def on_step(what: str) -> None:
        seen["steps"].append(what)
        seen["placeholders"].append(w.chat.composer.input.placeholderText())

    c.model_calibrating.connect(on_step)
    w.bridge.posted.connect(lambda n: seen["notices"].append(n) if n.key == "calibration" else None)
    assert w.chat.load_spec(TINY)
    return w, c, seen


def test_the_first_load_measures_threads_says_so_and_keeps_them(qtbot, open_window, tiny_models) -> None:
    assert threads.cached(tiny_models["tq2_0"]) is None
    w, c, seen = open_and_load(open_window, tiny_models)
    qtbot.waitUntil(lambda: c.ready, timeout=LOAD_MS)
    assert seen["steps"][0].startswith("warming up (0 of ")
    assert any(s.startswith("decode with 1 thread (1 of ") for s in seen["steps"])
    assert any(s.startswith("prompt with") for s in seen["steps"])
    assert all(p == "Measuring threads…" for p in seen["placeholders"])
    notice = seen["notices"][0]  # one notice for the load, with a way out
    assert len(seen["notices"]) == 1 and "Measuring the best thread count for tiny" in notice.text
    assert notice.actions == [("Skip", c.cancel_calibration)]
    cal = threads.cached(tiny_models["tq2_0"])
    assert cal is not None and c.info["n_threads"] == cal.n_threads  # the engine runs with what it measured
    assert w.chat.composer.input.placeholderText().startswith("Message tiny")
    # the next load of the same file on this computer does not measure again
    seen["steps"].clear()
    assert w.chat.load_spec(TINY)
    qtbot.waitUntil(lambda: c.ready, timeout=LOAD_MS)
    assert seen["steps"] == []


def test_skip_loads_with_the_default_threads_and_keeps_nothing(qtbot, open_window, tiny_models) -> None:
    w, c, seen = open_and_load(open_window, tiny_models)
    c.cancel_calibration()  # Skip, pressed while the model loads (the tiny model measures in ~25 ms: no race)
    qtbot.waitUntil(lambda: c.ready, timeout=LOAD_MS)
    assert not any(s.startswith("decode with") for s in seen["steps"])  # nothing was measured
    assert threads.cached(tiny_models["tq2_0"]) is None  # nothing kept: the next load measures
    assert c.info["n_threads"] == threads.choose(tiny_models["tq2_0"], 0).n_threads
    seen["steps"].clear()
    assert w.chat.load_spec(TINY)
    qtbot.waitUntil(lambda: c.ready, timeout=LOAD_MS)
    assert any(s.startswith("decode with") for s in seen["steps"]) and threads.cached(tiny_models["tq2_0"])


def test_a_calibration_cancelled_before_it_starts_does_not_start(tiny_models) -> None:
    """The engine side of Skip: cancelling during the load keeps the measurement from starting at all."""
    from backend.chat.model_engine import ModelEngine

    steps: list[str] = []
    model = ModelEngine(tiny_models["tq2_0"], n_ctx=256, on_calibration=lambda _d, _t, what: steps.append(what))
    model.cancel_calibration()
    try:
        model.load()
        assert steps == [] and model.threads is not None and model.threads.source == threads.DEFAULT
    finally:
        model.close()
    assert threads.cached(tiny_models["tq2_0"]) is None
