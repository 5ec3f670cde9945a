"""The model library: catalog and Hub search with header checks, downloads, variants, import, remove.

`LibraryPage` (page.py) is the window's Library page: it replaces the simple local-models page
under the same "library" key. `install(window, ctx)` is how app/gui.py's extensions pick it up:
it adds the page, keeps it in step with the window's model list, stops its jobs with the window,
and highlights the catalog model the welcome page suggests (the smallest chat-tuned one).

The Hub client, gguf and numpy take about a second to import, so unless they are loaded already
`install` imports them and reads the catalog on a job first, and the page joins the window when
that is done (the simple local-models page serves until then); the window never freezes for it.

Modules: page (layout, wiring), discover (search, catalog, Hub state), local_tab / local_view
(local models and variants), downloads / downloads_view (download states and their rows),
inspector (lazy header checks), loader (backend imports off the GUI thread), local_actions (derive,
import, remove), notify (messages),
file_row / cards / widgets / style / format (drawing), tasks (jobs on ui.jobs), dialogs.
"""

from __future__ import annotations

import sys
from typing import Any


def install(window: Any, ctx: Any, catalog: Any = None) -> Any:
    """Make the library page THE Library page of `window`: now if its backend is loaded (or a catalog is
    given), else as soon as a job has loaded it (ui/library/loader.py). Returns the page, or that Job."""
    from ui.library.loader import HEAVY, load_then

    if catalog is not None or all(m in sys.modules for m in HEAVY):
        return install_now(window, ctx, catalog)
    return load_then(window, lambda loaded: install_now(window, ctx, loaded))


def install_now(window: Any, ctx: Any, catalog: Any = None) -> Any:
    from PySide6.QtWidgets import QApplication

    from backend.chat.suggest import smallest_chat_model
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
    hint = smallest_chat_model(page.catalog)  # the model the welcome page suggests: highlighted here too
    if hint is not None:
        page.discover.highlight(hint.entry_id)
    window.library = page
    page.scan()  # partial downloads from an earlier session show (paused, resumable) without opening the page
    return page
