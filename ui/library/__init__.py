"""The model library: catalog and Hub search with header checks, downloads, variants, import, remove.

`LibraryPage` (page.py) is the window's Library page; app/gui.py builds it, adds it to the window and
connects its signals. Modules: page (layout, wiring), discover (search, catalog, Hub state),
local_tab / local_view (local models and variants), downloads / downloads_view (download states and
their rows), inspector (lazy header checks), local_actions (derive, import, remove), notify
(messages), file_row / cards / widgets / style / format (drawing), tasks (jobs on ui.jobs), dialogs.
"""
