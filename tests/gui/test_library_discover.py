"""Library page, Discover tab: catalog rows with RAM fit and header verdicts, search, refusals, offline."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app import secrets
from app.context import AppContext
from backend.hub import pending_downloads
from tests.gui.conftest import LOAD_MS
from tests.gui.test_library_fixtures import (
    I2S,
    NET_MS,
    TQ1,
    TQ2,
    banner,
    cdn_downloads,
    click,
    open_library,
    register,
    row,
    wait_verdict,
)
from tests.support import hub_repos
from ui.library.discover import UNREACHABLE
from ui.library.page import DISCOVER, LOCAL
from ui.settings_dialog import SettingsDialog

__all__ = ["open_library"]


def test_catalog_rows_show_size_ram_fit_and_the_header_verdict_before_download(
    qtbot, open_library, local_hub
):
    w, page = open_library()
    assert page.stack.currentIndex() == DISCOVER  # nothing on this computer: the catalog comes first
    r = row(page, hub_repos.TERNARY, TQ2)
    size = local_hub.file(hub_repos.TERNARY, TQ2).size
    assert r.size.text() == f"{size / 1e3:.0f} kB"
    # before the header is read, the RAM badge is the catalog's estimate, and says so
    assert r.ram.text() == "fits in RAM" and "Estimate from the catalog" in r.ram.toolTip()
    wait_verdict(qtbot, r, "runs here (TQ2_0)")
    assert r.verdict.property("kind") == "ok" and r.action.isEnabled()
    assert "GGUF header" in r.ram.toolTip() and "GiB of RAM is available now" in r.ram.toolTip()
    assert r.inspection is not None and r.inspection.bytes_read < size  # a header read, not a download

    bad = row(page, hub_repos.I2S, I2S)
    wait_verdict(qtbot, bad, "cannot be converted here: linear weight blk.0.attn_k.weight is not I2_S")
    assert bad.verdict.property("kind") == "bad"
    assert not bad.action.isEnabled() and "Not downloadable here" in bad.action.toolTip()
    assert bad.ram.text() in (
        "fits in RAM",
        "tight in RAM",
        "won't fit in RAM",
    )  # from the header: RAM known now
    assert cdn_downloads(local_hub) == []  # only bounded header reads went to the CDN
    text = " ".join(c.text() for c in page.discover.findChildren(type(r.verdict)))
    assert "won't run here" in text and "A bitnet.cpp-only model (test)" in text
    # the welcome page's suggestion, highlighted: the smallest chat model that fits here (by RAM needed)
    lit = [c.entry.id for c in page.discover.catalog_cards if c.property("highlight") == "true"]
    assert lit == ["chat-test"]


def test_checking_shows_before_the_verdict(qtbot, open_library, local_hub):
    local_hub.throttle_bps = 50_000  # the header read takes a few seconds
    w, page = open_library()
    r = row(page, hub_repos.TERNARY, TQ1)
    qtbot.waitUntil(lambda: r.verdict.text() == "checking…", timeout=NET_MS)
    assert r.verdict.property("kind") == "busy"
    local_hub.throttle_bps = 10_000_000
    wait_verdict(qtbot, r, "runs here (TQ1_0)")


def test_search_lists_gguf_files_with_sizes_and_verdicts(qtbot, open_library, local_hub):
    w, page = open_library()
    d = page.discover
    with qtbot.waitSignal(d.searched, timeout=NET_MS) as found:
        qtbot.keyClicks(d.search_field, "tern-test")
        qtbot.keyClick(d.search_field, Qt.Key.Key_Return)
    repos = [c.hit.repo for c in d.search_cards]
    assert found.args == [len(repos)] and hub_repos.TERNARY in repos and hub_repos.SPLIT in repos
    assert hub_repos.NOT_GGUF not in repos  # no GGUF: not offered
    assert d.catalog_box.isHidden() and "tern-test" in d.search_title.text().lower()
    card = next(c for c in d.search_cards if c.hit.repo == hub_repos.TERNARY)
    assert {r.info.filename: r.size.text() for r in card.rows} == {
        TQ2: f"{local_hub.file(hub_repos.TERNARY, TQ2).size / 1e3:.0f} kB",
        TQ1: f"{local_hub.file(hub_repos.TERNARY, TQ1).size / 1e3:.0f} kB",
    }
    split = next(c for c in d.search_cards if c.hit.repo == hub_repos.SPLIT)
    assert len(split.rows) == 1 and "parts, downloaded together" in split.rows[0].info.note
    # rows are checked when they come into view: once the results' layout has settled, scroll to them
    qtbot.waitUntil(lambda: all(r.action.height() > 0 for c in d.search_cards for r in c.visible_rows()), timeout=5000)
    d.scroll.ensureWidgetVisible(card.rows[0])
    wait_verdict(qtbot, card.rows[0], "runs here")
    i2s = next(c for c in d.search_cards if c.hit.repo == hub_repos.I2S).rows[0]
    d.scroll.ensureWidgetVisible(i2s)
    wait_verdict(qtbot, i2s, "cannot be converted here")
    assert not i2s.action.isEnabled()
    click(qtbot, d.back_link)  # back to the catalog
    assert d.search_box.isHidden() and not d.catalog_box.isHidden() and not d.search_cards


def test_an_i2s_download_is_refused_before_any_byte(qtbot, open_library, local_hub):
    w, page = open_library()
    # a click that arrives before the verdict (the button is still on): the backend refuses, writes nothing
    with qtbot.waitSignal(page.downloads.failed, timeout=NET_MS) as failed:
        page.downloads.start(hub_repos.I2S, I2S)
    assert type(failed.args[1]).__name__ == "NotRunnable"
    b = banner(w, "cannot be converted here")
    assert b.notice.level == "error" and "Nothing was downloaded" in b.notice.hint
    assert cdn_downloads(local_hub) == [] and pending_downloads() == [] and w.ctx.registry.models() == []
    assert not page.downloads.states and page.downloads_panel.isHidden()  # nothing to resume


def test_a_gated_repo_asks_for_a_token_then_downloads(qtbot, open_library, local_hub, monkeypatch):
    monkeypatch.setenv("TERN_KEYRING", "0")
    w, page = open_library()
    d = page.discover
    with qtbot.waitSignal(d.searched, timeout=NET_MS):
        d.search("gated")
    r = d.search_cards[0].rows[0]
    wait_verdict(qtbot, r, "gated or private — needs a Hugging Face token")
    assert "Settings" in r.verdict.toolTip()
    with qtbot.waitSignal(page.downloads.failed, timeout=NET_MS):
        click(qtbot, r.action)
    b = banner(w, "gated or private")
    assert [x.text() for x in b.buttons] == ["Open Settings", "Try again"]
    qtbot.mouseClick(b.buttons[0], Qt.MouseButton.LeftButton)
    dialog = w.findChild(SettingsDialog)
    assert dialog is not None and dialog.isVisible()
    dialog.token.setText(hub_repos.TOKEN)
    with qtbot.waitSignal(dialog.finished, timeout=5000):  # the token is stored off the GUI thread
        dialog.accept()
    assert secrets.get_hf_token() == hub_repos.TOKEN
    with qtbot.waitSignal(page.downloads.finished, timeout=NET_MS):
        click(qtbot, r.action)  # the same Download button, now with the token
    assert any(r.auth for r in local_hub.requests("api")) and not any(
        r.auth for r in local_hub.requests("cdn")
    )


def test_hub_unreachable_says_why_and_local_models_keep_working(
    qtbot, open_library, tiny_models, monkeypatch
):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    ctx = AppContext()
    register(ctx, tiny_models)
    w, page = open_library(ctx)
    assert page.stack.currentIndex() == LOCAL
    click(qtbot, page.tab_discover)
    d = page.discover
    with qtbot.waitSignal(d.hub_changed, timeout=NET_MS, check_params_cb=lambda s: s == UNREACHABLE):
        d.search("ternary")
    assert d.strip.isVisible() and "cannot be reached" in d.strip.text.text()
    assert "models on this computer keep working" in d.strip.text.text()
    assert "Search is unavailable" in d.search_status.text()
    click(qtbot, d.back_link)  # the catalog still shows, with its estimates
    r = row(page, hub_repos.TERNARY, TQ2)
    qtbot.waitUntil(lambda: "not checked now" in r.verdict.text(), timeout=5000)
    assert not r.action.isEnabled() and "cannot be reached" in r.action.toolTip()
    assert r.ram.text() == "fits in RAM"
    # the model on this computer still loads and chats
    click(qtbot, page.tab_local)
    chat = next(b for b in page.local.cards["tiny"].findChildren(type(d.search_button)) if b.text() == "Chat")
    with qtbot.waitSignal(w.chat.controller.engine_started, timeout=LOAD_MS):
        click(qtbot, chat)
    assert w.current_page() == "chat" and w.chat.controller.choice.spec == "tiny:TQ2_0"


def test_offline_mode_turns_the_hub_off_and_points_to_settings(qtbot, open_library, local_hub):
    w, page = open_library()
    w.settings.update(offline=True)
    d = page.discover
    assert d.strip.isVisible() and "Offline mode is on" in d.strip.text.text()
    assert not d.search_button.isEnabled()
    r = row(page, hub_repos.TERNARY, TQ2)
    assert not r.action.isEnabled() and "not checked now" in r.verdict.text()
    assert "offline mode" in page.subtitle.text()
    click(qtbot, d.strip.button)
    assert w.findChild(SettingsDialog) is not None
    requests = len(local_hub.requests())
    qtbot.wait(400)
    assert len(local_hub.requests()) == requests  # nothing asks the Hub in offline mode
    w.settings.update(offline=False)
    assert d.strip.isHidden() and d.search_button.isEnabled()
    wait_verdict(qtbot, r, "runs here (TQ2_0)")


def test_a_catalog_file_the_hub_does_not_have_cannot_be_downloaded(qtbot, open_library, local_hub):
    """The header check got a 404: the row says so and its Download button is off (no 404 banner later)."""
    import dataclasses

    from tests.gui.test_library_fixtures import TQ2, local_catalog, row, wait_verdict

    catalog = local_catalog(local_hub)
    tiny = catalog.entries[0]
    gone = dataclasses.replace(tiny.files[0], name="tiny-TQ2_0-renamed.gguf", default=False)
    catalog = dataclasses.replace(catalog, entries=(dataclasses.replace(tiny, files=(*tiny.files, gone)),
                                                    *catalog.entries[1:]))
    w, page = open_library(catalog=catalog)
    page.set_tab(DISCOVER)
    r = row(page, tiny.repo, "tiny-TQ2_0-renamed.gguf")
    wait_verdict(qtbot, r, "not found on the Hub")
    assert not r.action.isEnabled() and "Nothing to download" in r.action.toolTip()
    assert row(page, tiny.repo, TQ2).action.isEnabled()  # its neighbour is there and downloadable
    r.retry.click()  # "Check again": asked once more, still missing, still off
    wait_verdict(qtbot, r, "not found on the Hub")
    assert not r.action.isEnabled()
