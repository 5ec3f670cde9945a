"""Plain HTTP for file bytes (ranged reads and downloads), with the Hub's redirect rules.

The Hub answers `resolve/` for large files with a redirect to a CDN on another host. The token
goes to the Hub only: it is sent again after a redirect to the same host and port, never to
another host (as huggingface_hub does). urllib, not httpx2, because a download loop here reads
with `read1()` (whatever the socket has, up to a buffer) so cancel is prompt, and it adds no
per-chunk overhead.
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from http.client import HTTPResponse
from typing import Any

from huggingface_hub import hf_hub_url

from backend.hub.env import HubEnv

USER_AGENT = "tern (huggingface_hub-compatible downloader)"
TIMEOUT = 30.0


class _SameHostAuthRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is None:
            return None
        old_host = urllib.parse.urlsplit(req.full_url).netloc
        new_host = urllib.parse.urlsplit(new.full_url).netloc
        auth = req.unredirected_hdrs.get("Authorization")
        if auth and old_host == new_host:
            new.add_unredirected_header("Authorization", auth)
        if req.get_method() == "HEAD":
            new.method = "HEAD"
        return new


_OPENER = urllib.request.build_opener(_SameHostAuthRedirect())


def resolve_url(env: HubEnv, repo: str, filename: str, revision: str | None = None) -> str:
    return hf_hub_url(repo, filename, revision=revision or "main", endpoint=env.endpoint)


def open_url(url: str, env: HubEnv, start: int = 0, end: int | None = None, method: str = "GET",
             timeout: float = TIMEOUT) -> HTTPResponse:
    """Open `url` (bytes `start`..`end` inclusive when given); raises urllib.error.HTTPError/URLError."""
    req = urllib.request.Request(url, method=method)
    req.add_header("User-Agent", USER_AGENT)
    req.add_header("Accept-Encoding", "identity")
    if start or end is not None:
        req.add_header("Range", f"bytes={start}-{'' if end is None else end}")
    if env.token:
        req.add_unredirected_header("Authorization", f"Bearer {env.token}")
    return _OPENER.open(req, timeout=timeout)  # type: ignore[no-any-return]


def total_size(resp: HTTPResponse) -> int | None:
    """The whole file's size from Content-Range (ranged answers) or Content-Length (full answers)."""
    cr = resp.headers.get("Content-Range")
    if cr and "/" in cr:
        tail = cr.rsplit("/", 1)[1].strip()
        return int(tail) if tail.isdigit() else None
    cl = resp.headers.get("Content-Length")
    return int(cl) if cl and cl.isdigit() and resp.status == 200 else None

