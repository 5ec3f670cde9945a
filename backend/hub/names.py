"""Names that come from the network, checked where they enter; and the one check before every write.

A Hub listing is data from a server Tern does not control (HF_ENDPOINT may point anywhere). Its
file names, commit id and sha256 values become parts of paths in the Hugging Face cache, so a file
"name" `/home/you/notes.gguf` or `../../x.gguf`, or a "commit" `../..`, would make Tern write,
replace or move files wherever the user can. The rules:

- repo id: `owner/name` (or a bare legacy `name`) with the Hub's characters — ASCII letters, digits,
  `-`, `_`, `.` — at most 96 each, no `--` or `..`, not starting or ending with `-` or `.`, not
  ending in `.git` (huggingface_hub's `validate_repo_id`, restricted to ASCII as the Hub is).
- file name: a relative POSIX path of at most 1024 characters whose parts are at most 255 bytes,
  none empty, `.` or `..`; no backslash, no colon (drive letters, Windows streams), no control or
  bidi-override character, no part ending in a dot or space (Windows drops those) and no Windows
  device name (CON, NUL, COM1, …).
- revision (branch or tag): the file-name rules. Commit: 40 hex digits. sha256: 64 hex digits.
  A git blob id (the name of a non-LFS file's blob): 40 or 64 hex digits.

`inside(root, path)` is the last line before a write: it resolves the folders of `path` (following
symlinks) and refuses it unless it lies in `root` — the HF cache or Tern's data dir — whatever way
its parts arrived (a state file, the registry, a caller's bug).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from backend.hub.errors import UnsafeName, UnsafePath

MAX_NAME = 1024
MAX_PART_BYTES = 255
HEX40 = re.compile(r"[0-9a-f]{40}")
HEX64 = re.compile(r"[0-9a-f]{64}")
_REPO_PART = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?")
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_DEVICES = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", *(f"COM{i}" for i in range(10)),
            *(f"LPT{i}" for i in range(10))}


def _unprintable(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cs") or ch in _BIDI


def printable(text: object, limit: int = 160) -> str:
    """`text` quoted for a message, its control and bidi characters escaped (`\\x1b`, `\\u202e`), cut
    to `limit` characters: a hostile name cannot move the cursor, recolour or reorder a terminal."""
    s = str(text)
    out = "".join(ch.encode("unicode_escape").decode("ascii") if _unprintable(ch) else ch for ch in s)
    if len(out) > limit:
        out = out[: limit - 1] + "…"
    return f"'{out}'"


def filename_problem(name: object) -> str | None:
    """Why `name` is not a safe relative file name, or None when it is."""
    if not isinstance(name, str) or not name:
        return "it is empty" if name == "" else "it is not a text"
    if len(name) > MAX_NAME:
        return f"it is longer than {MAX_NAME} characters"
    if any(_unprintable(ch) for ch in name):
        return "it contains a control character (or a text-direction override)"
    if "\\" in name:
        return "it contains a backslash (a Windows path)"
    if name.startswith("/"):
        return "it is an absolute path"
    if ":" in name:
        return "it contains a colon (a drive letter or a Windows stream)"
    for part in name.split("/"):
        if part in ("", "."):
            return "it has an empty or '.' part"
        if part == "..":
            return "it has a '..' part (it would leave its folder)"
        if len(part.encode("utf-8")) > MAX_PART_BYTES:
            return f"a part is longer than {MAX_PART_BYTES} bytes"
        if part[-1] in ". ":
            return "a part ends in a dot or a space"
        if part.split(".")[0].rstrip(" ").upper() in _DEVICES:
            return "a part is a Windows device name"
    return None


def repo_problem(repo: object) -> str | None:
    """Why `repo` is not a Hub repo id, or None when it is."""
    if not isinstance(repo, str) or not repo:
        return "it is empty" if repo == "" else "it is not a text"
    parts = repo.split("/")
    if len(parts) > 2 or not all(_REPO_PART.fullmatch(p) for p in parts):
        return "a repo id is owner/name, each of letters, digits, '-', '_' and '.' (at most 96)"
    if "--" in repo or ".." in repo:
        return "a repo id has no '--' or '..'"
    if repo.endswith(".git"):
        return "a repo id does not end in '.git'"
    return None


def check_repo(repo: object, what: str = "repo id") -> str:
    problem = repo_problem(repo)
    if problem:
        raise UnsafeName(f"{printable(repo)} is not a Hub {what}: {problem}.",
                         "Write it as owner/name, as on the repo's page.", None)
    return str(repo)


def check_filename(name: object, repo: str | None = None) -> str:
    problem = filename_problem(name)
    if problem:
        where = f" in {repo}" if repo else ""
        raise UnsafeName(f"Tern refuses the file name {printable(name)}{where}: {problem}.",
                         "Nothing was written under that name.", repo, None)
    return str(name)


def check_commit(value: object, repo: str | None = None) -> str:
    if not isinstance(value, str) or not HEX40.fullmatch(value.lower()):
        raise UnsafeName(f"The Hub's answer for {repo or 'a repo'} names the commit {printable(value)}, which is "
                         "not a commit id (40 hex digits).",
                         "Nothing was written. The server at HF_ENDPOINT sent it: try again later, or report it "
                         "to whoever runs that server.", repo)
    return value.lower()


def check_revision(value: object, repo: str | None = None) -> str:
    """A branch, tag or commit id used as a folder name (refs/<revision>)."""
    if isinstance(value, str) and HEX40.fullmatch(value.lower()):
        return value.lower()
    problem = filename_problem(value)
    if problem:
        raise UnsafeName(f"{printable(value)} is not a revision Tern can use for {repo or 'a repo'}: {problem}.",
                         "Use a branch name such as main, or a 40-digit commit id.", repo)
    return str(value)


def sha256_problem(value: object) -> str | None:
    if isinstance(value, str) and HEX64.fullmatch(value.lower()):
        return None
    return "its sha256 is not 64 hex digits"


def blob_problem(value: object) -> str | None:
    if isinstance(value, str) and (HEX40.fullmatch(value.lower()) or HEX64.fullmatch(value.lower())):
        return None
    return "its blob id is not 40 or 64 hex digits"


def check_blob(value: object, repo: str | None = None, filename: str | None = None) -> str:
    """A blob's name in the cache: an LFS sha256 or a git blob id, lower-case hex."""
    problem = blob_problem(value)
    if problem:
        what = f"{repo}/{filename}" if repo and filename else (repo or "a file")
        raise UnsafeName(f"Tern refuses the checksum {printable(value)} of {what}: {problem}.",
                         "Nothing was written under that name.", repo, filename)
    return str(value).lower()


def inside(root: Path, path: Path) -> Path:
    """`path`, after checking that it lies in `root` once its folders are resolved (symlinks
    followed) — and, if `path` itself is a symlink, that it leads into `root` too. Raises UnsafePath."""
    base = root.resolve()
    target = path.parent.resolve() / path.name
    ok = path.name not in ("", ".", "..") and target.is_relative_to(base) and target != base
    if ok and target.is_symlink():
        ok = target.resolve().is_relative_to(base)
    if not ok:
        raise UnsafePath(f"Tern refused to write {printable(path, 400)}: it lies outside {printable(root, 400)}.",
                         "Nothing was written there. This is a bug or a hostile name; please report it.")
    return path
