"""What is on the Hub: one repo's files (sizes, sha256, commit) and search for ternary GGUF repos.

Repo listings use `HfApi.model_info(files_metadata=True)`: one request answers every file's size
and LFS sha256 plus the commit they belong to. Search calls the same `/api/models` endpoint as
`HfApi.list_models` through huggingface_hub's own session, but without its retry loop: that loop
sleeps 1+2+4+8+8 s on a dead network or a 429, and a person waiting for search results deserves
"offline" or "rate-limited" at once. All calls block: run them off the GUI thread.
"""

from __future__ import annotations

import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from huggingface_hub import HfApi, ModelInfo
from huggingface_hub.utils import get_session, hf_raise_for_status

from backend.hub.env import HubEnv
from backend.hub.errors import Cancelled, FileNotFoundOnHub, HubError, from_exception, offline_error

log = logging.getLogger("tern.hub")
TIMEOUT = 20.0
SPLIT_RE = re.compile(r"^(?P<stem>.*)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)
ENCODING_RE = re.compile(r"(?<![A-Za-z0-9])(TQ1_0|TQ2_0|I2_S|IQ2_TN|F16|BF16|F32|Q\d_K(?:_[SML])?|Q\d_\d|IQ\d\w*)"
                         r"(?![A-Za-z0-9])", re.IGNORECASE)
# Words that find ternary GGUF repos when a person searches with no text of their own.
TERNARY_TERMS = ("TQ1_0", "TQ2_0", "1.58", "bitnet", "ternary")


@dataclass(frozen=True)
class HubFile:
    name: str
    size: int | None
    sha256: str | None  # the LFS sha256; None for small files kept in git
    blob_id: str | None = None

    @property
    def is_gguf(self) -> bool:
        return self.name.lower().endswith(".gguf")

    @property
    def split(self) -> tuple[str, int, int] | None:
        """(stem, part number, part count) for `name-0000N-of-0000M.gguf`, else None."""
        m = SPLIT_RE.match(self.name)
        return (m["stem"], int(m["no"]), int(m["count"])) if m else None

    @property
    def encoding_hint(self) -> str | None:
        """The encoding the file name claims (not checked: `inspect` reads the header for that)."""
        m = ENCODING_RE.search(self.name.rsplit("/", 1)[-1])
        return m.group(1).upper() if m else None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "sha256": self.sha256,
                "encoding_hint": self.encoding_hint, "split": list(self.split) if self.split else None}


@dataclass
class RepoListing:
    repo: str
    commit: str | None
    files: list[HubFile]
    gated: bool = False
    private: bool = False
    license: str | None = None
    tags: list[str] = field(default_factory=list)

    @property
    def gguf_files(self) -> list[HubFile]:
        return [f for f in self.files if f.is_gguf]

    def file(self, name: str) -> HubFile:
        for f in self.files:
            if f.name == name:
                return f
        ggufs = ", ".join(f.name for f in self.gguf_files) or "none"
        raise FileNotFoundOnHub(f"The Hub has no file {name!r} in {self.repo}.",
                                f"Its GGUF files: {ggufs}.", self.repo, name)

    def parts_of(self, name: str) -> list[HubFile]:
        """Every part of the split model `name` belongs to, in order; [that file] if not split."""
        f = self.file(name)
        if f.split is None:
            return [f]
        stem, _, count = f.split
        parts = sorted((g for g in self.files if g.split and g.split[0] == stem and g.split[2] == count),
                       key=lambda g: g.split[1])  # type: ignore[index]
        return parts

    def to_dict(self) -> dict[str, Any]:
        return {"repo": self.repo, "commit": self.commit, "gated": self.gated, "private": self.private,
                "license": self.license, "files": [f.to_dict() for f in self.files]}


def _api(env: HubEnv) -> HfApi:
    if env.offline:
        raise offline_error("Offline mode is on (HF_HUB_OFFLINE), so the Hub is not asked.")
    return HfApi(endpoint=env.endpoint, token=env.token or False)


