"""A Hub that lies in its listings cannot make Tern write, replace or move anything outside its folders.

The local Hub serves the bytes behind every lie (a file published under an absolute or `../` name,
a commit id or sha256 that is a path, a split part under a bad name), so a client that trusted the
listing would really write there. A real file of the user's sits at the place each lie points to.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from backend.hub import download_model, pending_downloads, repo_listing, search
from backend.hub.cache import repo_dir, state_dir
from backend.hub.download import discard_partial
from backend.hub.errors import FileNotFoundOnHub, UnsafeName
from backend.hub.library import remove_model
from backend.models.registry import Registry
from backend.store import Store
from tests.support import hub_repos
from tests.support.hub_server import HostedRepo, HubServer

GOOD = "tiny-TQ2_0.gguf"
PRECIOUS = b"the user's own notes, not a model\n" * 100


@pytest.fixture()
def registry(tern_home: Path) -> Registry:
    return Registry(Store(tern_home / "t.sqlite3"))


@pytest.fixture()
def victim(tmp_path: Path) -> Path:
    """A file of the user's, next to (not inside) HF_HOME and TERN_HOME."""
    path = tmp_path / "victim" / "precious.gguf"
    path.parent.mkdir()
    path.write_bytes(PRECIOUS)
    return path


def hf_cache() -> Path:
    return Path(os.environ["HF_HOME"]) / "hub"


def outside_tern(tmp_path: Path) -> dict[str, bytes | str]:
    """Every entry under tmp_path outside HF_HOME and TERN_HOME: name → bytes (or link target)."""
    out: dict[str, bytes | str] = {}
    for p in sorted(tmp_path.rglob("*")):
        rel = p.relative_to(tmp_path)
        if rel.parts[0] in ("hf-home", "tern-home"):
            continue
        out[str(rel)] = f"-> {os.readlink(p)}" if p.is_symlink() else p.read_bytes() if p.is_file() else "dir"
    return out


def publish(hub: HubServer, repo: str, names: list[str]) -> None:
    """A temporary repo whose files (all real GGUF bytes) are listed under `names`."""
    tq2, tq1 = hub.file(hub_repos.TERNARY, GOOD).path, hub.file(hub_repos.TERNARY, "tiny-TQ1_0.gguf").path
    files = {n: (tq1 if "TQ1_0" in n else tq2) for n in names}
    hub.add_repo(repo, files, tags=["gguf", "ternary"], temporary=True)


def snapshot_dir(hub: HubServer, repo: str) -> Path:
    return repo_dir(hf_cache(), repo) / "snapshots" / HostedRepo(repo, {}).commit


def assert_untouched(victim: Path, before: dict[str, bytes | str], tmp_path: Path) -> None:
    assert not victim.is_symlink() and victim.read_bytes() == PRECIOUS
    assert outside_tern(tmp_path) == before


def lie_names(hub: HubServer, repo: str, victim: Path) -> list[str]:
    rel = os.path.relpath(victim, snapshot_dir(hub, repo))
    assert rel.startswith("../") and (snapshot_dir(hub, repo) / rel).resolve() == victim.resolve()
    return [str(victim), rel, rel.replace("/", "\\"), "C:\\Users\\you\\precious.gguf", "C:precious.gguf",
            "tiny\x1b[2J\x1b[31m-TQ2_0.gguf", "line\nbreak-TQ2_0.gguf", "sub/./tiny-TQ2_0.gguf",
            "NUL.gguf", "tiny-TQ2_0.gguf\u202ekpm.gguf"]


@pytest.mark.parametrize("which", range(10))
def test_a_file_listed_under_a_hostile_name_is_refused_and_the_rest_of_the_repo_works(
        which: int, local_hub: HubServer, registry: Registry, victim: Path, tmp_path: Path) -> None:
    repo = f"tern-test/hostile-name-{which}"
    lie = lie_names(local_hub, repo, victim)[which]
    publish(local_hub, repo, [lie, GOOD])
    before = outside_tern(tmp_path)

    with pytest.raises(UnsafeName) as e:
        download_model(registry, repo, lie)
    message = str(e.value)
    assert repo in message and "refuses" in message and "tiny-TQ2_0.gguf" in e.value.hint  # the good file named
    assert not any(ch in message for ch in "\x1b\n\u202e")  # the name is shown escaped, never raw
    assert local_hub.requests("cdn") == []  # refused before a byte was fetched
    assert_untouched(victim, before, tmp_path)
    assert registry.models() == []

    listing = repo_listing(repo)
    assert [f.name for f in listing.files] == [GOOD]
    [refused] = listing.refused
    assert refused.name == lie and refused.reason
    result = download_model(registry, repo)  # no file named: the only good GGUF is chosen
    assert result.files[0].filename == GOOD and result.variant.verified
    assert_untouched(victim, before, tmp_path)


