"""Fixtures for the library page tests: a real window, the local Hub on 127.0.0.1, a catalog of its repos.

The bundled catalog names real Hub repos, which the local Hub does not host; `local_catalog()`
is the same kind of data pointing at the local Hub's synthetic repos (sizes as it lists them),
so the page's catalog rows can be checked end to end without the internet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.context import AppContext
from backend.hub.catalog import Catalog, CatalogEntry, CatalogFile, Incompatible
from tests.gui.conftest import join_pages
from tests.support import convert_repos as C
from tests.support import hub_repos
from tests.support.hub_server import HubServer
from ui.library.file_row import FileRow
from ui.library.page import LibraryPage
from ui.main_window import MainWindow

TQ2, TQ1, I2S = "tiny-TQ2_0.gguf", "tiny-TQ1_0.gguf", "ggml-model-i2_s.gguf"
NET_MS = 20_000
DERIVE_MS = 90_000


def local_catalog(hub: HubServer) -> Catalog:
    def f(repo: str, name: str, enc: str, default: bool = False) -> CatalogFile:
        size = hub.file(repo, name).size
        return CatalogFile(name, enc, f"{size / 1e3:.0f} kB", size, default)

    tiny = CatalogEntry(
        "tiny-test",
        "tiny",
        "Tiny ternary (test)",
        "synthetic",
        "1 M",
        "mit",
        True,
        hub_repos.TERNARY,
        "yes",
        (f(hub_repos.TERNARY, TQ2, "TQ2_0", True), f(hub_repos.TERNARY, TQ1, "TQ1_0")),
        "Derive it locally from the TQ2_0 file.",
        {"n_layer": 2, "n_head_kv": 4, "head_dim": 64, "context_length": 2048},
        {"chat_note": "test model", "runs_note": "served by the local Hub"},
    )
    i2s = CatalogEntry(
        "i2s-test",
        "bitnet-i2s",
        "BitNet in I2_S (test)",
        "synthetic",
        "1 M",
        "mit",
        True,
        hub_repos.I2S,
        "check",
        (f(hub_repos.I2S, I2S, "I2_S", True),),
        "—",
        None,
    )
    chat_dims = {"n_layer": 3, "n_embd": 256, "n_ff": 512, "n_head": 4, "n_head_kv": 2, "head_dim": 64,
                 "n_vocab": 512, "tied": False, "arch": "llama", "context_length": 512}
    chat = CatalogEntry(
        "chat-test",
        "chat-1.58bit",
        "Chat 1.58-bit (test, packed safetensors)",
        "synthetic",
        "1 M",
        "other",
        True,
        C.CHAT,
        "convert",
        (f(C.CHAT, C.WEIGHTS, "packed", True),),
        "Made here from the converted TQ2_0 file.",
        None,
        {"runs_note": "packed ternary safetensors, converted here"},
        kind="packed",
        dims=chat_dims,
    )
    chat_gguf = CatalogEntry(
        "chat-gguf-test",
        "chat-1.58bit",
        "Chat 1.58-bit (test, I2_S GGUF)",
        "synthetic",
        "1 M",
        "other",
        True,
        C.CHAT_GGUF,
        "convert",
        (f(C.CHAT_GGUF, C.I2S_FILE, "I2_S", True),),
        "Made here from the converted TQ2_0 file.",
        None,
        kind="i2_s",
        dims=chat_dims,
    )
    bad = Incompatible(
        "tern-test/never-*", "A bitnet.cpp-only model (test)", "needs bitnet.cpp (I2_S)", "mit"
    )
    return Catalog((tiny, i2s, chat, chat_gguf), (bad,), "Test catalog served by the local Hub.")


@pytest.fixture()
def open_library(
    qtbot, open_window, local_hub: HubServer
) -> Iterator[Callable[..., tuple[MainWindow, LibraryPage]]]:
    """Opens the window with its pages added as `tern` adds them, the library on a local catalog, shown;
    shuts its jobs down after."""
    pages: list[LibraryPage] = []

    def opener(
        ctx: AppContext | None = None, catalog: Catalog | None = None
    ) -> tuple[MainWindow, LibraryPage]:
        w = open_window(ctx or AppContext(), wait_ready=False, pages=False)
        page = join_pages(w, catalog=catalog or local_catalog(local_hub)).library
        pages.append(page)
        w.show_page("library")
        qtbot.waitUntil(lambda: page.isVisible(), timeout=5000)
        rows = [r for c in page.discover.catalog_cards for r in c.visible_rows()]
        if page.discover.isVisible():  # the cards' layout has settled: a click lands on a button, not a sliver
            qtbot.waitUntil(lambda: all(r.action.height() > 0 for r in rows), timeout=5000)
        return w, page

    yield opener
    for page in pages:
        try:
            assert page.shutdown(), "a library job did not stop in time"
            assert not page.tasks.jobs or all(not j.running for j in page.tasks.jobs)
        except RuntimeError:  # the page is already gone with its window
            pass
    local_hub.reset()


def row(page: LibraryPage, repo: str, filename: str) -> FileRow:
    rows = page.discover.rows_for((repo, filename))
    assert rows, f"no row for {repo}/{filename}"
    return rows[0]


def wait_verdict(qtbot, r: FileRow, text: str, timeout: int = NET_MS) -> None:
    qtbot.waitUntil(lambda: text in r.verdict.text(), timeout=timeout)


def click(qtbot, widget) -> None:
    assert widget.isVisible() and widget.isEnabled(), f"{widget.text()!r} is not clickable"
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def banner_texts(w: MainWindow) -> list[str]:
    return [f"{b.notice.text} {b.notice.hint}" for b in w.notices.banners()]


def banner(w: MainWindow, contains: str):
    found = [b for b in w.notices.banners() if contains in b.notice.text]
    assert found, f"no notice with {contains!r}; shown: {banner_texts(w)}"
    return found[-1]


def picker_items(w: MainWindow) -> list[str]:
    p = w.chat.header.picker
    return [p.itemText(i) for i in range(p.count())]


def cdn_downloads(hub: HubServer) -> list:
    """Requests to the CDN that fetch file bodies (not bounded header reads)."""
    return [
        r for r in hub.requests("cdn") if r.method == "GET" and not (r.range or "").split("-")[-1].isdigit()
    ]


def register(ctx: AppContext, tiny_models: dict[str, Path], encodings: tuple[str, ...] = ("tq2_0",)) -> None:
    for enc in encodings:
        ctx.registry.add_variant(
            "tiny",
            tiny_models[enc],
            enc,
            "synthetic",
            model_fields={"synthetic": 1, "chat": 1, "family": "synthetic"},
        )
