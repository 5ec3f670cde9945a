"""Library: a model published as packed safetensors is downloaded, converted and verified from one Download
button, with one progress row through the stages; Cancel in the middle of the conversion keeps nothing."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import Qt

from backend.hub.env import HubEnv
from tests.gui.test_library_fixtures import DERIVE_MS, NET_MS, banner, click, open_library, row, wait_verdict
from tests.support import convert_repos as C

__all__ = ["open_library"]
KEY = (C.CHAT, C.WEIGHTS)


def _converted_dir(tern_home: Path) -> list[Path]:
    folder = tern_home / "data" / "models" / "converted"
    return sorted(folder.iterdir()) if folder.exists() else []


def _blobs(repo: str) -> list[Path]:
    folder = HubEnv.current(None).cache_dir / f"models--{repo.replace('/', '--')}" / "blobs"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_download_and_convert_shows_each_stage_then_the_model_gets_its_f16_variant(qtbot, open_library, local_hub,
                                                                                   tern_home):
    w, page = open_library()
    r = row(page, *KEY)
    wait_verdict(qtbot, r, "runs here — converted on this computer (")
    assert r.verdict.property("kind") == "ok" and r.action.text() == "Download && convert"
    assert r.enc.text() == "packed → TQ2_0" and "no weights" in r.verdict.toolTip()
    assert "converted TQ2_0 file" in r.ram.toolTip()
    seen: list[str] = []

    def note(key: object) -> None:  # after the downloads list has drawn the change
        d = page.downloads_panel.rows.get(KEY)
        if key == KEY and d is not None:
            seen.append(d.status.full)
            seen.append("pause" if d.pause.isVisible() else "no pause")

    page.downloads.changed.connect(note)
    with qtbot.waitSignal(page.downloads.finished, timeout=DERIVE_MS):
        click(qtbot, r.action)
    texts = [t for t in seen if t.startswith("Step ")]
    steps = [t.split(":")[0] for t in texts]
    assert steps[0] == "Step 1 of 3" and "Step 2 of 3" in steps and steps[-1] == "Step 3 of 3", texts
    assert any("converting to TQ2_0" in t for t in texts) and any("verifying" in t for t in texts)
    convert_at = seen.index(next(t for t in texts if t.startswith("Step 2")))
    assert seen[convert_at + 1] == "no pause"  # a conversion is cancelled, never paused
    b = banner(w, "Converted chat-1.58bit:TQ2_0 on this computer")
    assert "downloaded source was removed" in b.notice.text and _blobs(C.CHAT) == []
    qtbot.waitUntil(lambda: r.action.text() == "On this computer", timeout=5000)
    # on this computer: its provenance, and "Make F16 variant" works on the converted weights
    page.set_tab(0)
    card = page.local.cards["chat-1.58bit"]
    prov = card.variant_rows[0].provenance
    assert "converted on this computer from tern-test/Chat-1.58bit" in prov.full
    tip = prov.toolTip()
    assert f"at commit {local_hub.repos[C.CHAT].commit}" in tip and "(sha256 (Hub listing))" in tip
    assert "config.json  sha256 " in tip and "(git blob id (Hub listing))" in tip and "was removed" in tip
    with qtbot.waitSignal(page.actions.derived, timeout=DERIVE_MS):
        click(qtbot, card.make_f16)
    m = w.ctx.registry.find("chat-1.58bit")
    assert m is not None and {v.encoding for v in m.variants if v.usable} == {"TQ2_0", "F16"}


def test_cancel_in_the_middle_of_the_conversion_leaves_nothing(qtbot, open_library, local_hub, tern_home):
    w, page = open_library()
    r = row(page, *KEY)
    wait_verdict(qtbot, r, "runs here — converted on this computer (")
    reached, go_on = threading.Event(), threading.Event()
    part_on_disk: list[bool] = []

    def hold(_rid: int, p: object) -> None:  # runs in the job's thread: holds it inside the conversion
        if getattr(p, "stage", "") == "convert" and getattr(p, "phase", "") == "convert" and not reached.is_set():
            part_on_disk.append(any(x.suffix == ".part" for x in _converted_dir(tern_home)))
            reached.set()
            go_on.wait(30)

    page.downloads._progress.connect(hold, Qt.ConnectionType.DirectConnection)
    click(qtbot, r.action)
    qtbot.waitUntil(reached.is_set, timeout=NET_MS)
    d = page.downloads_panel.rows[KEY]
    qtbot.waitUntil(lambda: "converting to TQ2_0" in d.status.full, timeout=5000)
    assert not d.pause.isVisible() and d.cancel.text() == "Cancel"
    with qtbot.waitSignal(page.downloads.discarded, timeout=NET_MS):
        click(qtbot, d.cancel)
        go_on.set()
    assert part_on_disk == [True]  # it was stopped with a half-written file…
    assert _converted_dir(tern_home) == []  # …which is gone
    assert w.ctx.registry.models() == [] and _blobs(C.CHAT) == []  # nothing registered, the download deleted too
    assert KEY not in page.downloads.states and page.downloads_panel.isHidden()
    banner(w, "Cancelled the download of model.safetensors")
    assert r.action.isEnabled() and r.action.text() == "Download && convert"


def test_search_results_offer_safetensors_repos_and_i2s_files_converted_here(qtbot, open_library, local_hub):
    w, page = open_library()
    d = page.discover
    with qtbot.waitSignal(d.searched, timeout=NET_MS):
        d.search("Chat-1.58bit")
    cards = {c.hit.repo: c for c in d.search_cards}
    st, gg = cards[C.CHAT].rows[0], cards[C.CHAT_GGUF].rows[0]
    assert st.info.filename == C.WEIGHTS and "converted on this computer" in st.info.note
    assert "safetensors weights" in cards[C.CHAT].meta.full
    for r in (st, gg):
        wait_verdict(qtbot, r, "runs here — converted on this computer (")
        assert r.action.text() == "Download && convert" and r.action.isEnabled()
    assert gg.enc.text() == "I2_S → TQ2_0" and st.enc.text() == "packed → TQ2_0"


def test_a_source_that_fails_to_convert_says_why_and_the_window_carries_on(qtbot, open_library, local_hub, tern_home):
    w, page = open_library()
    with qtbot.waitSignal(page.downloads.failed, timeout=NET_MS) as failed:
        page.downloads.start(C.BROKEN_TOKENIZER, C.WEIGHTS)
    assert type(failed.args[1]).__name__ == "ConvertError"
    b = banner(w, f"Cannot convert {C.BROKEN_TOKENIZER}/tokenizer.json")
    assert b.notice.level == "error" and "Traceback" not in b.notice.text
    assert not page.downloads.states and page.downloads_panel.isHidden()  # nothing to resume: it cannot convert
    assert w.ctx.registry.models() == [] and _converted_dir(tern_home) == [] and _blobs(C.BROKEN_TOKENIZER) == []
    assert page.isVisible()
