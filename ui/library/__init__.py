"""The model library: catalog and Hub search with header checks, downloads, variants, import, remove.

`LibraryPage` (page.py) is the window's Library page: it replaces the simple local-models page
under the same "library" key. `install(window, ctx)` is how app/gui.py's extensions pick it up:
it adds the page, keeps it in step with the window's model list, stops its jobs with the window,
and gives the welcome page its suggestion (the smallest chat-tuned model of the catalog).

Modules: page (layout, wiring), discover (search, catalog, Hub state), local_tab / local_view
(local models and variants), downloads / downloads_view (download states and their rows),
inspector (lazy header checks), local_actions (derive, import, remove), notify (messages),
file_row / cards / widgets / style / format (drawing), tasks (jobs on ui.jobs), dialogs.
"""

from __future__ import annotations

from typing import Any


def suggestion(catalog: Any) -> tuple[str, str] | None:
    """(entry id, words) for the smallest chat-tuned catalog file, or None when the catalog has none."""
    best = None
    for e in catalog.entries:
        if e.chat is not True or e.split:
            continue
        for f in e.files:
            if f.approx_bytes and f.model is None and (best is None or f.approx_bytes < best[2].approx_bytes):
                best = (e, f.encoding, f)
    if best is None:
        return None
    e, enc, f = best
    return e.id, f"Smallest chat-tuned model in the catalog: {e.title}, {enc} — {f.size_text} download."


def install(window: Any, ctx: Any, catalog: Any = None) -> Any:
    """Make the library page THE Library page of `window` and wire it to the window's models and shutdown."""
    from PySide6.QtWidgets import QApplication

    from ui.library.page import LibraryPage

    page = LibraryPage(window, ctx, catalog)
    window.add_page(
        "library",
        "Library",
        page,
        "library",
        "Models: on this computer, in the catalog and on the Hugging Face Hub",
    )
    page.stop_with(window)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(page.shutdown)
    hint = suggestion(page.catalog)
    if hint is not None:
        page.discover.highlight(hint[0])
        welcome = getattr(window, "welcome", None)
        if welcome is not None and hasattr(welcome, "set_suggestion"):
            welcome.set_suggestion(hint[1])
    window.library = page
    page.scan()  # partial downloads from an earlier session show (paused, resumable) without opening the page
    return page
