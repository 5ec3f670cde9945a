"""Linux battery discharge power from /sys/class/power_supply: the whole laptop, only when unplugged.

`power_now` is in µW; batteries without it report `current_now` (µA) and `voltage_now` (µV).
While charging or full, the battery's rate says nothing about what the laptop draws, so the
source is unavailable then. Firmware updates these figures every few seconds (an average), so
a run shorter than ~10 s is too short for it.
"""

from __future__ import annotations

import os
from pathlib import Path

from backend.metrics.power.base import PowerSource, SourceInfo, SourceUnavailable
from backend.metrics.power.sysfs import Reader, is_denied, optional_text, read_text

ROOT = Path("/sys/class/power_supply")
RESOLUTION_S = 5.0
PLUGGED_IN = (
    "the laptop is on mains power: a battery measures the whole laptop only while it discharges — "
    "unplug to measure"
)


def find_batteries(root: Path, reader: Reader = read_text) -> list[Path]:
    try:
        entries = sorted(os.listdir(root))
    except FileNotFoundError:
        return []
    return [root / e for e in entries if optional_text(reader, root / e / "type") == "Battery"]


def battery_watts(bat: Path, reader: Reader = read_text) -> float:
    """One battery's discharge power in watts; SourceUnavailable unless it is discharging."""
    try:
        status = optional_text(reader, bat / "status") or "Unknown"
        if status != "Discharging":
            raise SourceUnavailable(f"{PLUGGED_IN} (battery {bat.name}: {status.lower()})")
        power = optional_text(reader, bat / "power_now")
        if power is not None:
            return abs(int(power)) / 1e6
        current, voltage = (
            optional_text(reader, bat / "current_now"),
            optional_text(reader, bat / "voltage_now"),
        )
        if current is None or voltage is None:
            raise SourceUnavailable(
                f"battery {bat.name} reports neither power_now nor current_now and voltage_now"
            )
        return abs(int(current)) * int(voltage) / 1e12
    except OSError as e:
        if is_denied(e):
            raise SourceUnavailable(f"battery {bat.name}'s readings are not readable") from None
        raise SourceUnavailable(f"cannot read battery {bat.name}: {e.strerror or e}") from None
    except ValueError as e:
        raise SourceUnavailable(f"battery {bat.name} gave an unreadable value: {e}") from None


class LinuxBatterySource(PowerSource):
    def __init__(self, root: Path = ROOT, reader: Reader = read_text) -> None:
        self.root, self.reader = Path(root), reader
        self.batteries = find_batteries(self.root, reader)
        if not self.batteries:
            raise SourceUnavailable("this computer has no battery")
        self.info = SourceInfo(
            key="battery",
            kind="instant",
            measured=True,
            covers="whole laptop",
            method=f"battery, ~{RESOLUTION_S:.0f} s average",
            resolution_s=RESOLUTION_S,
            explanation=(
                "The battery's discharge rate while the laptop runs on battery: everything the "
                "laptop draws — "
                "screen, CPU, RAM, Wi-Fi. The battery's controller averages it over a few seconds, so short "
                "replies are reported as too short to measure, and it reads nothing while plugged in. Files: "
                + ", ".join(str(b) for b in self.batteries)
                + " (power_now in µW, or current_now µA × voltage_now µV)."
            ),
            details=tuple(str(b) for b in self.batteries),
        )

    def read(self) -> float:
        """Sum over discharging batteries; any charging one (or none discharging) means mains power."""
        statuses = {b: optional_text(self.reader, b / "status") or "Unknown" for b in self.batteries}
        discharging = [b for b, s in statuses.items() if s == "Discharging"]
        if not discharging or any(s == "Charging" for s in statuses.values()):
            shown = ", ".join(f"{b.name}: {s.lower()}" for b, s in statuses.items())
            raise SourceUnavailable(f"{PLUGGED_IN} ({shown})")
        return sum(battery_watts(b, self.reader) for b in discharging)
