"""Library page downloads against the local Hub: progress, the model picker, pause/resume across a restart,
cancel, and a dropped connection."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.context import AppContext
from backend.hub import pending_downloads
from backend.hub.env import cache_dir
from tests.gui.test_library_fixtures import (
    NET_MS,
    TQ2,
    banner,
    cdn_downloads,
    click,
    open_library,
    picker_items,
    row,
    wait_verdict,
)
from tests.support import hub_repos
from ui.library.downloads import PAUSED

__all__ = ["open_library"]
KEY = (hub_repos.TERNARY, TQ2)


def test_a_download_shows_progress_then_lands_in_the_local_list_and_the_model_picker(
    qtbot, open_library, local_hub
):
    local_hub.throttle_bps = 300_000  # ≈2 s for the 625 kB file
    w, page = open_library()
    r = row(page, *KEY)
    wait_verdict(qtbot, r, "runs here (TQ2_0)")
    size = local_hub.file(*KEY).size
    with qtbot.waitSignal(page.downloads.finished, timeout=NET_MS) as done:
        click(qtbot, r.action)
        qtbot.waitUntil(lambda: KEY in page.downloads_panel.rows, timeout=NET_MS)
        d = page.downloads_panel.rows[KEY]
        qtbot.waitUntil(lambda: "/s" in d.status.full and "left" in d.status.full, timeout=NET_MS)
        assert f"of {size / 1e3:.0f} kB" in d.status.full and d.bar.value() > 0
        assert r.action.text().startswith("Downloading") and not r.action.isEnabled()
        assert d.pause.isVisible() and d.cancel.text() == "Cancel"
    assert done.args[1].variant.verified
    assert page.downloads_panel.isHidden()  # nothing left running or paused
    card = page.local.cards["tiny"]
    [variant] = card.variant_rows
    assert variant.variant.encoding == "TQ2_0" and "sha256 verified" in variant.provenance.full
    assert any(t.startswith("tiny · TQ2_0") for t in picker_items(w))  # the chat can use it now
    b = banner(w, "Downloaded tiny:TQ2_0")
    assert [x.text() for x in b.buttons] == ["Chat with it", "Make F16 variant"]
    assert r.action.text() == "On this computer" and not r.action.isEnabled()
    assert page.tab_local.text() == "On this computer (1)"


def test_pause_keeps_the_partial_and_resume_after_a_restart_finishes(qtbot, open_library, local_hub):
    local_hub.throttle_bps = 150_000
    w, page = open_library()
    r = row(page, *KEY)
    click(qtbot, r.action)
    qtbot.waitUntil(lambda: page.downloads.states[KEY].done_bytes > 100_000, timeout=NET_MS)
    d = page.downloads_panel.rows[KEY]
    with qtbot.waitSignal(
        page.downloads.changed,
        timeout=NET_MS,
        check_params_cb=lambda k: page.downloads.states[k].status == PAUSED,
    ):
        click(qtbot, d.pause)
    [partial] = pending_downloads()
    have, size = partial.have_bytes, local_hub.file(*KEY).size
    assert 100_000 <= have < size
    assert "Paused" in d.status.text() and "kept on disk" in d.status.text()
    assert d.resume.isVisible() and not d.pause.isVisible() and r.action.text() == "Resume"
    assert w.ctx.registry.models() == [] and not any("tiny" in t for t in picker_items(w))

    w.close()  # Tern quits; the partial stays
    local_hub.throttle_bps = 50_000_000
    w2, page2 = open_library(AppContext())
    qtbot.waitUntil(lambda: KEY in page2.downloads_panel.rows, timeout=NET_MS)
    d2 = page2.downloads_panel.rows[KEY]
    assert "Paused" in d2.status.text() and d2.resume.isVisible()
    with qtbot.waitSignal(page2.downloads.finished, timeout=NET_MS) as done:
        click(qtbot, d2.resume)
    assert done.args[1].files[0].resumed_from == have
    assert any(x.range_start == have for x in cdn_downloads(local_hub))  # it asked only for the rest
    assert "resumed from" in banner(w2, "Downloaded tiny:TQ2_0").notice.text
    assert pending_downloads() == [] and any(t.startswith("tiny · TQ2_0") for t in picker_items(w2))


def test_cancel_stops_the_download_and_deletes_the_partial(qtbot, open_library, local_hub):
    local_hub.throttle_bps = 150_000
    w, page = open_library()
    click(qtbot, row(page, *KEY).action)
    qtbot.waitUntil(lambda: page.downloads.states[KEY].done_bytes > 50_000, timeout=NET_MS)
    with qtbot.waitSignal(page.downloads.discarded, timeout=NET_MS) as gone:
        click(qtbot, page.downloads_panel.rows[KEY].cancel)
    assert gone.args[1] > 0  # the bytes freed
    assert pending_downloads() == [] and not list(cache_dir().rglob("*.incomplete"))
    assert page.downloads_panel.isHidden() and "Cancelled the download" in banner(w, "Cancelled").notice.text
    assert row(page, *KEY).action.text() == "Download" and w.ctx.registry.models() == []


def test_a_dropped_connection_says_so_and_resumes_from_its_button(qtbot, open_library, local_hub):
    local_hub.drop_after(hub_repos.TERNARY, TQ2, 100_000, times=4)  # more drops than the backend's 3 retries
    w, page = open_library()
    with qtbot.waitSignal(page.downloads.failed, timeout=NET_MS) as failed:
        click(qtbot, row(page, *KEY).action)
    assert type(failed.args[1]).__name__ == "DownloadInterrupted"
    d = page.downloads_panel.rows[KEY]
    assert d.status.full.startswith("Stopped:") and "kept" in d.status.full and d.resume.isVisible()
    b = banner(w, TQ2)
    assert b.notice.level == "error" and [x.text() for x in b.buttons] == ["Resume"]
    with qtbot.waitSignal(page.downloads.finished, timeout=NET_MS) as done:
        qtbot.mouseClick(b.buttons[0], Qt.MouseButton.LeftButton)
    assert done.args[1].files[0].resumed_from >= 100_000 and done.args[1].variant.verified


def test_a_file_that_fails_its_sha256_check_offers_to_download_again_not_to_resume(qtbot, open_library, local_hub):
    local_hub.wrong_sha(*KEY)  # the Hub's listing says one hash, its bytes hash to another
    w, page = open_library()
    w.resize(800, 500)
    r = row(page, *KEY)
    wait_verdict(qtbot, r, "runs here (TQ2_0)")
    with qtbot.waitSignal(page.downloads.failed, timeout=NET_MS) as failed:
        click(qtbot, r.action)
    assert type(failed.args[1]).__name__ == "ChecksumMismatch"
    d = page.downloads_panel.rows[KEY]
    qtbot.wait(50)
    assert d.title.text() == d.title.full and TQ2 in d.title.text()  # the file's name is not cut to "ba…UF"
    assert d.status.full.startswith("Failed: failed its sha256 check") and "quarantined" in d.status.toolTip()
    assert page.downloads_panel.heading.text() == "DOWNLOADS  ·  1 FAILED"  # not counted as paused
    assert d.resume.text() == "Download again" and "damaged" in d.resume.toolTip() and not d.bar.isVisible()
    assert d.cancel.text() == "Dismiss" and r.action.text() == "Download again"
    # the Hub still serves the bad copy: it fails the same way, and says so again
    with qtbot.waitSignal(page.downloads.failed, timeout=NET_MS):
        click(qtbot, d.resume)
    assert page.downloads.states[KEY].status == "failed" and not page.downloads.states[KEY].resumable
    local_hub.reset()  # a repaired upload: this time the download is whole and verified
    with qtbot.waitSignal(page.downloads.finished, timeout=NET_MS) as done:
        click(qtbot, page.downloads_panel.rows[KEY].resume)
    assert done.args[1].variant.verified and done.args[1].files[0].resumed_from == 0
    assert KEY not in page.downloads_panel.rows


def test_dismiss_takes_a_failed_check_off_the_list(qtbot, open_library, local_hub):
    local_hub.wrong_sha(*KEY)
    w, page = open_library()
    with qtbot.waitSignal(page.downloads.failed, timeout=NET_MS):
        click(qtbot, row(page, *KEY).action)
    click(qtbot, page.downloads_panel.rows[KEY].cancel)
    assert KEY not in page.downloads.states and page.downloads_panel.isHidden()
