"""Download a source Tern converts — a bitnet.cpp I2_S GGUF or a ternary safetensors repo — and register the result.

One call, stages reported through one `progress` (Progress.stage / stage_index / stage_count):
1. download — before a byte of weights moves: the verdict from headers (HTTP ranges), the model name is
   free, the disk has room for the download AND the converted file (each counted on its own disk);
   then the small files (config.json, tokenizer files) first — for safetensors the tokenizer is
   checked before the weights come — then the weights, resumable, each file verified against the Hub's
   listing (LFS sha256; a file kept in git: its git blob id);
2. convert — tensor by tensor into a `.part` file next to the result (backend.models.convert);
3. verify — the file read back and compared with the source, then renamed and registered with
   provenance: source repo, commit, every source file's sha256 and how it was checked, converter version.

Nothing half-converted is ever registered. Cancel: during the download it is a pause (the partial
file stays; calling again resumes); during the conversion nothing of it is kept, and the downloaded
source stays in the cache until `discard_sources` or the next verified conversion. After a verified
conversion the source files Tern downloaded are removed unless `keep_source` (`source_files`).
Blocks; run it off the GUI thread.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.hub import cache as hc
from backend.hub import source_files as sf
from backend.hub.api import HubFile, RepoListing
from backend.hub.catalog import load_catalog, model_name_for
from backend.hub.convert_check import check_safetensors_repo, is_safetensors_name, safetensors_files
from backend.hub.download import FetchedFile, bytes_missing, fetch_files, free_space
from backend.hub.env import HubEnv
from backend.hub.errors import Cancelled, ChecksumMismatch, DiskFull, HubError, NotRunnable, amount
from backend.hub.names import check_filename, inside
from backend.hub.progress import Progress, ProgressFn
from backend.hub.remote import Inspection, inspect_remote
from backend.models.convert import (
    DEFAULT_HEAD,
    ConvertCancelled,
    ConvertError,
    ConvertProgress,
    convert_and_register,
)
from backend.models.convert.gguf_out import ENCODING
from backend.models.convert.plan import read_config
from backend.models.convert.vocab import vocab_from_folder
from backend.models.registry import Registry, Variant
from backend.paths import paths

if TYPE_CHECKING:
    from backend.hub.library import DownloadResult

log = logging.getLogger("tern.hub")
STAGES = ("download", "convert", "verify")
EVERY = 0.1  # seconds between progress reports of the conversion


def output_dir() -> Path:
    return paths().models / "converted"


class Stages:
    """One progress display over the stages: download bytes (all files), then converted bytes, then verify."""

    def __init__(self, repo: str, key: str, progress: ProgressFn | None) -> None:
        self.repo, self.key, self.progress = repo, key, progress
        self._last = 0.0
        self._phase = ""

    def download(self, offset: int, total: int) -> ProgressFn:
        def report(p: Progress) -> None:
            if self.progress is not None:
                self.progress(replace(p, done_bytes=offset + p.done_bytes, total_bytes=total,
                                      phase="download" if p.phase == "done" else p.phase, stage="download",
                                      stage_index=1, stage_count=len(STAGES)))
        return report

    def convert(self, c: ConvertProgress) -> None:
        if self.progress is None:
            return
        stage = "verify" if c.phase in ("verify", "done") else "convert"
        now = time.monotonic()
        if c.phase == self._phase and now - self._last < EVERY:
            return
        self._last, self._phase = now, c.phase
        self.progress(Progress(self.repo, self.key, c.done_bytes, c.total_bytes, None, None, c.phase,
                               stage=stage, stage_index=STAGES.index(stage) + 1, stage_count=len(STAGES),
                               detail=c.detail))


def check_disk(env: HubEnv, repo: str, files: list[HubFile], output_bytes: int | None) -> None:
    """Refuse before anything is written when the download and the converted file cannot both fit,
    each counted on the disk that holds it (the HF cache, Tern's models folder)."""
    download, out = bytes_missing(env, repo, files), int(output_bytes or 0)
    (free_c, where_c), (free_o, where_o) = free_space(env.cache_dir), free_space(output_dir())
    same = os.stat(where_c).st_dev == os.stat(where_o).st_dev
    needs = [(download + out, free_c, where_c)] if same else [(download, free_c, where_c), (out, free_o, where_o)]
    for needed, free, where in needs:
        if needed > free:
            e = DiskFull(needed, free, str(where), repo)
            e.message = (f"Not enough disk space for {repo}: it needs {amount(download)} for the download and "
                         f"{amount(out)} for the converted model, and {where} has {amount(free)} free.")
            raise e


def verify_git_blob(fetched: FetchedFile, f: HubFile, cache: Path, repo: str) -> bool:
    """A file kept in git (no LFS sha256) checked against the git blob id the Hub lists for it:
    sha1("blob <size>\\0" + bytes). A mismatch quarantines the file, like a wrong sha256."""
    if f.sha256 or not f.blob_id or len(f.blob_id) != 40:
        return False
    data = Path(fetched.path).read_bytes()
    actual = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's own id, not security
    if actual == f.blob_id:
        return True
    dst = hc.quarantine(Path(fetched.blob), repo, f.name, actual)
    Path(fetched.path).unlink(missing_ok=True)
    e = ChecksumMismatch(repo, f.name, f.blob_id, actual, str(dst))
    e.message = (f"{repo}/{f.name} failed verification: its git blob id is {actual[:12]}… but the Hub lists "
                 f"{f.blob_id[:12]}…. The file was quarantined ({dst}); nothing was converted.")
    raise e


def _stage_folder(fetched: list[FetchedFile]) -> Path:
    """A folder holding exactly the downloaded files (links to them), so nothing else in the snapshot
    — a file another tool downloaded — becomes part of the conversion."""
    cache = paths().cache
    cache.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="convert-src-", dir=cache))
    for f in fetched:
        link = inside(folder, folder / Path(f.filename).name)
        try:
            os.symlink(Path(f.path).resolve(), link)
        except OSError:
            shutil.copyfile(f.path, link)
    return folder


