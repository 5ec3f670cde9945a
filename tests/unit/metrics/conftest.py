"""Fake sysfs trees (this machine has no powercap, hwmon or battery) and error injection."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

import pytest

from backend.metrics.power.sysfs import read_text


class FakeSys:
    """A sysfs-like tree under a temp dir: write attributes, change them between reads."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, rel: str, value: object) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{value}\n")
        return path

    def rapl_zone(self, zone: str, name: str, energy_uj: int, max_uj: int | None = 262143328850) -> None:
        self.write(f"powercap/{zone}/name", name)
        self.write(f"powercap/{zone}/energy_uj", energy_uj)
        if max_uj is not None:
            self.write(f"powercap/{zone}/max_energy_range_uj", max_uj)

    def energy(self, zone: str, energy_uj: int) -> None:
        self.write(f"powercap/{zone}/energy_uj", energy_uj)

    def battery(self, name: str = "BAT0", status: str = "Discharging", **attrs: int) -> None:
        self.write(f"power_supply/{name}/type", "Battery")
        self.write(f"power_supply/{name}/status", status)
        for k, v in attrs.items():
            self.write(f"power_supply/{name}/{k}", v)


@pytest.fixture()
def fakesys(tmp_path: Path) -> FakeSys:
    return FakeSys(tmp_path / "sys")


def denying(match: Callable[[Path], bool], error: int = errno.EACCES) -> Callable[[Path], str]:
    """A reader that raises PermissionError for matching paths (CI runs as root: chmod cannot deny)."""

    def reader(path: Path) -> str:
        if match(path):
            raise PermissionError(error, "Permission denied", str(path))
        return read_text(path)

    return reader


@pytest.fixture()
def deny() -> Callable[..., Callable[[Path], str]]:
    return denying
