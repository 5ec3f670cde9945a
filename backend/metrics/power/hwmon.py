"""Linux hwmon: CPU energy counters (amd_energy, zenergy…) and the amdgpu PPT power of a Ryzen APU.

hwmon units (Documentation/hwmon/sysfs-interface): `energyN_input` in microjoules,
`powerN_input` / `powerN_average` in microwatts. Energy drivers expose one counter per socket
(labelled "Esocket0") and one per core ("Ecore000"); per-core counters are parts of the socket
and are never added to it. amdgpu's PPT ("package power tracking") is the whole APU package's
power on a Ryzen laptop chip and is world-readable — on a discrete Radeon card it is the card's
power, which says nothing about the CPU, so it is used only when the CPU is an APU.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from backend.metrics.power.base import PowerSource, SourceInfo, SourceUnavailable
from backend.metrics.power.sysfs import Reader, is_denied, optional_text, read_int, read_text

ROOT = Path("/sys/class/hwmon")
_ENERGY = re.compile(r"^energy(\d+)_input$")


def _devices(root: Path) -> list[Path]:
    try:
        return [root / e for e in sorted(os.listdir(root))]
    except FileNotFoundError:
        raise SourceUnavailable("this system has no hwmon sensors") from None
    except OSError as e:
        raise SourceUnavailable(f"cannot list {root}: {e.strerror or e}") from None


def _socket_counters(dev: Path, reader: Reader) -> list[Path]:
    """The energy counters of one device worth summing: socket/package ones, or a lone unlabelled one."""
    try:
        names = sorted(os.listdir(dev))
    except OSError:
        return []
    inputs = [n for n in names if _ENERGY.match(n)]
    labelled: list[Path] = []
    for n in inputs:
        label = (optional_text(reader, dev / n.replace("_input", "_label")) or "").lower()
        if "socket" in label or "package" in label or label.startswith("pkg"):
            labelled.append(dev / n)
    if labelled:
        return labelled
    if len(inputs) == 1 and optional_text(reader, dev / inputs[0].replace("_input", "_label")) is None:
        return [dev / inputs[0]]
    return []


class HwmonEnergySource(PowerSource):
    """Sum of the socket energy counters of hwmon drivers (µJ), as a counter in joules."""

    def __init__(self, root: Path = ROOT, reader: Reader = read_text) -> None:
        self.root, self.reader = Path(root), reader
        self.counters: list[Path] = []
        drivers: list[str] = []
        for dev in _devices(self.root):
            found = _socket_counters(dev, reader)
            if found:
                self.counters += found
                drivers.append(optional_text(reader, dev / "name") or dev.name)
        if not self.counters:
            raise SourceUnavailable("no hwmon driver here exposes a CPU socket energy counter")
        self.last = {p: self._raw(p) for p in self.counters}
        self.total_j = 0.0
        self.info = SourceInfo(
            key="hwmon",
            kind="counter",
            measured=True,
            covers="CPU package",
            method=f"hwmon {', '.join(drivers)}",
            resolution_s=1.0,
            explanation=(
                f"The CPU's socket energy counters as the hwmon driver(s) {', '.join(drivers)} report them "
                "(the same RAPL registers, exposed by a different driver). They cover the processor package, "
                "not the rest of the computer. Files: " + ", ".join(str(p) for p in self.counters) + " (µJ)."
            ),
            details=tuple(str(p) for p in self.counters),
        )

    def _raw(self, path: Path) -> int:
        try:
            return read_int(self.reader, path)
        except OSError as e:
            if is_denied(e):
                raise SourceUnavailable(
                    f"{path} is readable only by root",
                    hint="An administrator can run `sudo chmod o+r " + str(path) + "`.",
                ) from None
            raise SourceUnavailable(f"cannot read {path}: {e.strerror or e}") from None
        except ValueError as e:
            raise SourceUnavailable(str(e)) from None

    def read(self) -> float:
        for path in self.counters:
            raw = self._raw(path)
            delta = raw - self.last[path]
            self.last[path] = raw
            if delta > 0:  # hwmon energy counters are 64-bit; a drop means a driver reload: skip that step
                self.total_j += delta / 1e6
        return self.total_j


def find_amdgpu_power(root: Path, reader: Reader = read_text) -> Path:
    for dev in _devices(root):
        if optional_text(reader, dev / "name") != "amdgpu":
            continue
        for attr in ("power1_average", "power1_input"):
            if (dev / attr).exists():
                return dev / attr
    raise SourceUnavailable("no amdgpu power sensor here")


class AmdgpuPptSource(PowerSource):
    """The APU package power amdgpu reports (µW), as instantaneous watts."""

    def __init__(self, root: Path = ROOT, reader: Reader = read_text, cpu_name: str = "") -> None:
        self.reader = reader
        self.path = find_amdgpu_power(Path(root), reader)
        if "radeon" not in cpu_name.lower():
            raise SourceUnavailable(
                "the amdgpu power sensor here belongs to a discrete graphics card, not to the CPU "
                f"({cpu_name or 'unknown CPU'} has no integrated Radeon graphics)"
            )
        self.info = SourceInfo(
            key="amdgpu",
            kind="instant",
            measured=True,
            covers="APU package",
            method="amdgpu PPT",
            resolution_s=1.0,
            explanation=(
                "The Ryzen APU's package power tracking (PPT) figure from the graphics driver "
                f"({self.path}, µW). "
                "It covers the whole chip — CPU cores, graphics and memory controller — not the "
                "screen or the "
                "rest of the laptop. The firmware averages it over roughly a second."
            ),
            details=(str(self.path),),
        )

    def read(self) -> float:
        try:
            uw = read_int(self.reader, self.path)
        except OSError as e:
            if is_denied(e):
                raise SourceUnavailable(f"{self.path} is not readable") from None
            raise SourceUnavailable(f"cannot read {self.path}: {e.strerror or e}") from None
        except ValueError as e:
            raise SourceUnavailable(str(e)) from None
        return uw / 1e6
