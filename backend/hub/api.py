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
from backend.hub.errors import Cancelled, FileNotFoundOnHub, HubError, UnsafeName, from_exception, offline_error
from backend.hub.names import (
    blob_problem,
    check_commit,
    check_repo,
    check_revision,
    filename_problem,
    printable,
    repo_problem,
    sha256_problem,
)

log = logging.getLogger("tern.hub")
TIMEOUT = 20.0
SPLIT_RE = re.compile(r"^(?P<stem>.*)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)
ENCODING_RE = re.compile(r"(?<![A-Za-z0-9])(TQ1_0|TQ2_0|I2_S|IQ2_TN|F16|BF16|F32|Q\d_K(?:_[SML])?|Q\d_\d|IQ\d\w*)"
                         r"(?![A-Za-z0-9])", re.IGNORECASE)
# Words that find ternary GGUF repos when a person searches with no text of their own.
TERNARY_TERMS = ("TQ1_0", "TQ2_0", "1.58", "bitnet", "ternary")
# Ternary checkpoints in safetensors (converted here) carry this tag: searched besides GGUF repos.
TERNARY_TAG = "bitnet"


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


@dataclass(frozen=True)
class RefusedEntry:
    """A file the Hub listed under a name (or with a checksum or size) Tern will not use."""

    name: str  # as listed: may hold anything, so show it with `names.printable`
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "reason": self.reason}


@dataclass
class RepoListing:
    repo: str
    commit: str | None
    files: list[HubFile]
    gated: bool = False
    private: bool = False
    license: str | None = None
    tags: list[str] = field(default_factory=list)
    refused: list[RefusedEntry] = field(default_factory=list)  # entries set aside, with the reason

    @property
    def gguf_files(self) -> list[HubFile]:
        return [f for f in self.files if f.is_gguf]

    def file(self, name: str) -> HubFile:
        for f in self.files:
            if f.name == name:
                return f
        ggufs = ", ".join(f.name for f in self.gguf_files) or "none"
        for r in self.refused:
            if r.name == name:
                raise self._refusal(r, ggufs)
        raise FileNotFoundOnHub(f"The Hub has no file {printable(name)} in {self.repo}.",
                                f"Its GGUF files: {ggufs}.", self.repo, name)

    def _refusal(self, r: RefusedEntry, ggufs: str) -> UnsafeName:
        return UnsafeName(f"The Hub's listing of {self.repo} has an entry Tern refuses: {printable(r.name)} "
                          f"({r.reason}).", f"Nothing was downloaded for it. The repo's other GGUF files still "
                          f"work: {ggufs}.", self.repo, r.name)

    def parts_of(self, name: str) -> list[HubFile]:
        """Every part of the split model `name` belongs to, in order; [that file] if not split.

        Raises (naming the repo and the part) when a part is missing, or listed under a refused name."""
        f = self.file(name)
        if f.split is None:
            return [f]
        stem, _, count = f.split
        parts = sorted((g for g in self.files if g.split and g.split[0] == stem and g.split[2] == count),
                       key=lambda g: g.split[1])  # type: ignore[index]
        missing = sorted(set(range(1, count + 1)) - {g.split[1] for g in parts if g.split})
        if missing:
            for r in self.refused:
                m = SPLIT_RE.match(r.name)
                if m and int(m["count"]) == count and int(m["no"]) in missing:
                    raise self._refusal(r, ", ".join(g.name for g in self.gguf_files) or "none")
            raise FileNotFoundOnHub(
                f"{self.repo}: the split model {printable(name)} has {count} parts but the Hub lists "
                f"{count - len(missing)} of them (part {', '.join(map(str, missing))} is missing).",
                "The upload may be unfinished; try again later or pick another file.", self.repo, name)
        return parts

    def to_dict(self) -> dict[str, Any]:
        return {"repo": self.repo, "commit": self.commit, "gated": self.gated, "private": self.private,
                "license": self.license, "files": [f.to_dict() for f in self.files],
                "refused": [r.to_dict() for r in self.refused]}


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


def _entry_problem(name: object, size: object, sha256: object, blob_id: object) -> str | None:
    """Why one listed file cannot be used as it is listed, or None."""
    problem = filename_problem(name)
    if problem:
        return problem
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or not 0 <= size < 2**62):
        return "its size is not a byte count"
    if sha256 is not None and sha256_problem(sha256):
        return sha256_problem(sha256)
    if blob_id is not None and blob_problem(blob_id):
        return blob_problem(blob_id)
    return None


def listing_from_info(info: ModelInfo, asked: str | None = None) -> RepoListing:
    """The listing, with every name checked where it enters: an entry with a bad name, size or
    checksum is set aside in `.refused` (the other files stay usable); a bad repo id or commit id
    refuses the whole answer (UnsafeName), since every path of the repo would be built from it."""
    problem = repo_problem(info.id)
    if problem:
        raise UnsafeName(f"The Hub answered for {asked or 'a repo'} with the repo id {printable(info.id)}, which "
                         f"Tern refuses: {problem}.", "Nothing was written.", asked)
    repo = info.id
    commit = check_commit(info.sha, repo) if info.sha is not None else None
    files, refused = [], []
    for s in info.siblings or []:
        size, sha = (s.lfs.size, s.lfs.sha256) if s.lfs else (s.size, None)
        why = _entry_problem(s.rfilename, size, sha, s.blob_id)
        if why:
            log.warning("refused an entry of %s's listing: %s (%s)", repo, printable(s.rfilename), why)
            refused.append(RefusedEntry(str(s.rfilename), why))
            continue
        files.append(HubFile(s.rfilename, size, sha.lower() if sha else None, s.blob_id.lower() if s.blob_id else None))
    return RepoListing(repo, commit, files, bool(info.gated), bool(info.private), _license(info),
                       list(info.tags or []), refused)


