"""Linux RAPL through powercap: CPU package (or platform, `psys`) energy counters.

Zones live in /sys/class/powercap as `intel-rapl:N` (top level, also on AMD Zen) with subzones
`intel-rapl:N:M`, plus `intel-rapl-mmio:N` duplicates of the package zones that must not be
counted twice. We use `psys` (the whole SoC/platform) when there is one, else the sum of every
`package-*`. Each `energy_uj` counter wraps at its `max_energy_range_uj`: we unwrap per zone and
keep a running total in joules that only goes up. Zones that appear later start counting from
their first reading; zones that vanish stop adding — the total never jumps.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from backend.metrics.power.base import PowerSource, SourceInfo, SourceUnavailable
from backend.metrics.power.sysfs import Reader, is_denied, optional_text, read_int, read_text

log = logging.getLogger("tern.metrics.power")
ROOT = Path("/sys/class/powercap")

PERMISSION_HINT = (
    "RAPL is present but its energy counters are readable only by root (Linux 5.10 and later, "
    "after the Platypus side-channel fix). An administrator can allow reading them:\n"
    "  until the next reboot:  sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj\n"
    "  permanently, a udev rule in /etc/udev/rules.d/99-rapl-read.rules:\n"
    '    ACTION=="add", SUBSYSTEM=="powercap", KERNEL=="intel-rapl:*", '
    'RUN+="/bin/chmod o+r /sys%p/energy_uj"\n'
    "Then restart Tern. Reading energy totals only (not timing single instructions) is what Tern does."
)


@dataclass
class _Zone:
    path: Path
    name: str
    max_range_uj: int
    last_uj: int


def find_zones(root: Path, reader: Reader = read_text) -> tuple[str, list[tuple[Path, str]]]:
    """The zones to sum: ("psys", [psys]) or ("package", [package-*…]); mmio duplicates skipped."""
    try:
        entries = sorted(os.listdir(root))
    except FileNotFoundError:
        raise SourceUnavailable("this system has no powercap interface (no RAPL driver loaded)") from None
    except OSError as e:
        raise SourceUnavailable(f"cannot list {root}: {e.strerror or e}") from None
    top: list[tuple[Path, str, bool]] = []
    for entry in entries:
        prefix, _, index = entry.partition(":")
        if prefix not in ("intel-rapl", "intel-rapl-mmio") or not index or ":" in index:
            continue  # subzones (core, uncore, dram) are parts of a package: never add them to it
        name = optional_text(reader, root / entry / "name")
        if name:
            top.append((root / entry, name, prefix == "intel-rapl-mmio"))
    msr_names = {name for _, name, mmio in top if not mmio}
    zones = [(p, n) for p, n, mmio in top if not (mmio and n in msr_names)]
    psys = [(p, n) for p, n in zones if n.startswith("psys")]
    if psys:
        return "psys", psys
    packages = [(p, n) for p, n in zones if n.startswith("package")]
    if packages:
        return "package", packages
    raise SourceUnavailable("powercap has no RAPL package or psys zone here")


class RaplSource(PowerSource):
    def __init__(self, root: Path = ROOT, reader: Reader = read_text) -> None:
        self.root = Path(root)
        self.reader = reader
        self.zones: dict[Path, _Zone] = {}
        self.total_j = 0.0
        self.domain, found = find_zones(self.root, reader)
        for path, name in found:
            self.zones[path] = self._open(path, name)
        covers = "SoC / platform (psys)" if self.domain == "psys" else "CPU package"
        names = ", ".join(z.name for z in self.zones.values())
        self.info = SourceInfo(
            key="rapl",
            kind="counter",
            measured=True,
            covers=covers,
            method="RAPL",
            resolution_s=0.01,
            explanation=(
                f"The processor's own energy counters (RAPL, via Linux powercap), summed over: {names}. "
                + (
                    "psys counts the whole SoC/platform as the processor sees it. "
                    if self.domain == "psys"
                    else "A package counter covers the cores, caches and on-die graphics; it does not "
                    "count the screen, RAM chips (unless a DRAM zone is added), disk or the rest of the "
                    "laptop. "
                )
                + "RAPL is a model the chip calibrates against its own sensors, accurate to a few per cent "
                "on recent Intel and AMD CPUs. Check it with `cat "
                "/sys/class/powercap/intel-rapl:0/energy_uj` "
                "(microjoules) twice, a second apart."
            ),
            details=tuple(str(p) for p in self.zones),
        )

    def _energy_uj(self, path: Path, denied: str) -> int:
        """A zone's counter; FileNotFoundError passes through (the zone went away)."""
        try:
            return read_int(self.reader, path / "energy_uj")
        except FileNotFoundError:
            raise
        except OSError as e:
            if is_denied(e):
                raise SourceUnavailable(denied, hint=PERMISSION_HINT) from None
            raise SourceUnavailable(f"cannot read {path / 'energy_uj'}: {e.strerror or e}") from None
        except ValueError as e:
            raise SourceUnavailable(str(e)) from None

    def _open(self, path: Path, name: str) -> _Zone:
        try:
            raw = self._energy_uj(path, "RAPL energy counters are readable only by root here")
        except FileNotFoundError as e:
            raise SourceUnavailable(f"cannot read {path / 'energy_uj'}: {e.strerror or e}") from None
        try:
            max_range = read_int(self.reader, path / "max_energy_range_uj")
        except (OSError, ValueError):
            max_range = 0  # without it a wrap cannot be unwrapped: such a zone is dropped at its first wrap
        return _Zone(path, name, max_range, raw)

    def read(self) -> float:
        try:
            _, present = find_zones(self.root, self.reader)
        except SourceUnavailable:
            present = []
        present_paths = {p for p, _ in present}
        for path in list(self.zones):
            if path not in present_paths:
                log.info("RAPL zone %s disappeared; it no longer adds to the total", path)
                del self.zones[path]
        for path, name in present:
            if path not in self.zones:
                try:
                    self.zones[path] = self._open(path, name)  # counts from now on
                    log.info("RAPL zone %s (%s) appeared", path, name)
                except SourceUnavailable:
                    pass
                continue
            zone = self.zones[path]
            try:
                raw = self._energy_uj(path, "RAPL energy counters became unreadable (permission denied)")
            except FileNotFoundError:
                del self.zones[path]
                continue
            delta = raw - zone.last_uj
            if delta < 0:
                if zone.max_range_uj <= 0:
                    log.warning("RAPL zone %s wrapped without max_energy_range_uj; dropping it", path)
                    del self.zones[path]
                    continue
                delta += zone.max_range_uj
            zone.last_uj = raw
            self.total_j += delta / 1e6
        if not self.zones:
            raise SourceUnavailable("the RAPL zones disappeared (was the powercap driver unloaded?)")
        return self.total_j
