"""`tern serve` over raw HTTP: bad requests get OpenAI-shaped errors with the right status, a client
that leaves stops its generation, and the server refuses unsafe configurations."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.e2e.conftest import API_KEY, serve_env
from tests.support.serve import Serve

STORY = [{"role": "user", "content": "Tell me a story"}]
LONG = {"model": "long", "messages": STORY, "max_tokens": 60000, "stream": True, "ignore_eos": True}


def request(server: Serve, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
            ) -> tuple[int, dict[str, Any], http.client.HTTPMessage]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    data = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
    conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    r = conn.getresponse()
    raw = r.read()
    conn.close()
    is_json = (r.headers["content-type"] or "").startswith("application/json")
    return r.status, json.loads(raw) if is_json else {"text": raw.decode()}, r.headers


def error_of(status: int, body: dict[str, Any], expected: int) -> dict[str, Any]:
    assert status == expected, body
    err = body["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["message"]
    return err


def open_stream(server: Serve, body: dict[str, Any], headers: dict[str, str] | None = None
                ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """Start a streaming chat and read until its first piece of text has arrived."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("POST", "/v1/chat/completions", body=json.dumps(body).encode(),
                 headers={"Content-Type": "application/json", **(headers or {})})
    r = conn.getresponse()
    if r.status != 200:
        conn.close()
        pytest.fail(f"the stream did not start: {r.status} {r.read()!r}")
    assert r.headers["content-type"].startswith("text/event-stream")
    seen = 0
    while seen < 3:  # the role chunk, then text
        line = r.fp.readline()
        seen += line.startswith(b"data: ")
    return conn, r


