"""A real, small file system for tests: a size-limited tmpfs in a private mount namespace.

`run_on_small_disk` starts a Python child inside `unshare --user --map-root-user --mount` (no root
needed where unprivileged user namespaces are on), mounts a tmpfs of the given size on a folder
and runs the code there. The mount exists for that child (and its children) only and vanishes
with it; the network is shared, so the local Hub on 127.0.0.1 answers as usual. Where user
namespaces or tmpfs mounts are not allowed, `small_disk_unavailable()` says why and tests skip.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
UNSHARE = ["unshare", "--user", "--map-root-user", "--mount"]


@functools.cache
def small_disk_unavailable() -> str | None:
    """None when a tmpfs can be mounted in a private namespace here, else the reason it cannot."""
    if sys.platform != "linux" or shutil.which("unshare") is None:
        return "needs Linux with unshare(1)"
    probe = subprocess.run([*UNSHARE, "sh", "-c", "d=$(mktemp -d) && mount -t tmpfs -o size=64k tern-probe \"$d\" "
                            "&& umount \"$d\" && rmdir \"$d\""],
                           capture_output=True, text=True, timeout=30)
    return None if probe.returncode == 0 else f"cannot mount a tmpfs in a user namespace: {probe.stderr.strip()}"


def run_on_small_disk(mount: Path, size: int, code: str, env: dict[str, str], timeout: float = 180,
                      read_only: bool = False) -> dict[str, Any]:
    """Run `code` in a Python child with a `size`-byte tmpfs on `mount` (read-only if asked); returns the
    JSON object it prints last. The child gets `env` on top of ours, SMALL_DISK=<mount> and Tern on PYTHONPATH."""
    mount.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    script = f'mount -t tmpfs -o {options} tern-small-disk "$SMALL_DISK" && exec "{sys.executable}" -c "$1"'
    full_env = {**os.environ, **env, "SMALL_DISK": str(mount),
                "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run([*UNSHARE, "sh", "-c", script, "sh", code], capture_output=True, text=True, env=full_env,
                       timeout=timeout, cwd=ROOT)
    lines = [line for line in r.stdout.splitlines() if line.startswith("{")]
    if r.returncode != 0 or not lines:
        raise AssertionError(f"the child on the small disk failed (exit {r.returncode}):\n{r.stdout}\n{r.stderr}")
    return json.loads(lines[-1])  # type: ignore[no-any-return]
