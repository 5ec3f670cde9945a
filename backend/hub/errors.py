"""Hub errors a person can act on: each names the repo (and file) and says what to do next.

`from_exception` turns what huggingface_hub, httpx2 or urllib raised into one of these, so no
caller ever shows a raw HTTP traceback. Every class has a stable `code` for the GUI and `--json`.
"""

from __future__ import annotations

import socket
import urllib.error

import httpx2
from huggingface_hub import errors as hf_errors

from backend.errors import TernError


class HubError(TernError):
    """Base for every Hub error; `repo` and `filename` say what it was about."""

    code = "hub_error"

    def __init__(self, message: str, hint: str = "", repo: str | None = None, filename: str | None = None) -> None:
        super().__init__(message, hint)
        self.repo = repo
        self.filename = filename


class RepoNotFound(HubError):
    code = "repo_not_found"


class FileNotFoundOnHub(HubError):
    code = "file_not_found"


class AuthRequired(HubError):
    """401/403: a gated or private repo; the GUI asks for a token and retries."""

    code = "auth_required"


class RateLimited(HubError):
    code = "rate_limited"

    def __init__(self, message: str, hint: str = "", repo: str | None = None, filename: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, hint, repo, filename)
        self.retry_after = retry_after


class HubOffline(HubError):
    """Offline mode is on, or the Hub cannot be reached; local models keep working."""

    code = "offline"


class HubServerError(HubError):
    code = "hub_server_error"


def amount(n: int) -> str:
    """Bytes for a disk-space message: GB with two decimals, MB below a GB (so small files never read 0.00 GB)."""
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.2f} MB"


class DiskFull(HubError):
    """Not enough space: refused before the first byte (`kept` None), or the disk filled up during the
    download (`kept` = the bytes on disk, kept so the same download resumes from there)."""

    code = "disk_full"

    def __init__(self, needed: int, free: int, where: str, repo: str | None = None, filename: str | None = None,
                 kept: int | None = None) -> None:
        what = f"{repo}/{filename}" if repo and filename else (repo or "this download")
        if kept is None:
            message = (f"Not enough disk space for {what}: it needs {amount(needed)} but {where} has "
                       f"{amount(free)} free.")
            hint = "Free some space (or point HF_HOME at a bigger disk) and try again; nothing was written."
        else:
            message = (f"The disk filled up while downloading {what}: {amount(needed)} more are needed in "
                       f"{where}, which has {amount(free)} free.")
            hint = (f"Free at least {amount(needed)} there (or point HF_HOME at a bigger disk) and download again: "
                    f"the {kept:,} bytes already downloaded are kept and the download resumes from there.")
        super().__init__(message, hint, repo, filename)
        self.needed, self.free, self.where, self.kept = needed, free, where, kept


class WriteFailed(HubError):
    """The disk refused a write for another reason than space: a file too large for its file system
    (FAT32), a read-only or unwritable folder, an I/O error. What was downloaded is kept."""

    code = "write_failed"


class ChecksumMismatch(HubError):
    """The bytes do not hash to the Hub's sha256: the file is quarantined, never loaded."""

    code = "sha_mismatch"

    def __init__(self, repo: str, filename: str, expected: str, actual: str, quarantine_path: str) -> None:
        super().__init__(
            f"{repo}/{filename} failed verification: its sha256 is {actual[:12]}… but the Hub says "
            f"{expected[:12]}…. The file was quarantined ({quarantine_path}) and will not be loaded.",
            "Download it again (`tern models download` re-fetches it from scratch).",
            repo, filename,
        )
        self.expected, self.actual, self.quarantine_path = expected, actual, quarantine_path


class DownloadInterrupted(HubError):
    """The connection dropped and retries ran out; the partial file is kept for resuming."""

    code = "interrupted"


class UnsafeName(HubError):
    """A name from the Hub (file name, commit, sha256, repo id) that would not be safe as a path."""

    code = "unsafe_name"


class UnsafePath(HubError):
    """A path Tern was about to write lies outside its own folder (the last check before a write)."""

    code = "unsafe_path"


class Cancelled(TernError):
    """The caller set the cancel event. For downloads the partial file is kept (pause)."""

    code = "cancelled"


class NotRunnable(HubError):
    """The file's header says llama.cpp cannot run it (I2_S, unknown architecture, not GGUF…)."""

    code = "not_runnable"