def download_and_convert(registry: Registry, env: HubEnv, listing: RepoListing, filename: str, *,
                         inspection: Inspection | None = None, progress: ProgressFn | None = None,
                         cancel: threading.Event | None = None, n_ctx: int = 2048, model_name: str | None = None,
                         retries: int = 3, keep_source: bool = False, target: str = "tq2_0",
                         head_encoding: str = DEFAULT_HEAD) -> DownloadResult:
    """Check, download, convert, verify and register `listing.repo`'s weights (`filename` names them:
    an I2_S .gguf, or a .safetensors file standing for the repo's safetensors weights; `head_encoding`
    is the output head's: f16, q8_0 or q6_k). Returns a
    DownloadResult. Raises NotRunnable (before any byte), DiskFull, HubError subclasses, Cancelled,
    ConvertError (nothing registered, nothing of the conversion left)."""
    from backend.hub.library import DownloadResult  # (library imports this module when it dispatches)

    t0 = time.monotonic()
    cancel = cancel or threading.Event()
    repo, commit = listing.repo, listing.commit or "main"
    name = model_name or model_name_for(repo, filename)
    enc = ENCODING[target]
    existing = registry.find(name)
    if existing is not None and existing.variant(enc) is not None:
        raise HubError(f"The library already has {name}:{enc.lower()}, so {repo} was not downloaded.",
                       f"Remove it first (`tern models remove {name}:{enc.lower()}`) or choose another --name.",
                       repo, filename)
    if is_safetensors_name(filename):
        st = safetensors_files(listing)  # the name stands for the repo's weights (all shards), listed or not:
        check_filename(filename, repo)  # the catalog names them "model.safetensors" whatever the shards are called
        small, weights = st.small, st.weights
        ins = inspection or check_safetensors_repo(repo, n_ctx=n_ctx, listing=listing, cancel=cancel, env=env)
    else:
        small, weights = [], listing.parts_of(filename)
        ins = inspection or inspect_remote(repo, filename, env.token, n_ctx, listing=listing, cancel=cancel)
    if not ins.verdict.converts:
        raise NotRunnable(f"Tern will not download {repo}/{filename}: {ins.verdict.text}.",
                          "Nothing was downloaded. Pick another file or repo of the model.", repo, filename)
    files = [*small, *weights]
    check_disk(env, repo, files, ins.model_bytes)
    stages = Stages(repo, filename, progress)
    sf.note_downloads(env.cache_dir, repo, files)
    names = [f.name for f in files]
    try:
        fetched, checks = _fetch(env, repo, commit, small, weights, stages, cancel, retries)
        variant = _convert(registry, fetched, bool(small), name, target, listing, stages, cancel, head_encoding)
    except ConvertError:
        if not keep_source:  # a source that does not convert is of no use: Tern's downloads of it go
            sf.remove_sources(env.cache_dir, repo, commit, names)
        raise
    removed = [] if keep_source else sf.remove_sources(env.cache_dir, repo, commit, names)
    if keep_source:
        sf.forget(repo, names)
    variant = _record(registry, variant, repo, filename, checks, keep_source, removed)
    log.info("downloaded and converted %s as %s:%s", repo, variant.model_name, variant.encoding)
    return DownloadResult(variant, ins, fetched, time.monotonic() - t0, converted=True, source_removed=removed)