@pytest.mark.parametrize("kind", ["relative", "absolute", "short"])
def test_a_commit_id_that_is_a_path_refuses_the_listing(kind: str, local_hub: HubServer, registry: Registry,
                                                        victim: Path, tmp_path: Path) -> None:
    repo = f"tern-test/hostile-commit-{kind}"
    publish(local_hub, repo, ["precious.gguf"])
    snapshots = snapshot_dir(local_hub, repo).parent
    lie = {"relative": os.path.relpath(victim.parent, snapshots), "absolute": str(victim.parent),
           "short": "0123abcd"}[kind]
    local_hub.lie_commit(repo, lie)
    before = outside_tern(tmp_path)
    with pytest.raises(UnsafeName) as e:
        download_model(registry, repo, "precious.gguf")
    assert repo in str(e.value) and "commit" in str(e.value) and "40 hex digits" in str(e.value)
    assert local_hub.requests("cdn") == [] and not repo_dir(hf_cache(), repo).exists()
    assert_untouched(victim, before, tmp_path)


@pytest.mark.parametrize("kind", ["existing", "new", "uppercase-short"])
def test_a_sha256_that_is_a_path_is_refused_and_the_other_files_still_download(
        kind: str, local_hub: HubServer, registry: Registry, victim: Path, tmp_path: Path) -> None:
    repo = f"tern-test/hostile-sha-{kind}"
    publish(local_hub, repo, [GOOD, "tiny-TQ1_0.gguf"])
    blobs = repo_dir(hf_cache(), repo) / "blobs"
    # "existing": the blob's path is the user's file, which a trusting client hashes and then moves to
    # quarantine; "new": the .incomplete file and the lock would be made next to it
    lie = {"existing": os.path.relpath(victim, blobs), "new": os.path.relpath(victim.parent / "new", blobs),
           "uppercase-short": "ABC"}[kind]
    local_hub.lie_sha(repo, GOOD, lie)
    before = outside_tern(tmp_path)
    with pytest.raises(UnsafeName) as e:
        download_model(registry, repo, GOOD)
    assert repo in str(e.value) and GOOD in str(e.value) and "sha256" in str(e.value)
    assert local_hub.requests("cdn") == []
    assert_untouched(victim, before, tmp_path)
    result = download_model(registry, repo, "tiny-TQ1_0.gguf")
    assert result.variant.verified and result.variant.encoding == "TQ1_0"
    assert_untouched(victim, before, tmp_path)


def test_a_split_part_under_a_hostile_name_refuses_the_split_model(local_hub: HubServer, registry: Registry,
                                                                   victim: Path, tmp_path: Path) -> None:
    repo = "tern-test/hostile-split"
    parts = {p: local_hub.file(hub_repos.SPLIT, p).path for p in local_hub.repos[hub_repos.SPLIT].files}
    names = sorted(parts)
    rel = os.path.relpath(victim.parent, snapshot_dir(local_hub, hub_repos.SPLIT).parent.parent.parent)
    lies = {names[0]: parts[names[0]], f"{rel}/{names[1]}": parts[names[1]], names[2]: parts[names[2]]}
    local_hub.add_repo(repo, lies, tags=["gguf"], temporary=True)
    before = outside_tern(tmp_path)
    with pytest.raises(UnsafeName) as e:
        download_model(registry, repo, names[0])
    assert repo in str(e.value) and names[1] in str(e.value) and "'..'" in str(e.value)
    assert local_hub.requests("cdn") == [] and registry.models() == []
    assert_untouched(victim, before, tmp_path)


def test_a_split_model_with_a_missing_part_is_refused_before_any_byte(local_hub: HubServer,
                                                                      registry: Registry) -> None:
    repo = "tern-test/split-missing-part"
    names = sorted(local_hub.repos[hub_repos.SPLIT].files)
    local_hub.add_repo(repo, {n: local_hub.file(hub_repos.SPLIT, n).path for n in (names[0], names[2])},
                       tags=["gguf"], temporary=True)
    with pytest.raises(FileNotFoundOnHub, match=r"3 parts but the Hub lists 2 of them \(part 2 is missing\)"):
        download_model(registry, repo, names[0])
    assert local_hub.requests("cdn") == []