def repo_listing(repo: str, token: str | None = None, revision: str | None = None,
                 env: HubEnv | None = None) -> RepoListing:
    """Every file of `repo` with size and sha256 (blocks; one request). Raises HubError subclasses."""
    check_repo(repo)
    if revision is not None:
        check_revision(revision, repo)
    env = env or HubEnv.current(token)
    try:
        info = _api(env).model_info(repo, revision=revision, files_metadata=True, timeout=TIMEOUT)
    except Exception as e:  # noqa: BLE001 - every failure becomes a user-facing HubError
        raise from_exception(e, repo, None, bool(env.token), env.endpoint) from e
    return listing_from_info(info, repo)


@dataclass
class SearchHit:
    repo: str
    downloads: int | None
    likes: int | None
    gated: bool
    tags: list[str]
    files: list[HubFile] = field(default_factory=list)  # its GGUF files, with sizes
    error: str | None = None  # why the files could not be listed, if they could not
    refused: list[RefusedEntry] = field(default_factory=list)  # listed entries Tern will not use
    weights: list[HubFile] = field(default_factory=list)  # its safetensors weights (with config.json): converted here

    def to_dict(self) -> dict[str, Any]:
        return {"repo": self.repo, "downloads": self.downloads, "likes": self.likes, "gated": self.gated,
                "files": [f.to_dict() for f in self.files], "weights": [f.to_dict() for f in self.weights],
                "error": self.error, "refused": [r.to_dict() for r in self.refused]}


def _query(env: HubEnv, text: str, limit: int, tag: str = "gguf") -> list[ModelInfo]:
    _api(env)  # refuses at once in offline mode
    params: dict[str, Any] = {"search": text, "filter": tag, "limit": limit, "sort": "downloads"}
    headers = env.auth_headers()
    try:
        r = get_session().get(f"{env.endpoint}/api/models", params=params, headers=headers, timeout=TIMEOUT)
        hf_raise_for_status(r)
        items = r.json()
    except Exception as e:  # noqa: BLE001
        err = from_exception(e, f"search {text!r}", None, bool(env.token), env.endpoint)
        raise err from e
    if not isinstance(items, list):
        raise HubError(f"The Hub's answer to the search {printable(text)} is not a list of repos.",
                       "Try again later; the server at HF_ENDPOINT may not be the Hub.")
    out = []
    for item in items:
        try:
            info = ModelInfo(**{**item, "siblings": None}) if isinstance(item, dict) else None
        except (TypeError, ValueError, KeyError, AttributeError):
            info = None
        problem = repo_problem(info.id) if info is not None else "not a repo record"
        if problem:  # never shown, never used as a path
            log.warning("search %r: skipped a hit %s (%s)", text, printable(getattr(info, "id", item))[:200], problem)
            continue
        out.append(info)
    return out


def search(text: str = "", token: str | None = None, limit: int = 20, with_files: bool = True,
           cancel: threading.Event | None = None) -> list[SearchHit]:
    """GGUF repos and ternary safetensors repos (tagged `bitnet`) on the Hub matching `text` (or the
    ternary terms when empty), most downloaded first.

    With `with_files`, each hit lists its GGUF files and sizes and its safetensors weights (one request
    per hit, four at a time); a hit whose listing fails keeps `error` instead of failing the search. Blocks.
    """
    from backend.hub.convert_check import has_safetensors, safetensors_files

    env = HubEnv.current(token)
    queries = [(text.strip(), "gguf"), (text.strip(), TERNARY_TAG)] if text.strip() else \
        [*((t, "gguf") for t in TERNARY_TERMS), ("", TERNARY_TAG)]
    seen: dict[str, SearchHit] = {}
    for term, tag in queries:
        if cancel is not None and cancel.is_set():
            raise Cancelled("Search cancelled.")
        for info in _query(env, term, limit, tag):
            if info.id not in seen:
                seen[info.id] = SearchHit(info.id, info.downloads, info.likes, bool(info.gated),
                                          list(info.tags or []))
    hits = sorted(seen.values(), key=lambda h: -(h.downloads or 0))[:limit]
    if with_files and hits:
        def fill(hit: SearchHit) -> None:
            if cancel is not None and cancel.is_set():
                return
            try:
                listing = repo_listing(hit.repo, env=env)
                hit.files, hit.refused = listing.gguf_files, listing.refused
                hit.weights = safetensors_files(listing).weights if has_safetensors(listing) else []
            except HubError as e:
                hit.error = str(e)
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="hub-list") as pool:
            list(pool.map(fill, hits))
        if cancel is not None and cancel.is_set():
            raise Cancelled("Search cancelled.")
    return hits
