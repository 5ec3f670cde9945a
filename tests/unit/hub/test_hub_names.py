"""The rules for names from the network, and the last check before a write (`backend.hub.names`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backend.hub.errors import UnsafeName, UnsafePath
from backend.hub.names import (
    check_blob,
    check_commit,
    check_repo,
    check_revision,
    filename_problem,
    inside,
    printable,
    repo_problem,
)

GOOD_NAMES = ["model-TQ2_0.gguf", "q/sub/model-00001-of-00002.gguf", "modèle ünïcode.gguf", "a..b.gguf",
              ".gitattributes", "x" * 255 + "/y.gguf"]
BAD_NAMES = {
    "/home/you/precious.gguf": "absolute", "../x.gguf": "'..'", "a/../../x.gguf": "'..'", "a/..": "'..'",
    "a\\..\\x.gguf": "backslash", "C:\\x.gguf": "backslash", "C:x.gguf": "colon", "x.gguf:stream": "colon",
    "a\x00b.gguf": "control", "a\nb.gguf": "control", "a\x1b[2Jb.gguf": "control", "a\x7f.gguf": "control",
    "a\u202egguf.exe": "control", "a\x85.gguf": "control", "": "empty", "a//b.gguf": "empty",
    "./a.gguf": "empty or '.'", "a/": "empty", "x" * 256 + ".gguf": "255 bytes", "é" * 128 + ".gguf": "255 bytes",
    "y/" * 600 + "x": "1024", "model.": "dot or a space", "dir /x.gguf": "dot or a space",
    "CON": "device", "nul.gguf": "device", "sub/COM1.txt": "device", "lpt9": "device",
}


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_ordinary_hub_file_names_pass(name: str) -> None:
    assert filename_problem(name) is None


@pytest.mark.parametrize(("name", "why"), BAD_NAMES.items())
def test_file_names_that_would_be_unsafe_paths_are_refused_with_the_reason(name: str, why: str) -> None:
    problem = filename_problem(name)
    assert problem is not None and why in problem


@pytest.mark.parametrize("value", [None, 5, b"model.gguf", ["a"]])
def test_a_name_that_is_not_text_is_refused(value: object) -> None:
    assert filename_problem(value) == "it is not a text" and repo_problem(value) == "it is not a text"


@pytest.mark.parametrize("repo", ["owner/name", "gpt2", "Owner_1/Name-2.5_GGUF", "a/b", "o/" + "n" * 96])
def test_hub_repo_ids_pass(repo: str) -> None:
    assert check_repo(repo) == repo


@pytest.mark.parametrize("repo", ["../x", "o/..", "o/a..b", "o/a--b", "a/b/c", "/a", "a/", "-o/n", "o/n.", "o/n.git",
                                  "o/n m", "o/n\x1b", "ö/n", "o/" + "n" * 97, ""])
def test_repo_ids_outside_the_hubs_rules_are_refused(repo: str) -> None:
    with pytest.raises(UnsafeName, match="not a Hub repo id"):
        check_repo(repo)


def test_commits_shas_and_revisions() -> None:
    assert check_commit("A" * 40) == "a" * 40
    assert check_blob("f" * 64) == "f" * 64 and check_blob("0" * 40) == "0" * 40
    assert check_revision("main") == "main" and check_revision("refs/pr/1") == "refs/pr/1"
    for bad in ("../..", "a" * 39, "a" * 41, "g" * 40, "a" * 40 + "\n", None, 1234):
        with pytest.raises(UnsafeName, match="40 hex digits"):
            check_commit(bad, "o/n")
    for bad in ("../x", "a" * 63, "z" * 64, "/" + "a" * 63):
        with pytest.raises(UnsafeName, match="checksum"):
            check_blob(bad, "o/n", "f.gguf")
    for bad in ("../main", "/main", "ma\x00in"):
        with pytest.raises(UnsafeName):
            check_revision(bad, "o/n")


def test_printable_escapes_what_would_drive_a_terminal() -> None:
    shown = printable("a\x1b[2J\nb\u202ec" + "z" * 500)
    assert "\x1b" not in shown and "\n" not in shown and "\u202e" not in shown
    assert shown.startswith("'a\\x1b[2J\\nb\\u202ec") and len(shown) <= 162


def test_inside_follows_symlinked_folders_and_links(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "cache", tmp_path / "elsewhere"
    (root / "repo").mkdir(parents=True)
    elsewhere.mkdir()
    assert inside(root, root / "repo" / "blobs" / "x") == root / "repo" / "blobs" / "x"  # not there yet: fine
    os.symlink(elsewhere, root / "repo" / "snapshots")  # a folder that leads out
    with pytest.raises(UnsafePath, match="outside"):
        inside(root, root / "repo" / "snapshots" / "file")
    os.symlink(elsewhere / "theirs", root / "repo" / "link")  # an entry that leads out
    with pytest.raises(UnsafePath):
        inside(root, root / "repo" / "link")
    for bad in (root / ".." / "x", root, Path("/etc/passwd"), root / "repo" / ".."):
        with pytest.raises(UnsafePath):
            inside(root, bad)
    # a cache that is itself a link to another disk is still the cache
    os.symlink(root, tmp_path / "cache-link")
    assert inside(tmp_path / "cache-link", tmp_path / "cache-link" / "repo" / "x")
