"""A disk that fills up (or refuses to grow a file) is reported as what it is, with what can be resumed kept.

The full disk is real: a small tmpfs mounted in a private namespace (tests/support/small_disk.py),
filled by another writer while the download or the derivation runs — what happens when another
program takes the space. The too-large file is real too: RLIMIT_FSIZE makes the kernel refuse
to grow a file (EFBIG), the error a FAT32 disk gives past 4 GiB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support import hub_repos
from tests.support.hub_server import HubServer
from tests.support.small_disk import ROOT, run_on_small_disk, small_disk_unavailable

FILE = "tiny-TQ2_0.gguf"
needs_small_disk = pytest.mark.skipif(small_disk_unavailable() is not None, reason=str(small_disk_unavailable()))

# Runs in the child. Fills the small disk from another file once `trigger(progress)` says so.
FILLER = """
import json, os
from pathlib import Path
mount = Path(os.environ["SMALL_DISK"])
filler = mount / "someone-elses-file"

def fill():
    if filler.exists():
        return
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\\0" * 65536)
        except OSError:
            pass
    with open(filler, "ab", buffering=0) as f:  # the last few hundred bytes too
        try:
            while True:
                f.write(b"\\0")
        except OSError:
            pass

def error_fields(e):
    return {"error": type(e).__name__, "code": getattr(e, "code", None), "message": str(e)}
"""

DOWNLOAD = FILLER + """
from backend.hub import download_model, pending_downloads
from backend.models.registry import Registry
from backend.store import Store
registry = Registry(Store(Path(os.environ["TERN_HOME"]) / "t.sqlite3"))
out = {}
try:
    download_model(registry, REPO, FILE, progress=lambda p: p.done_bytes > 150_000 and fill())
except Exception as e:
    out.update(error_fields(e), needed=getattr(e, "needed", None), kept=getattr(e, "kept", None),
               where=getattr(e, "where", None))
out["pending"] = [[p.filename, p.have_bytes] for p in pending_downloads()]
out["models"] = [m.name for m in registry.models()]
filler.unlink()
r = download_model(registry, REPO, FILE)
out.update(resumed_from=r.files[0].resumed_from, verified=r.variant.verified, size=r.variant.file_bytes)
print(json.dumps(out))
"""


@needs_small_disk
def test_a_disk_that_fills_up_during_a_download_says_so_and_keeps_the_partial(local_hub: HubServer,
                                                                              tmp_path: Path) -> None:
    local_hub.throttle_bps = 600_000  # about a second for the file: another program fills the disk meanwhile
    mount = tmp_path / "small-disk"
    code = f"REPO, FILE = {hub_repos.TERNARY!r}, {FILE!r}\n" + DOWNLOAD
    out = run_on_small_disk(mount, 2 * 1024**2, code, {"HF_HOME": str(mount / "hf-home"),
                                                         "HF_ENDPOINT": local_hub.url})
    size = local_hub.file(hub_repos.TERNARY, FILE).size
    assert out["error"] == "DiskFull" and out["code"] == "disk_full", out
    message = out["message"]
    assert message.startswith(f"The disk filled up while downloading {hub_repos.TERNARY}/{FILE}")
    assert "connection" not in message and str(mount) in out["where"]
    kept = out["kept"]
    assert 150_000 <= kept < size and out["needed"] == size - kept
    assert f"{(size - kept) / 1e6:.2f} MB more are needed in {out['where']}" in message
    assert f"the {kept:,} bytes already downloaded are kept" in message
    assert out["pending"] == [[FILE, kept]] and out["models"] == []  # nothing half-written is a model
    # one GET, no retries against a full disk; then the same download resumes from the kept bytes
    gets = [r for r in local_hub.requests("cdn") if r.method == "GET" and r.range_start != 0]  # not header reads
    assert [r.range_start for r in gets] == [None, kept]
    assert out["resumed_from"] == kept and out["verified"] and out["size"] == size


def test_a_file_the_disk_will_not_grow_is_not_reported_as_a_dropped_connection(local_hub: HubServer,
                                                                               tmp_path: Path) -> None:
    limit = 300_000
    code = textwrap.dedent(f"""
        import json, os, resource
        from pathlib import Path
        from backend.hub import download_model, pending_downloads
        from backend.models.registry import Registry
        from backend.store import Store
        registry = Registry(Store(Path(os.environ["TERN_HOME"]) / "t.sqlite3"))
        registry.models()  # the database exists before the limit
        resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, resource.RLIM_INFINITY))
        out = {{}}
        try:
            download_model(registry, {hub_repos.TERNARY!r}, {FILE!r})
        except Exception as e:
            out.update(error=type(e).__name__, code=getattr(e, "code", None), message=str(e))
        out["pending"] = [[p.filename, p.have_bytes] for p in pending_downloads()]
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        r = download_model(registry, {hub_repos.TERNARY!r}, {FILE!r})
        out.update(resumed_from=r.files[0].resumed_from, verified=r.variant.verified)
        print(json.dumps(out))
    """)
    env = {**os.environ, "HF_ENDPOINT": local_hub.url, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["error"] == "WriteFailed" and out["code"] == "write_failed", out
    assert "file too large" in out["message"] and f"past {limit:,} bytes" in out["message"]
    assert "connection" not in out["message"] and f"The {limit:,} bytes downloaded are kept" in out["message"]
    assert out["pending"] == [[FILE, limit]]
    gets = [r for r in local_hub.requests("cdn") if r.method == "GET" and r.range_start != 0]  # not header reads
    assert [r.range_start for r in gets] == [None, limit]  # no retries; then resumed
    assert out["resumed_from"] == limit and out["verified"]


# The worker that runs llama.cpp's quantizer starts once the other program has filled the disk: on a fast
# machine the tiny model's conversion is over before the first progress poll (CI saw it finish first).
DERIVE = FILLER + """
from backend.models import derive
from backend.models.derive import derive_variant
real_worker = derive.worker_command
WAIT_FOR_FILLER = 'while [ ! -e "$SMALL_DISK/someone-elses-file" ]; do sleep 0.05; done; sleep 0.5; exec "$@"'
derive.worker_command = lambda: ["sh", "-c", WAIT_FOR_FILLER, "sh", *real_worker()]
from backend.models.registry import Registry
from backend.store import Store
registry = Registry(Store(Path(os.environ["TERN_HOME"]) / "t.sqlite3"))
registry.add_variant("tiny", SOURCE, "TQ2_0", "synthetic")
out = {}
try:
    derive_variant(registry, "tiny", "f16", progress=lambda p: p.phase == "convert" and fill(),
                   out_dir=mount / "derived", threads=1)
