"""Windows: the laptop's battery discharge rate (CallNtPowerInformation SystemBatteryState).

SYSTEM_BATTERY_STATE, 32 bytes: AcOnLine, BatteryPresent, Charging, Discharging (BOOLEAN each),
Spare1[3], Tag (BYTE), MaxCapacity, RemainingCapacity (mWh), Rate (mW, negative while
discharging), EstimatedTime, DefaultAlert1, DefaultAlert2 (DWORD each). Parsing is pure.
"""

from __future__ import annotations

import ctypes
import struct
import sys

from backend.metrics.power.base import PowerSource, SourceInfo, SourceUnavailable

SYSTEM_BATTERY_STATE = 5
SIZE = 32
UNKNOWN_RATE = -0x80000000  # BATTERY_UNKNOWN_RATE read as a signed 32-bit value
PLUGGED_IN = (
    "the laptop is on mains power: the battery measures the whole laptop only while it discharges — "
    "unplug to measure"
)


def parse_battery_state(data: bytes) -> float:
    """Discharge power in watts; SourceUnavailable when on AC, charging or without a battery."""
    if len(data) < SIZE:
        raise ValueError(f"SYSTEM_BATTERY_STATE is {len(data)} bytes, expected {SIZE}")
    ac, present, charging, discharging = data[0], data[1], data[2], data[3]
    (rate,) = struct.unpack_from("<i", data, 16)
    if not present:
        raise SourceUnavailable("this computer has no battery")
    if ac or charging or not discharging:
        raise SourceUnavailable(PLUGGED_IN)
    if rate == UNKNOWN_RATE or rate >= 0:
        raise SourceUnavailable("the battery does not report its discharge rate")
    return -rate / 1000.0


class WindowsBatterySource(PowerSource):
    def __init__(self, query: object | None = None) -> None:
        if query is None and sys.platform != "win32":
            raise SourceUnavailable("this reader is for Windows")
        self.query = query or _query
        try:
            data = self.query()  # type: ignore[operator]
        except OSError as e:
            raise SourceUnavailable(f"battery state cannot be read: {e}") from None
        if len(data) >= 2 and not data[1]:
            raise SourceUnavailable("this computer has no battery")
        self.info = SourceInfo(
            key="win-battery",
            kind="instant",
            measured=True,
            covers="whole laptop",
            method="battery, ~10 s average",
            resolution_s=10.0,
            explanation=(
                "The battery's discharge rate as Windows reports it while the laptop runs on "
                "battery: everything the "
                "laptop draws, screen included. Battery firmware updates it every several seconds, "
                "so short replies "
                "are reported as too short to measure; it reads nothing while plugged in."
            ),
        )

    def read(self) -> float:
        try:
            return parse_battery_state(self.query())  # type: ignore[operator]
        except (OSError, ValueError) as e:
            raise SourceUnavailable(f"battery state cannot be read: {e}") from None


def _query() -> bytes:
    buf = ctypes.create_string_buffer(SIZE)
    rc = ctypes.WinDLL("powrprof").CallNtPowerInformation(SYSTEM_BATTERY_STATE, None, 0, buf, SIZE)  # type: ignore[attr-defined]
    if rc != 0:
        raise OSError(f"CallNtPowerInformation returned {rc:#x}")
    return buf.raw
