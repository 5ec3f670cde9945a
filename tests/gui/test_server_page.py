"""The "Local server" page in the window assembled as `tern` assembles it: the switch starts a real server,
requests show in the log, and closing the window stops the server and every engine it started."""

from __future__ import annotations

import socket
from pathlib import Path

import openai
import psutil
import pytest
from PySide6.QtCore import Qt

from app.context import AppContext
from tests.gui.conftest import register_tiny, unnamed_controls

START_MS = 30_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_page(open_window, tiny_models: dict[str, Path]):
    ctx = AppContext()
    register_tiny(ctx, tiny_models, ("tq2_0", "f16"))
    window = open_window(ctx, wait_ready=False)  # build_window: every page, as `tern` builds them
    page = window.pages["server"]
    window.show_page("server")
    return window, page


def test_the_switch_serves_and_the_log_shows_each_request(qtbot, open_window, tiny_models) -> None:
    window, page = server_page(open_window, tiny_models)
    assert window.nav.buttons["server"].text() == "Server" and window.current_page() == "server"
    assert unnamed_controls(page) == []
    port = free_port()
    page.port.setValue(port)
    qtbot.mouseClick(page.switch, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.state.text() == "Running", timeout=START_MS)
    assert page.url.text() == f"http://127.0.0.1:{port}/v1" and not page.port.isEnabled()
    client = openai.OpenAI(base_url=page.url.text(), api_key="unused", max_retries=0, timeout=60)
    r = client.chat.completions.create(model="tiny:f16", messages=[{"role": "user", "content": "hi"}],
                                       max_tokens=6, temperature=0, extra_body={"ignore_eos": True})
    assert r.usage.completion_tokens == 6
    qtbot.waitUntil(lambda: page.log.rowCount() == 1, timeout=10_000)
    time_, model, kind, tokens, ttft, decode, energy, result = (
        page.log.index(0, c).data() for c in range(page.log.columnCount()))
    assert (model, kind, result) == ("tiny:F16", "chat", "length")
    assert tokens == f"{r.usage.prompt_tokens} + 6" and decode.endswith("tok/s") and ttft != "—"
    assert energy == "—" or energy.endswith("J/token")
    assert page.energy.text().startswith("Energy: ")
    assert "Energy" in page.log.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    engines = [psutil.Process(lane.model.pid) for lane in page.controller.server.pool.lanes().values()]
    assert len(engines) == 1 and engines[0].is_running()

    qtbot.mouseClick(page.switch, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.state.text() == "Off" and page.controller.job is None, timeout=START_MS)
    assert page.url.text() == "" and page.port.isEnabled()
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in engines)
    with pytest.raises(openai.APIConnectionError):
        client.models.list()
    assert page.shutdown()


def test_other_computers_need_a_key_and_a_busy_port_is_explained(qtbot, open_window, tiny_models) -> None:
    window, page = server_page(open_window, tiny_models)
    page.lan.setChecked(True)
    assert len(page.key.text()) >= 16 and page.config().host == "0.0.0.0"  # a key is made for you
    page.key.clear()
    page.controller.start(page.config())  # refused before anything listens
    qtbot.waitUntil(lambda: page.state.text() == "Could not start", timeout=START_MS)
    assert page.controller.server is None
    assert "without an API key" in page.hint.text() and not page.switch.isChecked()

    page.lan.setChecked(False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        page.port.setValue(taken.getsockname()[1])
        page.controller.start(page.config())  # waits for the last job if it is still finishing
        qtbot.waitUntil(lambda: "is in use" in page.hint.text(), timeout=START_MS)
    assert page.state.text() == "Could not start" and not page.switch.isChecked()
    assert page.shutdown()


def test_closing_the_window_stops_the_server_and_its_engines(qtbot, open_window, tiny_models) -> None:
    window, page = server_page(open_window, tiny_models)
    assert "the local server (its engines)" in window.shutdown_steps.names()
    window.ctx.settings.update(n_ctx=1024)
    assert page.config().n_ctx == 1024  # a server started now takes the context length set now
    page.port.setValue(free_port())
    qtbot.mouseClick(page.switch, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.state.text() == "Running", timeout=START_MS)
    client = openai.OpenAI(base_url=page.url.text(), api_key="unused", max_retries=0, timeout=60)
    client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "hi"}], max_tokens=2)
    server = page.controller.server
    engines = [psutil.Process(lane.model.pid) for lane in server.pool.lanes().values()]
    assert len(engines) == 1
    window.close()  # the window's shutdown list runs, the server's step with it
    assert window.closing and "the local server (its engines)" not in window.shutdown_steps.late
    assert server.state == "stopped" and page.controller.server is None
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in engines)
    with pytest.raises(openai.APIConnectionError):
        client.models.list()