def test_search_leaves_out_hits_whose_repo_id_is_not_a_repo_id(local_hub: HubServer) -> None:
    good = "tern-test/hostile-search-ok"
    publish(local_hub, good, [GOOD, "../escape-TQ1_0.gguf"])
    for bad in ("tern-test/hostile-search-..", "tern-test/hostile-search\x1b[2J", "hostile-search/a/b"):
        local_hub.add_repo(bad, {}, tags=["gguf"], temporary=True)
    hits = search("hostile-search")
    assert [h.repo for h in hits] == [good]
    assert [f.name for f in hits[0].files] == [GOOD]
    assert [r.name for r in hits[0].refused] == ["../escape-TQ1_0.gguf"]


def test_an_edited_download_note_cannot_point_outside_the_cache(local_hub: HubServer, tmp_path: Path) -> None:
    """downloads/*.json is a file anyone can edit: one pointing at the user's file is ignored, never deleted."""
    theirs = tmp_path / "victim" / "diary.incomplete"
    theirs.parent.mkdir()
    theirs.write_bytes(PRECIOUS)
    cache = hf_cache()
    blobs = repo_dir(cache, hub_repos.TERNARY) / "blobs"
    good = {"repo": hub_repos.TERNARY, "filename": GOOD, "commit": "a" * 40, "size": 10, "sha256": "b" * 64,
            "blob": "b" * 64, "cache": str(cache), "started_at": 1.0}
    lies = [{**good, "blob": os.path.relpath(theirs.with_suffix(""), blobs)},
            {**good, "repo": "../../victim"}, {**good, "filename": "/etc/passwd"}, {**good, "cache": "relative"},
            {**good, "size": -5}, [1, 2, 3]]
    state_dir().mkdir(parents=True)
    for i, lie in enumerate(lies):
        (state_dir() / f"lie-{i}.json").write_text(json.dumps(lie))
    (state_dir() / "good.json").write_text(json.dumps(good))
    assert [p.filename for p in pending_downloads()] == [GOOD]
    assert discard_partial(hub_repos.TERNARY) == 0
    assert theirs.read_bytes() == PRECIOUS


def test_removing_a_model_deletes_nothing_outside_its_repo_even_if_the_registry_says_so(
        local_hub: HubServer, registry: Registry, victim: Path, tmp_path: Path) -> None:
    result = download_model(registry, hub_repos.TERNARY, GOOD)
    v = result.variant
    snapshot = Path(v.path).parent
    # a planted link in the snapshot that leads to the user's file, and parts the registry should not have
    os.symlink(victim, snapshot / "planted.gguf")
    rel = os.path.relpath(victim, snapshot)
    registry.update_variant(v.id, info={**v.info, "parts": [GOOD, rel, "planted.gguf"]})
    before = outside_tern(tmp_path)
    remove_model(registry, "tiny")
    assert_untouched(victim, before, tmp_path)
    assert registry.find("tiny") is None


def test_the_catalog_is_checked_like_a_hub_answer() -> None:
    from backend.hub.catalog import parse_catalog

    good = {"id": "ok", "name": "ok-model", "repo": "owner/ok-GGUF", "files": [{"name": "m-TQ2_0.gguf",
                                                                                "encoding": "TQ2_0"}]}
    bad = [{**good, "id": "r", "repo": "../../x"}, {**good, "id": "n", "name": "../x"},
           {**good, "id": "f", "files": [{"name": "/etc/x.gguf", "encoding": "TQ2_0"}]},
           {**good, "id": "m", "files": [{"name": "a.gguf", "encoding": "F16", "model": "a/b"}]},
           {**good, "id": "s", "files": [{"name": "a.gguf", "encoding": "F16", "approx_bytes": -1}]}]
    cat = parse_catalog({"models": [good, *bad]})
    assert [e.id for e in cat.entries] == ["ok"]
    shipped = json.loads((Path(__file__).parents[3] / "assets" / "catalog" / "catalog.json").read_text())
    assert len(parse_catalog(shipped).entries) == len(shipped["models"])  # every shipped entry passes

