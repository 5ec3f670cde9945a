"""macOS: the whole laptop's power from AppleSmartBattery telemetry, only while on battery.

The registry entry's properties are fetched as an XML property list (the same format
`ioreg -a -r -c AppleSmartBattery` prints), so parsing is a pure function over bytes:
`battery_watts(props)` = |InstantAmperage| (mA) × Voltage (mV), refused while external power
is connected. InstantAmperage is a signed value the registry sometimes stores as unsigned 64-bit.
"""

from __future__ import annotations

import ctypes
import plistlib
import sys
from collections.abc import Mapping
from typing import Any

from backend.metrics.power.base import PowerSource, SourceInfo, SourceUnavailable

PLUGGED_IN = (
    "the Mac is on mains power: the battery measures the whole laptop only while it discharges — "
    "unplug to measure"
)


def parse_properties(data: bytes) -> dict[str, Any]:
    """AppleSmartBattery properties from an XML plist (a dict, or `ioreg -a`'s array of one dict)."""
    try:
        obj = plistlib.loads(data)
    except Exception as e:  # plistlib raises several types for bad input
        raise ValueError(f"unreadable battery property list: {e}") from None
    if isinstance(obj, list):
        obj = obj[0] if obj else {}
    if not isinstance(obj, dict):
        raise ValueError("battery property list is not a dictionary")
    return obj


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def battery_watts(props: Mapping[str, Any]) -> float:
    if props.get("ExternalConnected") or props.get("IsCharging"):
        raise SourceUnavailable(PLUGGED_IN)
    amps = props.get("InstantAmperage", props.get("Amperage"))
    volts = props.get("Voltage", props.get("AppleRawBatteryVoltage"))
    if not isinstance(amps, int) or not isinstance(volts, int):
        raise SourceUnavailable("the battery reports no current or voltage")
    ma = _signed(amps)
    if ma >= 0:
        raise SourceUnavailable(f"the battery is not discharging (current {ma} mA)")
    return -ma * volts / 1e6


class MacBatterySource(PowerSource):
    def __init__(self, fetch: object | None = None) -> None:
        if fetch is None and sys.platform != "darwin":
            raise SourceUnavailable("AppleSmartBattery exists only on a Mac")
        self.fetch = fetch or _fetch_properties
        try:
            props = parse_properties(self.fetch())  # type: ignore[operator]
        except (OSError, ValueError) as e:
            raise SourceUnavailable(f"no battery telemetry: {e}") from None
        if "Voltage" not in props:
            raise SourceUnavailable("this Mac has no battery")
        self.info = SourceInfo(
            key="mac-battery",
            kind="instant",
            measured=True,
            covers="whole laptop",
            method="battery",
            resolution_s=5.0,
            explanation=(
                "The battery's own current × voltage (AppleSmartBattery InstantAmperage × Voltage) "
                "while the Mac "
                "runs on battery: everything the laptop draws, screen included. The battery "
                "controller updates it every "
                "few seconds, so short replies are reported as too short; it reads nothing while plugged in."
            ),
        )

    def read(self) -> float:
        try:
            return battery_watts(parse_properties(self.fetch()))  # type: ignore[operator]
        except (OSError, ValueError) as e:
            raise SourceUnavailable(f"battery telemetry stopped: {e}") from None


def _fetch_properties() -> bytes:
    """The AppleSmartBattery registry entry's properties as XML plist bytes (macOS only)."""
    c = ctypes
    io = c.CDLL("/System/Library/Frameworks/IOKit.framework/IOKit")
    cf = c.CDLL("/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation")
    io.IOServiceMatching.restype, io.IOServiceMatching.argtypes = c.c_void_p, [c.c_char_p]
    io.IOServiceGetMatchingService.restype = c.c_uint32
    io.IOServiceGetMatchingService.argtypes = [c.c_uint32, c.c_void_p]
    io.IORegistryEntryCreateCFProperties.argtypes = [
        c.c_uint32,
        c.POINTER(c.c_void_p),
        c.c_void_p,
        c.c_uint32,
    ]
    cf.CFPropertyListCreateData.restype = c.c_void_p
    cf.CFPropertyListCreateData.argtypes = [c.c_void_p, c.c_void_p, c.c_long, c.c_uint64, c.c_void_p]
    cf.CFDataGetLength.restype, cf.CFDataGetLength.argtypes = c.c_long, [c.c_void_p]
    cf.CFDataGetBytePtr.restype, cf.CFDataGetBytePtr.argtypes = c.c_void_p, [c.c_void_p]
    cf.CFRelease.argtypes = [c.c_void_p]
    service = io.IOServiceGetMatchingService(0, io.IOServiceMatching(b"AppleSmartBattery"))
    if not service:
        raise OSError("no AppleSmartBattery service")
    props = c.c_void_p()
    try:
        if io.IORegistryEntryCreateCFProperties(service, c.byref(props), None, 0) != 0 or not props:
            raise OSError("IORegistryEntryCreateCFProperties failed")
        data = cf.CFPropertyListCreateData(None, props, 100, 0, None)  # kCFPropertyListXMLFormat_v1_0
        cf.CFRelease(props)
        if not data:
            raise OSError("CFPropertyListCreateData failed")
        try:
            return c.string_at(cf.CFDataGetBytePtr(data), cf.CFDataGetLength(data))
        finally:
            cf.CFRelease(data)
    finally:
        io.IOObjectRelease(service)