def _fetch(env: HubEnv, repo: str, commit: str, small: list[HubFile], weights: list[HubFile], stages: Stages,
           cancel: threading.Event, retries: int) -> tuple[list[FetchedFile], dict[str, str]]:
    """The small files first (checked, and for safetensors the tokenizer read), then the weights; returns
    them with how each was verified against the Hub's listing."""
    total = sum(f.size or 0 for f in [*small, *weights])
    fetched = fetch_files(env, repo, commit, small, stages.download(0, total), cancel, retries) if small else []
    checks = {f.filename: "sha256 (Hub listing)" for f in fetched if f.verified}
    for f, hub in zip(fetched, small, strict=True):
        if verify_git_blob(f, hub, env.cache_dir, repo):
            checks[f.filename] = "git blob id (Hub listing)"
    if small:
        _check_tokenizer(fetched, repo)
    done = sum(f.size or 0 for f in small)
    got = fetch_files(env, repo, commit, weights, stages.download(done, total), cancel, retries)
    checks.update({f.filename: "sha256 (Hub listing)" for f in got if f.verified})
    return fetched + got, checks


def _convert(registry: Registry, fetched: list[FetchedFile], folder: bool, name: str, target: str,
             listing: RepoListing, stages: Stages, cancel: threading.Event, head_encoding: str) -> Variant:
    src = _stage_folder(fetched) if folder else Path(fetched[0].path)
    try:
        return convert_and_register(registry, src, name=name, target=target, head_encoding=head_encoding,
                                    repo=listing.repo,
                                    revision=listing.commit, source_sha256={f.filename: f.sha256 for f in fetched},
                                    progress=stages.convert, cancel=cancel, out_dir=output_dir())
    except ConvertCancelled as e:
        raise Cancelled(f"Conversion of {listing.repo} cancelled: nothing of it was kept.",
                        "The downloaded files stay in the Hugging Face cache, so converting again needs no "
                        "download.") from e
    finally:
        if folder:
            shutil.rmtree(src, ignore_errors=True)


def _check_tokenizer(fetched: list[FetchedFile], repo: str) -> None:
    """Before the weights come: the tokenizer files read and understood (missing, unknown pre-tokenizer…)."""
    folder = _stage_folder(fetched)
    try:
        config = read_config(folder, repo)
        vocab_from_folder(folder, int(config.get("vocab_size") or 0), repo)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _record(registry: Registry, v: Variant, repo: str, key: str, checks: dict[str, str], kept: bool,
            removed: list[str]) -> Variant:
    """Provenance the converter cannot know: how each source file was checked, whether the source was
    kept, the catalog's family and licence; and the file name the catalog and the Library know it by."""
    conv = dict(v.info.get("converted", {}))
    conv.update({"source_checks": checks, "source_kept": kept, "source_removed": removed})
    entry = load_catalog().for_file(repo, key)
    with registry.store.transaction():
        registry.update_variant(v.id, source_file=key, info={**v.info, "converted": conv})
        registry.ensure_model(v.model_name, family=entry.family if entry else None,
                              license=entry.license if entry else None,
                              chat=None if entry is None or entry.chat is None else int(entry.chat))
    return registry.variant_by_id(v.id)


def discard_sources(repo: str, env: HubEnv | None = None) -> int:
    """Cancel for good: remove every source file Tern downloaded from `repo` for a conversion (and their
    partial downloads); returns the bytes freed. Files Tern did not download stay."""
    env = env or HubEnv.current(None)
    freed = sf.noted_bytes(env.cache_dir, repo)
    removed: list[str] = []
    snaps = hc.repo_dir(env.cache_dir, repo) / "snapshots"
    commits = [p.name for p in snaps.iterdir() if p.is_dir()] if snaps.is_dir() else []
    for commit in commits:
        removed += sf.remove_sources(env.cache_dir, repo, commit)
    leftover = sf.noted(repo)
    if leftover:  # partial downloads only (no snapshot entry yet)
        for p in [p for p in _pending(repo) if p.filename in leftover]:
            p.forget(delete_partial=True)
        sf.forget(repo)
    log.info("discarded %s's conversion sources: %s", repo, ", ".join(removed) or "partials only")
    return freed


def _pending(repo: str) -> list[Any]:
    return [p for p in hc.pending_downloads() if p.repo == repo]