except Exception as e:
    out.update(error_fields(e))
out["left"] = sorted(p.name for p in (mount / "derived").iterdir())
out["variants"] = [v.encoding for v in registry.find("tiny").variants]
print(json.dumps(out))
"""


@needs_small_disk
def test_a_disk_that_fills_up_during_f16_derivation_says_so(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    mount = tmp_path / "small-disk"
    code = f"SOURCE = {str(tiny_models['tq2_0'])!r}\n" + DERIVE
    out = run_on_small_disk(mount, 16 * 1024**2, code, {})
    assert out["error"] == "DeriveError" and out["code"] == "disk_full", out
    message = out["message"]
    assert message.startswith("The disk filled up while deriving tiny:F16"), message
    assert str(mount / "derived") in message and "MB free" in message and "needs about" in message
    assert "could not convert" not in message and "exit status" not in message
    assert out["left"] == [] and out["variants"] == ["TQ2_0"]  # nothing half-written kept or registered


@needs_small_disk
def test_a_read_only_cache_says_it_cannot_write_instead_of_a_traceback(local_hub: HubServer, tmp_path: Path) -> None:
    mount = tmp_path / "read-only"
    code = textwrap.dedent(f"""
        import json, os
        from pathlib import Path
        from backend.hub import download_model
        from backend.models.registry import Registry
        from backend.store import Store
        registry = Registry(Store(Path(os.environ["TERN_HOME"]) / "t.sqlite3"))
        out = {{}}
        try:
            download_model(registry, {hub_repos.TERNARY!r}, {FILE!r})
        except Exception as e:
            out.update(error=type(e).__name__, code=getattr(e, "code", None), message=str(e))
        out["models"] = [m.name for m in registry.models()]
        print(json.dumps(out))
    """)
    out = run_on_small_disk(mount, 1024**2, code, {"HF_HOME": str(mount / "hf-home"), "HF_ENDPOINT": local_hub.url},
                            read_only=True)
    assert out["error"] == "WriteFailed" and out["code"] == "write_failed", out
    assert "Read-only file system" in out["message"] and str(mount) in out["message"]
    assert f"{hub_repos.TERNARY}/{FILE}" in out["message"] and out["models"] == []
    assert not [r for r in local_hub.requests("cdn") if r.range_start != 0]  # no download was started