@pytest.mark.parametrize(("body", "param"), [
    ({"model": "tiny", "messages": STORY, "temperature": 5}, "temperature"),
    ({"model": "tiny"}, "messages"),
    ({"model": "tiny", "messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role"),
    ({"model": "tiny", "messages": STORY, "max_tokens": 0}, "max_tokens"),
    ({"model": "tiny", "messages": STORY, "stream": "yes"}, "stream"),
    ({"model": "tiny", "messages": STORY, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ({"model": "tiny", "messages": STORY, "n": 2}, "n"),
    ({"model": "tiny", "messages": STORY, "tools": [{"type": "function"}]}, "tools"),
    ({"model": "tiny", "messages": STORY, "stream_options": {"include_usage": True}}, "stream_options"),
])
def test_bad_parameters_are_400_naming_the_field(server: Serve, body: dict[str, Any], param: str) -> None:
    err = error_of(*request(server, "POST", "/v1/chat/completions", body)[:2], 400)
    assert err["param"] == param and err["type"] == "invalid_request_error"


def test_malformed_json_is_400(server: Serve) -> None:
    err = error_of(*request(server, "POST", "/v1/chat/completions", b'{"model": "tiny", "messages": [')[:2], 400)
    assert err["code"] == "invalid_json"
    err = error_of(*request(server, "POST", "/v1/completions", b'["a list"]')[:2], 400)
    assert "JSON object" in err["message"]


@pytest.mark.parametrize("model", ["nosuch", "tiny:q4_0", "/etc/passwd", "../models/tiny.gguf"])
def test_unknown_models_and_paths_are_404(server: Serve, model: str) -> None:
    err = error_of(*request(server, "POST", "/v1/chat/completions", {"model": model, "messages": STORY})[:2], 404)
    assert err["code"] == "model_not_found" and err["param"] == "model"
    if "/" in model:
        assert "never by path" in err["message"]


def test_unknown_route_is_404(server: Serve) -> None:
    assert error_of(*request(server, "GET", "/v1/engines")[:2], 404)["code"] == "not_found"


def test_declared_body_over_the_limit_is_413_before_it_is_read(server: Serve) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("POST", "/v1/chat/completions")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(2**30))  # 1 GiB announced, none of it sent
    conn.endheaders()
    r = conn.getresponse()
    body = json.loads(r.read())
    conn.close()
    assert error_of(r.status, body, 413)["code"] == "request_too_large"


def test_chunked_body_over_the_limit_is_413(server: Serve) -> None:
    def chunks():
        yield b'{"model": "tiny", "messages": [{"role": "user", "content": "'
        for _ in range(9):
            yield b"x" * 2**20
        yield b'"}]}'

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("POST", "/v1/chat/completions", body=chunks(), encode_chunked=True,
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        status, body = r.status, json.loads(r.read())
    except (BrokenPipeError, ConnectionResetError):
        pytest.fail("the server dropped the connection instead of answering 413")
    finally:
        conn.close()
    assert error_of(status, body, 413)["code"] == "request_too_large"


def test_model_larger_than_ram_is_503_with_the_figures(server: Serve) -> None:
    status, body, _ = request(server, "POST", "/v1/chat/completions", {"model": "huge", "messages": STORY})
    err = error_of(status, body, 503)
    assert err["code"] == "model_too_large" and "does not fit in the memory available" in err["message"]
    assert "GiB available now" in err["message"]


def test_api_key_is_required_and_checked(strict_server: Serve) -> None:
    status, body, headers = request(strict_server, "GET", "/v1/models")
    assert error_of(status, body, 401)["code"] == "invalid_api_key" and headers["www-authenticate"] == "Bearer"
    status, body, _ = request(strict_server, "GET", "/v1/models", headers={"Authorization": "Bearer wrong-key-1234"})
    assert "Incorrect API key" in error_of(status, body, 401)["message"]
    status, body, _ = request(strict_server, "POST", "/v1/chat/completions", {"model": "tiny", "messages": STORY})
    error_of(status, body, 401)  # refused before the body is looked at
    status, body, _ = request(strict_server, "GET", "/v1/models", headers={"Authorization": f"Bearer {API_KEY}"})
    assert status == 200 and body["data"]
    assert request(strict_server, "GET", "/health")[:2] == (200, {"status": "ok"})


def test_busy_beyond_the_queue_is_503_and_the_model_serves_again_after(strict_server: Serve) -> None:
    auth = {"Authorization": f"Bearer {API_KEY}"}
    conn, _ = open_stream(strict_server, LONG, auth)  # the one request the model runs; no room to wait
    status, body, headers = request(strict_server, "POST", "/v1/chat/completions",
                                    {"model": "long", "messages": STORY, "max_tokens": 4}, auth)
    assert error_of(status, body, 503)["code"] == "model_busy" and headers["retry-after"]
    conn.close()  # leaving cancels the long reply; the model is free again
    deadline = time.monotonic() + 30
    while True:
        status, body, _ = request(strict_server, "POST", "/v1/chat/completions",
                                  {"model": "long", "messages": STORY, "max_tokens": 4}, auth)
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status == 200 and body["choices"][0]["message"]["content"] is not None


def test_cors_only_for_the_named_origin(server: Serve, strict_server: Serve) -> None:
    preflight = {"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"}
    status, _, headers = request(strict_server, "OPTIONS", "/v1/chat/completions", headers=preflight)
    assert status == 200 and headers["access-control-allow-origin"] == "http://localhost:3000"
    _, _, headers = request(strict_server, "OPTIONS", "/v1/chat/completions",
                            headers={**preflight, "Origin": "http://elsewhere.test"})
    assert "access-control-allow-origin" not in headers
    _, _, headers = request(server, "GET", "/v1/models", headers={"Origin": "http://localhost:3000"})
    assert "access-control-allow-origin" not in headers  # no CORS unless asked for


def engine_cpu(server: Serve) -> float:
    total = 0.0
    for pid in server.engine_pids():
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def test_a_client_that_leaves_mid_stream_cancels_its_generation(server: Serve) -> None:
    conn, _ = open_stream(server, LONG)
    conn.close()  # the client goes away after the first few pieces
    line = server.wait_for_line("cancelled: the client disconnected after")
    assert line.startswith("/v1/chat/completions long:TQ2_0 - ·")
    generated = int(re.search(r"after (\d+) generated tokens", line).group(1))  # type: ignore[union-attr]
    assert generated < 60000
    before = engine_cpu(server)
    time.sleep(1.0)
    assert engine_cpu(server) - before < 0.3  # the engine stopped generating: no CPU spent
    status, body, _ = request(server, "POST", "/v1/chat/completions", {"model": "long", "messages": STORY,
                                                                       "max_tokens": 4})
    assert status == 200 and body["usage"]["completion_tokens"] <= 4  # and the server still serves


def tern(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=60, env=env)


def test_listening_beyond_this_computer_needs_a_key(serve_home: Path) -> None:
    r = tern("serve", "--host", "0.0.0.0", "--port", "0", env=serve_env(serve_home))
    assert r.returncode == 1 and r.stdout == ""
    assert "without an API key" in r.stderr and "--api-key" in r.stderr and "Traceback" not in r.stderr
    r = tern("serve", "--host", "127.0.0.1", "--port", "0", "--api-key", "short", env=serve_env(serve_home))
    assert r.returncode == 1 and "at least 8" in r.stderr


def test_an_unknown_start_model_is_a_clear_error(serve_home: Path) -> None:
    r = tern("serve", "--port", "0", "--model", "nosuch", env=serve_env(serve_home))
    assert r.returncode == 1 and r.stdout == "" and "Traceback" not in r.stderr
    assert "Cannot serve --model nosuch: There is no local model 'nosuch'" in r.stderr


def test_a_port_in_use_is_a_clear_error(server: Serve, serve_home: Path) -> None:
    r = tern("serve", "--port", str(server.port), env=serve_env(serve_home))
    assert r.returncode == 1 and f"Port {server.port} on 127.0.0.1 is in use" in r.stderr


@pytest.mark.skipif(os.name == "nt", reason="process groups and SIGINT are POSIX")
def test_ctrl_c_stops_the_server_and_closes_every_engine(serve_home: Path) -> None:
    s = Serve.start("--model", "tiny", "--ctx", "65536", env=serve_env(serve_home), own_group=True)
    try:
        assert request(s, "POST", "/v1/chat/completions", {"model": "tiny:f16", "messages": STORY,
                                                          "max_tokens": 2})[0] == 200
        conn, _ = open_stream(s, LONG)  # a reply streaming when Ctrl+C comes
        engines = [psutil.Process(pid) for pid in s.engine_pids()]
        assert len(engines) == 3  # tiny:TQ2_0 (loaded at start), tiny:F16 and long: one process each
        assert all(os.getpgid(p.pid) == os.getpgid(s.proc.pid) for p in engines)  # the terminal's SIGINT reaches them
    finally:
        code = s.ctrl_c()  # SIGINT to the whole process group, engines too, as a terminal's Ctrl+C does
    conn.close()
    lines = s.lines()
    assert code == 0 and any("every engine process is closed" in line for line in lines)
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in engines)
    stopped = [line for line in lines if line.startswith("/v1/chat/completions long:TQ2_0")]
    assert len(stopped) == 1 and "The server is stopping" in stopped[0], lines  # not "the engine failed"
    assert not any("failed" in line or "Traceback" in line for line in lines), lines
