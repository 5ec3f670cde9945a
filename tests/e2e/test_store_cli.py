"""The CLI with a damaged, read-only or full store: every command starts, says once what happened, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from backend.paths import paths
from tests.support import damaged_store
from tests.support.confined import need_namespaces, run_confined


def tern(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=120)


def said(r: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in r.stderr, r.stderr
    return [line for line in r.stderr.splitlines() if line.startswith("tern:")]


def test_damaged_store_is_moved_aside_and_said_once(tern_home: Path) -> None:
    db = paths().ensure().database
    damaged_store.filled_store(db)
    damaged_store.overwrite_page(db, damaged_store.leaf_pages(db, "messages")[3])
    r = tern("models", "list")
    assert r.returncode == 0
    [line] = said(r)
    assert "database was damaged" in line and "moved aside, not deleted" in line
    old = next(db.parent.glob("tern.sqlite3.corrupt-*[0-9]"))
    assert str(old) in line and "1 model" in line
    assert "demo" in r.stdout  # the salvaged model is listed
    again = tern("models", "list")
    assert again.returncode == 0 and said(again) == []


def test_generate_on_a_file_does_not_need_the_store(tern_home: Path, tiny: Path) -> None:
    db = paths().ensure().database
    damaged_store.garbage(db)
    before = db.read_bytes()
    r = tern("generate", str(tiny), "-p", "Hi", "-n", "3", "--threads", "1")
    assert r.returncode == 0, r.stderr
    assert said(r) == [] and db.read_bytes() == before  # not even opened


def test_read_only_data_folder(tern_home: Path, tiny: Path) -> None:
    need_namespaces()
    p = paths().ensure()
    damaged_store.filled_store(p.database)
    env = dict(os.environ)
    listed = run_confined([sys.executable, "-m", "app", "models", "list"], read_only=(tern_home,), env=env)
    assert listed.returncode == 0 and "demo" in listed.stdout
    [line] = said(listed)
    assert line.startswith("tern: Saving is off: the disk holding the database is mounted read-only")
    generated = run_confined([sys.executable, "-m", "app", "generate", str(tiny), "-p", "Hi", "-n", "3",
                              "--threads", "1"], read_only=(tern_home,), env=env)
    assert generated.returncode == 0, generated.stderr
    assert said(generated) == [] and generated.stdout.strip()
    imported = run_confined([sys.executable, "-m", "app", "models", "import", str(tiny)], read_only=(tern_home,),
                            env=env)
    assert imported.returncode == 1
    assert said(imported)[-1].startswith("tern: Cannot import a model: saving is off")


def test_full_disk(tern_home: Path, tiny: Path) -> None:
    need_namespaces()
    env = dict(os.environ)
    listed = run_confined([sys.executable, "-m", "app", "models", "list"], full_disk=tern_home,
                          disk_bytes=512 << 10, env=env)
    assert listed.returncode == 0, listed.stderr
    assert any("Saving is off: the disk is full" in line for line in said(listed))
    generated = run_confined([sys.executable, "-m", "app", "generate", str(tiny), "-p", "Hi", "-n", "3",
                              "--threads", "1"], full_disk=tern_home, disk_bytes=512 << 10, env=env)
    assert generated.returncode == 0, generated.stderr
    said(generated)
