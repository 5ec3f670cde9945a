"""The library never says "sha256 verified" about a file the Hub published no sha256 for."""

from __future__ import annotations

from tests.gui.test_library_fixtures import NET_MS, TQ2, banner, click, open_library, row, wait_verdict
from tests.support import hub_repos

__all__ = ["open_library"]
KEY = (hub_repos.TERNARY, TQ2)


def test_a_download_without_a_published_sha256_says_it_was_not_verified(qtbot, open_library, local_hub):
    local_hub.hide_sha(*KEY)
    w, page = open_library()
    r = row(page, *KEY)
    wait_verdict(qtbot, r, "runs here (TQ2_0)")
    with qtbot.waitSignal(page.downloads.finished, timeout=NET_MS) as done:
        click(qtbot, r.action)
    assert done.args[1].variant.verified is False
    b = banner(w, "Downloaded tiny:TQ2_0")
    assert "not verified: the Hub lists no sha256 for it" in b.notice.text and "sha256 verified" not in b.notice.text
    [variant] = page.local.cards["tiny"].variant_rows
    assert "not verified: the Hub lists no sha256 for it" in variant.provenance.full
    assert "sha256 verified" not in variant.provenance.full
