"""Run a command where a folder is really read-only or a disk is really full.

Tests run as root on some machines, and root writes through `chmod`; so the folder is made read-only the
way a read-only disk is — a read-only bind mount — and a full disk is a small tmpfs filled to the last byte.
Both happen in a private mount namespace (`unshare --mount`, with `--map-root-user` when not root), so
nothing outside the child process sees them. Where namespaces are not allowed, the tests that need them skip
and say why.
"""

from __future__ import annotations

import functools
import os
import shlex
import subprocess
from pathlib import Path

import pytest


@functools.cache
def _unshare() -> list[str] | None:
    for cmd in (["unshare", "--mount"], ["unshare", "--mount", "--map-root-user"]):
        if cmd[-1] == "--mount" and os.geteuid() != 0:
            continue
        try:
            ok = subprocess.run([*cmd, "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True,
                                timeout=20).returncode == 0
        except (OSError, subprocess.SubprocessError):
            ok = False
        if ok:
            return cmd
    return None


def need_namespaces() -> None:
    if _unshare() is None:
        pytest.skip("needs a private mount namespace (unshare --mount) to make a read-only folder or a full disk")


def run_confined(cmd: list[str], *, read_only: tuple[Path, ...] = (), full_disk: Path | None = None,
                 disk_bytes: int = 4 << 20, fill: bool = True, prepare: list[str] | None = None,
                 env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `cmd` with `read_only` folders mounted read-only and `full_disk` a tmpfs of `disk_bytes`, filled
    to the last byte unless `fill` is False (the command fills it itself).

    `prepare` (shell lines) runs after the tmpfs is mounted and before it is filled: to put a database there
    first. The tmpfs disappears with the child.
    """
    unshare = _unshare()
    assert unshare is not None, "call need_namespaces() first"
    script = ["set -e"]
    if full_disk is not None:
        full_disk.mkdir(parents=True, exist_ok=True)
        script.append(f"mount -t tmpfs -o size={disk_bytes} tmpfs {shlex.quote(str(full_disk))}")
        script += prepare or []
    if full_disk is not None and fill:
        filler = shlex.quote(str(full_disk / "filler"))
        script.append(f"dd if=/dev/zero of={filler} bs=4096 2>/dev/null || true")
        script.append(f"dd if=/dev/zero of={filler}-tail bs=1 2>/dev/null || true")
    for folder in read_only:
        q = shlex.quote(str(folder))
        script += [f"mount --bind {q} {q}", f"mount -o remount,ro,bind {q}"]
    script.append("exec " + shlex.join(cmd))
    return subprocess.run([*unshare, "sh", "-c", "\n".join(script)], capture_output=True, text=True,
                          timeout=timeout, env=env)
