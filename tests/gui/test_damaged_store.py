"""The window with a damaged or unwritable store: it opens, shows what happened once, and chat still works."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from app.context import AppContext
from backend.paths import paths
from tests.support import damaged_store
from tests.support.confined import need_namespaces, run_confined


def test_window_opens_on_a_damaged_store_and_says_where_the_old_file_is(qtbot, open_window) -> None:
    db = paths().ensure().database
    damaged_store.filled_store(db)
    damaged_store.overwrite_page(db, damaged_store.leaf_pages(db, "messages")[2])
    w = open_window(AppContext(), wait_ready=False)
    old = next(db.parent.glob("tern.sqlite3.corrupt-*[0-9]"))
    banners = [b for b in w.notices.banners() if b.notice.key.startswith("startup-")]
    assert len(banners) == 1
    text = banners[0].text_label.text()
    assert "damaged" in text and str(old) in text and "moved aside, not deleted" in text
    titles = [w.chat.conversations.model.index(i, 0).data() for i in range(w.chat.conversations.model.rowCount())]
    assert sum(t.startswith("Conversation") for t in titles) == 6  # the salvaged conversations are listed


def test_disk_full_mid_session_is_shown_once(qtbot, open_window) -> None:
    ctx = AppContext()
    w = open_window(ctx, wait_ready=False)
    # what a write that fails on a full disk does (for real in tests/unit/test_store_recovery.py)
    ctx.store.fall_back_to_memory("the disk is full")
    qtbot.waitUntil(lambda: any(b.notice.key == "saving-off" for b in w.notices.banners()))
    [banner] = [b for b in w.notices.banners() if b.notice.key == "saving-off"]
    assert banner.text_label.text().startswith("Saving is off: the disk is full")


def test_window_starts_with_a_read_only_data_folder(tern_home: Path, tmp_path: Path) -> None:
    """The real `tern gui` in a process where the data folder is on a read-only mount: it opens (a screenshot
    is saved, elsewhere) and exits cleanly instead of ending in a traceback."""
    need_namespaces()
    damaged_store.filled_store(paths().ensure().database)
    shot = tmp_path / "shots" / "window.png"
    shot.parent.mkdir()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = run_confined([sys.executable, "-m", "app", "gui", "--screenshot", str(shot)], read_only=(tern_home,),
                     env=env, timeout=180)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and shot.stat().st_size > 10_000