def _status_of(exc: BaseException) -> int | None:
    if isinstance(exc, hf_errors.HfHubHTTPError) and exc.response is not None:
        return exc.response.status_code
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code
    return None


def _retry_after(exc: BaseException) -> float | None:
    headers = None
    if isinstance(exc, hf_errors.HfHubHTTPError) and exc.response is not None:
        headers = exc.response.headers
    elif isinstance(exc, urllib.error.HTTPError):
        headers = exc.headers
    try:
        return float(headers.get("Retry-After")) if headers and headers.get("Retry-After") else None
    except ValueError:
        return None


def from_status(status: int, repo: str, filename: str | None = None, has_token: bool = False,
                retry_after: float | None = None, gated: bool = False) -> HubError:
    what = f"{repo}/{filename}" if filename else repo
    if status in (401, 403) or gated:
        if has_token:
            return AuthRequired(
                f"{what} is gated or private and the token given has no access to it (HTTP {status}).",
                f"Open the repo page, accept its terms with the account that owns the token, or use a token "
                f"with read access to {repo}.", repo, filename)
        return AuthRequired(
            f"{what} is gated or private: the Hub wants a Hugging Face access token (HTTP {status}).",
            "Add a read token (Settings → Hugging Face token, or the HF_TOKEN environment variable) and "
            "accept the repo's terms on its page, then try again.", repo, filename)
    if status == 404:
        if filename:
            return FileNotFoundOnHub(f"The Hub has no file {filename!r} in {repo} (HTTP 404).",
                                     "Check the file name: `tern models inspect` lists the repo's GGUF files.",
                                     repo, filename)
        return RepoNotFound(f"The Hub has no model repo {repo!r} (HTTP 404).",
                            "Check the spelling (owner/name); a private repo also needs a token.", repo)
    if status == 429:
        wait = f" Wait {retry_after:.0f} s" if retry_after else " Wait a minute"
        return RateLimited(f"The Hub is rate-limiting requests for {what} (HTTP 429).",
                           f"{wait} and try again; signing in with a token raises the limit.".strip(),
                           repo, filename, retry_after)
    if status >= 500:
        return HubServerError(f"The Hub failed to answer for {what} (HTTP {status}).",
                              "This is on the Hub's side; try again in a few minutes.", repo, filename)
    return HubError(f"The Hub refused the request for {what} (HTTP {status}).", "", repo, filename)


def from_exception(exc: BaseException, repo: str, filename: str | None = None,
                   has_token: bool = False, endpoint: str = "") -> TernError:
    """The user-facing error for `exc`, raised while talking to the Hub about `repo`/`filename`."""
    if isinstance(exc, TernError):
        return exc
    if isinstance(exc, hf_errors.OfflineModeIsEnabled):
        return offline_error(f"HF_HUB_OFFLINE is set, so {repo} cannot be reached.")
    if isinstance(exc, hf_errors.GatedRepoError):
        return from_status(_status_of(exc) or 401, repo, filename, has_token, gated=True)
    if isinstance(exc, hf_errors.RemoteEntryNotFoundError):
        return from_status(404, repo, filename or "?", has_token)
    if isinstance(exc, hf_errors.RepositoryNotFoundError):
        status = _status_of(exc) or 404
        if status == 401 and not has_token:  # the Hub answers 401 for private repos and missing ones alike
            return AuthRequired(
                f"The Hub has no public repo {repo!r}: it does not exist, or it is private (HTTP 401).",
                "Check the spelling; for a private repo add a Hugging Face token and try again.", repo, filename)
        return from_status(404, repo, None, has_token)
    status = _status_of(exc)
    if status is not None:
        return from_status(status, repo, filename, has_token, _retry_after(exc))
    if isinstance(exc, (httpx2.TransportError, urllib.error.URLError, socket.timeout, ConnectionError,
                        TimeoutError)):
        reason = getattr(exc, "reason", None) or exc
        return offline_error(f"The Hub ({endpoint or 'HF_ENDPOINT'}) cannot be reached for {repo}: {reason}.")
    return HubError(f"Talking to the Hub about {repo} failed: {exc}.", "", repo, filename)


def offline_error(message: str) -> HubOffline:
    return HubOffline(message, "Local models keep working. Check the network (or unset HF_HUB_OFFLINE) and "
                               "try again.")