def _license(info: ModelInfo) -> str | None:
    card = info.card_data
    lic = getattr(card, "license", None) if card is not None else None
    if lic:
        return str(lic)
    for tag in info.tags or []:
        if tag.startswith("license:"):
            return tag.split(":", 1)[1]
    return None


def listing_from_info(info: ModelInfo) -> RepoListing:
    files = [HubFile(s.rfilename, s.lfs.size if s.lfs else s.size, s.lfs.sha256 if s.lfs else None, s.blob_id)
             for s in info.siblings or []]
    return RepoListing(info.id, info.sha, files, bool(info.gated), bool(info.private), _license(info),
                       list(info.tags or []))


def repo_listing(repo: str, token: str | None = None, revision: str | None = None,
                 env: HubEnv | None = None) -> RepoListing:
    """Every file of `repo` with size and sha256 (blocks; one request). Raises HubError subclasses."""
    env = env or HubEnv.current(token)
    try:
        info = _api(env).model_info(repo, revision=revision, files_metadata=True, timeout=TIMEOUT)
    except Exception as e:  # noqa: BLE001 - every failure becomes a user-facing HubError
        raise from_exception(e, repo, None, bool(env.token), env.endpoint) from e
    return listing_from_info(info)


@dataclass
class SearchHit:
    repo: str
    downloads: int | None
    likes: int | None
    gated: bool
    tags: list[str]
    files: list[HubFile] = field(default_factory=list)  # its GGUF files, with sizes
    error: str | None = None  # why the files could not be listed, if they could not

    def to_dict(self) -> dict[str, Any]:
        return {"repo": self.repo, "downloads": self.downloads, "likes": self.likes, "gated": self.gated,
                "files": [f.to_dict() for f in self.files], "error": self.error}


def _query(env: HubEnv, text: str, limit: int) -> list[ModelInfo]:
    _api(env)  # refuses at once in offline mode
    params: dict[str, Any] = {"search": text, "filter": "gguf", "limit": limit, "sort": "downloads"}
    headers = env.auth_headers()
    try:
        r = get_session().get(f"{env.endpoint}/api/models", params=params, headers=headers, timeout=TIMEOUT)
        hf_raise_for_status(r)
        items = r.json()
    except Exception as e:  # noqa: BLE001
        err = from_exception(e, f"search {text!r}", None, bool(env.token), env.endpoint)
        raise err from e
    return [ModelInfo(**{"siblings": None, **item}) for item in items]


def search(text: str = "", token: str | None = None, limit: int = 20, with_files: bool = True,
           cancel: threading.Event | None = None) -> list[SearchHit]:
    """GGUF repos on the Hub matching `text` (or the ternary terms when empty), most downloaded first.

    With `with_files`, each hit lists its GGUF files and sizes (one request per hit, four at a
    time); a hit whose listing fails keeps `error` instead of failing the search. Blocks.
    """
    env = HubEnv.current(token)
    terms = [text.strip()] if text.strip() else list(TERNARY_TERMS)
    seen: dict[str, SearchHit] = {}
    for term in terms:
        if cancel is not None and cancel.is_set():
            raise Cancelled("Search cancelled.")
        for info in _query(env, term, limit):
            if info.id not in seen:
                seen[info.id] = SearchHit(info.id, info.downloads, info.likes, bool(info.gated),
                                          list(info.tags or []))
    hits = sorted(seen.values(), key=lambda h: -(h.downloads or 0))[:limit]
    if with_files and hits:
        def fill(hit: SearchHit) -> None:
            if cancel is not None and cancel.is_set():
                return
            try:
                hit.files = repo_listing(hit.repo, env=env).gguf_files
            except HubError as e:
                hit.error = str(e)
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="hub-list") as pool:
            list(pool.map(fill, hits))
        if cancel is not None and cancel.is_set():
            raise Cancelled("Search cancelled.")
    return hits
