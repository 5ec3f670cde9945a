"""Check before download: read a GGUF's header on the Hub with HTTP range requests.

`HttpRangeSource` is a `ByteSource` over one URL. It keeps what it fetched (a prefix of the file)
and fetches ahead geometrically (256 KiB, then 4× more each time), so a typical header costs one
or two requests and the bytes read stay close to the header's own size. `inspect_remote` turns
the header into what a person needs before a multi-GB download: architecture, parameters,
encodings, context length, the verdict and the RAM fit.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.hub.api import RepoListing, repo_listing
from backend.hub.env import HubEnv
from backend.hub.errors import Cancelled, from_exception, offline_error
from backend.hub.http import open_url, resolve_url, total_size
from backend.hub.names import check_filename, check_repo, check_revision
from backend.hub.verdict import NEEDS_BITNET_CPP, Verdict, verdict
from backend.models.checks import split_parts
from backend.models.gguf_header import GGUFHeader, HeaderError, NeedMoreData, parse_header, read_header
from backend.models.ram_fit import RamFit, kv_cache_bytes, ram_fit

log = logging.getLogger("tern.hub")
FIRST_FETCH = 256 * 1024
GROWTH = 4
MAX_HEADER = 512 * 1024**2  # a header larger than this is not a header


class HttpRangeSource:
    """Bytes of a remote file, fetched on demand from the start with Range requests.

    `read_ahead=False` fetches exactly the bytes asked for (a safetensors header: 8 bytes, then the
    header's own length), so not one byte of the weights after it moves."""

    def __init__(self, url: str, env: HubEnv, cancel: threading.Event | None = None, read_ahead: bool = True) -> None:
        self.url, self.env, self.cancel, self.read_ahead = url, env, cancel, read_ahead
        self.buf = bytearray()
        self.size: int | None = None  # the whole file's size, from Content-Range
        self.requests = 0
        self.bytes_read = 0
        self._next = FIRST_FETCH

    def _fetch(self, end: int) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("Inspection cancelled.")
        start = len(self.buf)
        if self.read_ahead:
            end = max(end, start + self._next)
        if self.size is not None:
            end = min(end, self.size)
        if end <= start or end > MAX_HEADER:
            return
        self._next *= GROWTH
        self.requests += 1
        with open_url(self.url, self.env, start, end - 1) as resp:
            if self.size is None:
                self.size = total_size(resp)
            want = end - start
            if resp.status == 200 and start > 0:  # the server ignored Range: skip to where we are
                resp.read(start)
            got = bytearray()
            while len(got) < want:  # read only what was asked, even from a server that ignored Range
                chunk = resp.read1(min(want - len(got), 1 << 20))
                if not chunk:
                    break
                got += chunk
        self.bytes_read += len(got)
        self.buf += got

    def read_at(self, offset: int, size: int) -> bytes:
        end = offset + size
        if end > len(self.buf) and (self.size is None or len(self.buf) < self.size):
            self._fetch(end)
        return bytes(self.buf[offset:end])


@dataclass
class Inspection:
    """What a GGUF file is and whether it runs here, from its header alone."""

    repo: str | None
    filename: str
    size: int | None  # this file's bytes
    model_bytes: int | None  # all parts together, for a split model
    verdict: Verdict
    header: GGUFHeader | None
    ram: RamFit | None
    n_ctx: int
    requests: int = 0
    bytes_read: int = 0
    parts: list[str] = field(default_factory=list)
    reason: str | None = None  # why the header could not be read (not GGUF, …)
    conversion: Any = None  # the converter's ConvertVerdict, for a source Tern converts (I2_S, safetensors)

    @property
    def runs(self) -> bool:
        """It runs as published."""
        return self.verdict.runs

    @property
    def usable(self) -> bool:
        """Downloading it gives a model that runs here (as published, or converted on this computer)."""
        return self.verdict.usable

    def to_dict(self) -> dict[str, Any]:
        h = self.header
        out: dict[str, Any] = {
            "repo": self.repo, "file": self.filename, "size": self.size, "model_bytes": self.model_bytes,
            "verdict": self.verdict.to_dict(), "n_ctx": self.n_ctx, "parts": self.parts,
            "requests": self.requests, "bytes_read": self.bytes_read, "reason": self.reason,
        }
        if h is not None:
            out.update({
                "architecture": h.architecture, "name": h.name, "n_params": h.n_params,
                "encodings": h.type_counts(), "context_length": h.context_length,
                "chat_template": h.chat_template is not None, "split_count": h.split_count,
            })
        if self.conversion is not None:
            out["conversion"] = self.conversion.to_dict()
        if self.ram is not None:
            r = self.ram
            out["ram"] = {"verdict": r.verdict, "need_bytes": r.need_bytes, "weights_bytes": r.weights_bytes,
                          "kv_bytes": r.kv_bytes, "available_bytes": r.available_bytes, "text": r.describe()}
        return out


def not_gguf(repo: str | None, filename: str, size: int | None, reason: str, n_ctx: int) -> Inspection:
    v = Verdict("not_gguf", f"not a usable GGUF file ({reason})", "unknown", False)
    return Inspection(repo, filename, size, size, v, None, None, n_ctx, reason=reason)


def summarize(repo: str | None, filename: str, header: GGUFHeader, size: int | None, model_bytes: int | None,
              n_ctx: int, available_ram: int | None = None) -> Inspection:
    ctx = min(n_ctx, header.context_length or n_ctx)
    weights = model_bytes if model_bytes is not None else (size or header.expected_file_size or 0)
    fit = ram_fit(weights, kv_cache_bytes(header, ctx), available_ram)
    return Inspection(repo, filename, size, model_bytes, verdict(header, size), header, fit, ctx)


def inspect_remote(repo: str, filename: str, token: str | None = None, n_ctx: int = 2048,
                   revision: str | None = None, listing: RepoListing | None = None,
                   available_ram: int | None = None, cancel: threading.Event | None = None) -> Inspection:
    """Read `repo`/`filename`'s header over HTTP (blocks; one or two requests for most files).

    A split model's other parts are found in the repo listing (one more request unless `listing`
    is given) so the RAM figure covers the whole model. Raises HubError subclasses for HTTP and
    network failures; a file that is not GGUF is an Inspection with verdict `not_gguf`. A bitnet.cpp
    I2_S GGUF gets Tern's conversion verdict, and a `.safetensors` file stands for its repo's weights:
    config.json and every weight file's header are checked (`backend.hub.convert_check`).
    """
    check_repo(repo)
    check_filename(filename, repo)
    if filename.lower().endswith(".safetensors"):
        from backend.hub.convert_check import check_safetensors_repo

        return check_safetensors_repo(repo, token, n_ctx, listing, available_ram, cancel)
    if revision is not None:
        check_revision(revision, repo)
    env = HubEnv.current(token)
    if env.offline:
        raise offline_error(f"Offline mode is on (HF_HUB_OFFLINE), so {repo}/{filename} cannot be inspected.")
    src = HttpRangeSource(resolve_url(env, repo, filename, revision or (listing.commit if listing else None)),
                          env, cancel)
    try:
        header = parse_header(src, chunk=64 * 1024)
    except (HeaderError, NeedMoreData) as e:
        reason = e.reason if isinstance(e, HeaderError) else "the file ends inside its header"
        out = not_gguf(repo, filename, src.size, reason, n_ctx)
        out.requests, out.bytes_read = src.requests, src.bytes_read
        return out
    except Cancelled:
        raise
    except Exception as e:  # noqa: BLE001 - HTTP and network failures become HubErrors
        raise from_exception(e, repo, filename, bool(env.token), env.endpoint) from e
    model_bytes, parts = src.size, [filename]
    if header.split_count > 1:
        listing = listing or repo_listing(repo, env=env, revision=revision)
        files = listing.parts_of(filename)
        parts = [f.name for f in files]
        sizes = [f.size for f in files]
        model_bytes = sum(s for s in sizes if s) if all(sizes) and len(files) == header.split_count else None
    out = summarize(repo, filename, header, src.size, model_bytes, n_ctx, available_ram)
    out.requests, out.bytes_read, out.parts = src.requests, src.bytes_read, parts
    if out.verdict.code == NEEDS_BITNET_CPP and src.size:
        from backend.hub.convert_check import check_i2s_header

        check_i2s_header(out, header, src.size, n_ctx, available_ram)
    log.info("inspected %s/%s: %s (%d requests, %d bytes)", repo, filename, out.verdict.text, src.requests,
             src.bytes_read)
    return out


def inspect_local(path: str | Path, n_ctx: int = 2048, available_ram: int | None = None) -> Inspection:
    """The same inspection for a file on disk (for import and the library)."""
    path = Path(path)
    size = path.stat().st_size
    try:
        header = read_header(path)
    except HeaderError as e:
        return not_gguf(None, path.name, size, e.reason, n_ctx)
    parts = split_parts(path, header)
    model_bytes = sum(p.stat().st_size for p in parts if p.exists()) if len(parts) > 1 else size
    out = summarize(None, path.name, header, size, model_bytes, n_ctx, available_ram)
    out.parts = [p.name for p in parts]
    return out

