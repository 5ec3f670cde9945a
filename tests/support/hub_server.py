"""A local stand-in for the Hugging Face Hub: a real HTTP server on 127.0.0.1 (random ports).

It answers what huggingface_hub 2.4 and Tern call: model info (`/api/models/{repo}`, with
`blobs=true` sizes and LFS sha256), search (`/api/models?search=`), the file tree and
paths-info, and `resolve/` with HEAD and GET — large files redirect (302) to a second listener
standing in for the CDN (another port, so another host to the client), which serves byte ranges.
Tests can make it misbehave: drop a connection after N bytes, report a wrong sha256, answer
401/404/429, ignore Range — and lie in its listings the way a hostile server could: publish files
under any name (absolute, `../`, backslash, drive letter, control characters), name a commit id
or a sha256 that is a path (`lie_commit`, `lie_sha`), or list a file with no sha256 (`hide_sha`).
It serves the bytes behind every lie, so a client that trusted the listing would really write.
It records every request so tests can check what really went over the wire (ranges, whether a
token was sent, to whom).
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

LFS_MIN = 1024  # files at least this big are "LFS" files (sha256 + CDN redirect), like the Hub's rule of thumb


@dataclass
class HostedFile:
    name: str
    path: Path
    declared_size: int | None = None
    _sha: str | None = None

    @property
    def size(self) -> int:
        return self.declared_size if self.declared_size is not None else self.path.stat().st_size

    @property
    def real_size(self) -> int:
        return self.path.stat().st_size

    @property
    def sha256(self) -> str:
        if self._sha is None:  # computed on first use: the sparse multi-GB file is rarely listed
            h = hashlib.sha256()
            with open(self.path, "rb") as f:
                while block := f.read(1 << 22):
                    h.update(block)
            self._sha = h.hexdigest()
        return self._sha

    @property
    def lfs(self) -> bool:
        return self.size >= LFS_MIN

    @property
    def git_oid(self) -> str:
        """A file kept in git: its real git blob id (what the Hub lists as blobId, checkable by a client).
        An LFS file: a stand-in (the real one is the pointer file's id, which no client checks)."""
        if not self.lfs:
            data = self.path.read_bytes()
            return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        return hashlib.sha1(f"blob {self.name}".encode()).hexdigest()


@dataclass
class HostedRepo:
    id: str
    files: dict[str, HostedFile]
    license: str | None = None
    tags: list[str] = field(default_factory=list)
    gated: bool = False
    downloads: int = 0

    @property
    def commit(self) -> str:
        return hashlib.sha1(self.id.encode()).hexdigest()


@dataclass
class Logged:
    listener: str  # "api" | "cdn"
    method: str
    path: str
    query: str
    range: str | None
    auth: bool
    status: int = 0
    body_bytes: int = 0
    done: bool = False  # the handler has finished answering (body_bytes is final)

    @property
    def range_start(self) -> int | None:
        m = re.match(r"bytes=(\d+)-", self.range or "")
        return int(m.group(1)) if m else None


class HubServer:
    def __init__(self, token: str = "hf_tern_test_token_0123456789") -> None:
        self.token = token
        self.account = "tern-tester"  # who `token` belongs to (`/api/whoami-v2`)
        self.repos: dict[str, HostedRepo] = {}
        self.log: list[Logged] = []
        self.lock = threading.Lock()
        self._servers: list[ThreadingHTTPServer] = []
        self.reset()

    # -- content -----------------------------------------------------------------------------
    def add_repo(self, repo: str, files: dict[str, Path], license: str | None = None, tags: list[str] | None = None,
                 gated: bool = False, downloads: int = 0, declared_sizes: dict[str, int] | None = None,
                 declared_shas: dict[str, str] | None = None, temporary: bool = False) -> None:
        """Publish `files` (their names may be anything: that is how a test makes a listing lie).
        `declared_shas` stands in for files too big to hash at every session start (the sparse
        multi-GB one): such a file can be inspected but must never be downloaded. A `temporary`
        repo is gone after the next `reset()` (one test's lie does not leak into another)."""
        hosted = {n: HostedFile(n, Path(p), (declared_sizes or {}).get(n), (declared_shas or {}).get(n))
                  for n, p in files.items()}
        self.repos[repo] = HostedRepo(repo, hosted, license, list(tags or []), gated, downloads)
        if temporary:
            self.temporary.add(repo)

    def file(self, repo: str, name: str) -> HostedFile:
        return self.repos[repo].files[name]

    # -- faults ------------------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            for repo in getattr(self, "temporary", set()):
                self.repos.pop(repo, None)
            self.temporary: set[str] = set()
            self.listed_commits: dict[str, str] = {}
            self.listed_shas: dict[tuple[str, str], str | None] = {}
            self.failures: list[dict[str, Any]] = []
            self.drops: dict[tuple[str, str], list[int]] = {}
            self.wrong_shas: set[tuple[str, str]] = set()
            self.ignore_range = False
            self.whoami_delay = 0.0  # seconds `/api/whoami-v2` waits before answering
            self.throttle_bps: int | None = None  # CDN bytes per second (None: as fast as it can)
            self.log = []

    def fail(self, repo: str | None, status: int, times: int | None = None, where: str = "") -> None:
        """Answer `status` to requests about `repo` (any repo if None) whose path contains `where`."""
        self.failures.append({"repo": repo, "status": status, "times": times, "where": where})

    def drop_after(self, repo: str, filename: str, nbytes: int, times: int = 1) -> None:
        """Cut the connection after `nbytes` of the body, for the next `times` open-ended GETs (whole
        file or `bytes=N-`; bounded header reads are left alone)."""
        self.drops[(repo, filename)] = [nbytes] * times

    def wrong_sha(self, repo: str, filename: str) -> None:
        """Report a sha256 that does not match the bytes served."""
        self.wrong_shas.add((repo, filename))

    def lie_commit(self, repo: str, commit: str) -> None:
        """List `commit` (any text) as the repo's commit id, and serve files under it."""
        self.listed_commits[repo] = commit

    def lie_sha(self, repo: str, filename: str, sha: str) -> None:
        """List `sha` (any text) as the file's LFS sha256."""
        self.listed_shas[(repo, filename)] = sha

    def hide_sha(self, repo: str, filename: str) -> None:
        """List the file with no sha256 (as the Hub lists a file kept in git rather than LFS)."""
        self.listed_shas[(repo, filename)] = None

    def listed_commit(self, repo: HostedRepo) -> str:
        return self.listed_commits.get(repo.id, repo.commit)

    def reported_sha(self, repo: str, f: HostedFile) -> str | None:
        if (repo, f.name) in self.listed_shas:
            return self.listed_shas[(repo, f.name)]
        return hashlib.sha256(b"wrong" + f.sha256.encode()).hexdigest() if (repo, f.name) in self.wrong_shas \
            else f.sha256

    def requests(self, listener: str | None = None, path_contains: str = "") -> list[Logged]:
        """The requests so far, once every answer already started has been sent (up to 5 s): a client
        can have read the last byte before the server's thread noted how many it sent."""
        deadline = time.monotonic() + 5.0
        while True:
            with self.lock:
                if all(r.done for r in self.log) or time.monotonic() > deadline:
                    return [r for r in self.log
                            if (listener is None or r.listener == listener) and path_contains in r.path]
            time.sleep(0.01)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> HubServer:
        for listener in ("api", "cdn"):
            handler = type(f"{listener}Handler", (_Handler,), {"hub": self, "listener": listener})
            srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            srv.daemon_threads = True
            threading.Thread(target=srv.serve_forever, daemon=True, name=f"hub-{listener}").start()
            self._servers.append(srv)
        return self

    def stop(self) -> None:
        for srv in self._servers:
            srv.shutdown()
            srv.server_close()
        self._servers = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._servers[0].server_address[1]}"

    @property
    def cdn_url(self) -> str:
        return f"http://127.0.0.1:{self._servers[1].server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    hub: HubServer
    listener: str
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read `hub.log` instead
        pass

    def handle_one_request(self) -> None:
        self._entry: Logged | None = None
        try:
            super().handle_one_request()
        finally:
            if self._entry is not None:
                self._entry.done = True

    # -- plumbing ----------------------------------------------------------------------------
    def _begin(self) -> tuple[str, dict[str, list[str]]]:
        parsed = urllib.parse.urlsplit(self.path)
        entry = Logged(self.listener, self.command, urllib.parse.unquote(parsed.path), parsed.query,
                       self.headers.get("Range"), bool(self.headers.get("Authorization")))
        with self.hub.lock:
            self.hub.log.append(entry)
        self._entry = entry
        self._raw_path = parsed.path
        return entry.path, urllib.parse.parse_qs(parsed.query)

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              ctype: str = "application/json") -> None:
        self._entry.status = status
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
            self._entry.body_bytes = len(body)

    def _json(self, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), headers)

    def _error(self, status: int, code: str | None = None, message: str = "", repo: HostedRepo | None = None) -> None:
        headers = {"X-Error-Message": message or f"error {status}"}
        if code:
            headers["X-Error-Code"] = code
        if repo is not None:
            headers["X-Repo-Commit"] = repo.commit
        if status == 429:
            headers["Retry-After"] = "30"
        self._json({"error": message or f"error {status}"}, status, headers)

    def _injected(self, path: str) -> bool:
        with self.hub.lock:
            for f in self.hub.failures:
                if (f["repo"] is None or f["repo"] in path) and f["where"] in path:
                    if f["times"] is not None:
                        if f["times"] <= 0:
                            continue
                        f["times"] -= 1
                    status = f["status"]
                    break
            else:
                return False
        codes = {401: "RepoNotFound", 403: "GatedRepo", 404: "RepoNotFound"}
        self._error(status, codes.get(status), f"injected {status}")
        return True

    def _authorized(self, repo: HostedRepo) -> bool:
        return not repo.gated or self.headers.get("Authorization") == f"Bearer {self.hub.token}"

    # -- routes ------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        path, query = self._begin()
        if self.listener == "cdn":
            return self._cdn(path)
        if self._injected(path):
            return None
        if path == "/api/models":
            return self._search(query)
        if path == "/api/whoami-v2":
            return self._whoami()
        m = re.match(r"^/api/models/([^/]+/[^/]+?)(?:/revision/([^/]+))?$", path)
        if m:
            return self._info(m.group(1), query)
        m = re.match(r"^/api/models/([^/]+/[^/]+)/tree/([^/]+)(?:/(.*))?$", path)
        if m:
            return self._tree(m.group(1))
        m = re.match(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", self._raw_path)  # quoted parts: any name
        if m:
            return self._resolve(*(urllib.parse.unquote(g) for g in m.groups()))
        return self._error(404, None, "no such route")

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802
        path, _ = self._begin()
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if self._injected(path):
            return None
        m = re.match(r"^/api/models/([^/]+/[^/]+)/paths-info/([^/]+)$", path)
        if not m:
            return self._error(404, None, "no such route")
        repo = self.hub.repos.get(m.group(1))
        if repo is None:
            return self._error(404, "RepoNotFound", "Repository not found")
        wanted = form.get("paths", [])
        return self._json([self._file_entry(repo, repo.files[p]) for p in wanted if p in repo.files])

    def _file_entry(self, repo: HostedRepo, f: HostedFile) -> dict[str, Any]:
        entry: dict[str, Any] = {"type": "file", "path": f.name, "size": f.size, "oid": f.git_oid}
        sha = self.hub.reported_sha(repo.id, f)
        if f.lfs and sha is not None:
            entry["lfs"] = {"oid": sha, "size": f.size, "pointerSize": 134}
        return entry

    def _search(self, query: dict[str, list[str]]) -> None:
        text = (query.get("search") or [""])[0].lower()
        filters = query.get("filter") or []
        limit = int((query.get("limit") or ["1000"])[0])
        hits = [r for r in self.hub.repos.values()
                if text in r.id.lower() and all(f in r.tags for f in filters)]
        hits.sort(key=lambda r: -r.downloads)
        self._json([{"_id": r.commit[:24], "id": r.id, "modelId": r.id, "downloads": r.downloads, "likes": 0,
                     "private": False, "gated": "manual" if r.gated else False, "tags": r.tags,
                     "library_name": "gguf" if "gguf" in r.tags else None} for r in hits[:limit]])

    def _info(self, repo_id: str, query: dict[str, list[str]]) -> None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            return self._error(401 if "Authorization" not in self.headers else 404, "RepoNotFound",
                               "Repository not found")
        blobs = "true" in (query.get("blobs") or [])
        siblings = []
        for f in repo.files.values():
            s: dict[str, Any] = {"rfilename": f.name}
            if blobs:
                s.update({"size": f.size, "blobId": f.git_oid})
                sha = self.hub.reported_sha(repo.id, f)
                if f.lfs and sha is not None:
                    s["lfs"] = {"sha256": sha, "size": f.size, "pointerSize": 134}
            siblings.append(s)
        card = {"license": repo.license} if repo.license else {}
        self._json({"_id": repo.commit[:24], "id": repo.id, "modelId": repo.id, "author": repo.id.split("/")[0],
                    "sha": self.hub.listed_commit(repo), "private": False, "gated": "manual" if repo.gated else False,
                    "disabled": False, "downloads": repo.downloads, "likes": 0, "tags": repo.tags,
                    "cardData": card, "siblings": siblings, "lastModified": "2026-01-01T00:00:00.000Z"})

    def _whoami(self) -> None:
        time.sleep(self.hub.whoami_delay)
        if self.headers.get("Authorization") != f"Bearer {self.hub.token}":
            return self._error(401, None, "Invalid credentials in Authorization header")
        self._json({"type": "user", "id": "0123", "name": self.hub.account, "fullname": "Tern Tester",
                    "auth": {"type": "access_token", "accessToken": {"displayName": "tern-test-token",
                                                                       "role": "read"}}})

    def _tree(self, repo_id: str) -> None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            return self._error(404, "RepoNotFound", "Repository not found")
        self._json([self._file_entry(repo, f) for f in repo.files.values()])

    def _resolve(self, repo_id: str, revision: str, name: str) -> None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            return self._error(401, "RepoNotFound", "Repository not found")
        if revision not in ("main", repo.commit, self.hub.listed_commit(repo)):
            return self._error(404, "RevisionNotFound", "Invalid rev id", repo)
        if not self._authorized(repo):
            status = 403 if self.headers.get("Authorization") else 401
            return self._error(status, "GatedRepo", "Access to this model is restricted", repo)
        f = repo.files.get(name)
        if f is None:
            return self._error(404, "EntryNotFound", "Entry not found", repo)
        headers = {"X-Repo-Commit": repo.commit, "Accept-Ranges": "bytes"}
        if not f.lfs:
            headers["ETag"] = f'"{f.git_oid}"'
            return self._send(200, f.path.read_bytes(), headers, "application/octet-stream")
        sha = self.hub.reported_sha(repo.id, f) or f.git_oid
        key = f"{urllib.parse.quote(repo.id, safe='')}/{urllib.parse.quote(f.name, safe='')}"
        headers.update({"X-Linked-Etag": f'"{sha}"', "X-Linked-Size": str(f.size), "ETag": f'"{sha}"',
                        "Location": f"{self.hub.cdn_url}/cdn/{key}"})
        return self._send(302, b"", headers, "text/plain")

    def _cdn(self, path: str) -> None:
        m = re.match(r"^/cdn/([^/]+)/([^/]+)$", self._raw_path)  # repo and name quoted apart: any name
        repo_id, name = (urllib.parse.unquote(g) for g in m.groups()) if m else ("", "")
        repo = self.hub.repos.get(repo_id)
        f = repo.files.get(name) if repo else None
        if f is None:
            return self._error(404, None, "no such blob")
        size = f.real_size
        start, end = 0, size - 1
        rng = self.headers.get("Range")
        ranged = bool(rng) and not self.hub.ignore_range
        if ranged:
            m2 = re.match(r"bytes=(\d*)-(\d*)", rng or "")
            if not m2:
                return self._error(416, None, "bad range")
            start = int(m2.group(1) or 0)
            end = min(int(m2.group(2)) if m2.group(2) else size - 1, size - 1)
            if start >= size:
                self._entry.status = 416
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
        length = end - start + 1
        self._entry.status = 206 if ranged else 200
        self.send_response(self._entry.status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{f.git_oid}"')  # not the sha256: hashing a sparse multi-GB file is slow
        if ranged:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if self.command == "HEAD":
            return None
        open_ended = not re.match(r"bytes=\d*-\d+", rng or "")  # a download, not a header read
        with self.hub.lock:
            drops = self.hub.drops.get((repo_id, name)) if open_ended else None
            cut = drops.pop(0) if drops else None
        send = length if cut is None else min(length, cut)
        self.wfile.flush()
        with open(f.path, "rb") as fh:
            sent = self._throttled(fh, start, send) if self.hub.throttle_bps else \
                (self.connection.sendfile(fh, start, send) if send else 0)
        self._entry.body_bytes = sent
        if cut is not None:  # simulate a dropped connection: close without sending the rest
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return None


    def _throttled(self, fh: Any, start: int, count: int) -> int:
        """Send like a slow link: 16 KiB at a time, paced to `throttle_bps`."""
        fh.seek(start)
        sent, step = 0, 16 * 1024
        while sent < count:
            block = fh.read(min(step, count - sent))
            try:
                self.connection.sendall(block)
            except OSError:  # the client went away (cancel): stop quietly
                break
            sent += len(block)
            time.sleep(len(block) / (self.hub.throttle_bps or 1))
        return sent


# -- pytest fixtures (imported by tests/conftest.py) -------------------------------------------

@pytest.fixture(scope="session")
def hub_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    """The local Hub with the synthetic repos of `tests/support/hub_repos.py`, for the whole session."""
    from tests.support import hub_repos

    server = HubServer(hub_repos.TOKEN).start()
    hub_repos.build_repos(tmp_path_factory.mktemp("hub-repos"), server)
    yield server
    server.stop()


@pytest.fixture()
def local_hub(hub_server: HubServer, tern_home: Path, monkeypatch: pytest.MonkeyPatch) -> HubServer:
    """The local Hub, with HF_ENDPOINT pointing at it and no faults left over from other tests."""
    hub_server.reset()
    monkeypatch.setenv("HF_ENDPOINT", hub_server.url)
    return hub_server

